"""DEV ONLY ``--fault splitread``: the cheating sequencer of issue 11's open hole.

A keyper's decryption share x_i·C1 does not depend on the binding; only its proof does.
So this sequencer asks keyper 1 under the binding (M, span) of the latest sealed slot,
then orders a transaction of its own and seals (M+1), asks keyper 2 under M+1, and so
on for t keypers: t shares, t different bindings. It combines them and reads the
bundle, and neither reveals nor voids it: the commit stays pending forever (later
commits wait behind it; plain items flow), and the victim's signed transactions are its
to replay. From L1 alone this is visible, not attributable; ``xseqd verify --keyper URL``
names it from the keypers' published releases (core/releases.py), and decrypts it.
Once it has read, the decryptor reveals nothing more (the fault is a test fixture).
"""

from __future__ import annotations

import logging
from typing import Any

from xseqd.core import threshold
from xseqd.core.encrypted import Envelope, split_payload
from xseqd.core.items import Item
from xseqd.core.threshold import Share
from xseqd.sequencer.encrypted import Seal
from xseqd.sequencer.settle import release_request

log = logging.getLogger("xseqd.keypers")


async def split_read(decryptor: Any, seals: dict[int, Seal], live: dict[int, list[Item]]) -> int:
    """Read every commit in ``live`` under t different bindings; the commits left
    pending (all of them). ``decryptor`` is the sequencer/decryption.py Decryptor."""
    desk = decryptor.desk
    keyset = desk.keyset
    assert keyset is not None
    domain = desk.seq.book.domain
    shares: dict[bytes, list[Share]] = {}
    urls = list(decryptor.urls)
    asked = 0
    for url in urls:
        if asked == keyset.threshold:
            break
        if asked:  # a new binding: one more slot of its own, sealed blind
            decryptor.withhold()
            desk.seq.seal_slot()
        after = desk.seal(desk.seq.head_slot)
        answered = False
        for slot, commits in live.items():
            if not commits:
                continue
            request = release_request(domain, seals[slot], desk.binding(seals[slot], after),
                                      commits)  # fmt: skip
            reply = await decryptor.shares.ask(url, request)
            if reply is None:
                continue
            answered = True
            for commit, answer in zip(commits, reply, strict=False):
                shares.setdefault(commit.item_hash, []).append(Share.from_json(answer))
        asked += answered
    pending = [c for commits in live.values() for c in commits]
    for commit in pending:
        got = shares.get(commit.item_hash, [])
        if len(got) < keyset.threshold:
            continue
        env = Envelope.decode(split_payload(commit.payload)[0])
        try:
            threshold.open_sealed(threshold.combine(got[: keyset.threshold]), env.nonce,
                                  env.body, env.aad)  # fmt: skip
            decryptor.read.append(commit.item_hash)
            log.warning(
                "DEV FAULT splitread: read 0x%s, never revealing it", commit.item_hash.hex()
            )
        except threshold.DecryptionFailed:
            pass
    decryptor.fault = "splitread-done"  # reveal nothing more
    return len(desk.pending())

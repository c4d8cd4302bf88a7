"""Red team 2, finding 2a and the refusal replay (issue 11): keypers act only on requests
the sequencer signed for THAT keyper (core/asks.py). A stranger who replays a published
release (``keyper_releases``: the seal and the signed binding; the ciphertext and the
entries are public in the L1 batch) to a keyper that has not released cannot bind it to
that old binding, nor make a keyper refuse: refused, and the bindings files are unchanged.
Real keyper processes over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from eth_hash.auto import keccak
from eth_keys import keys

from tests.encryption.support import transfer
from tests.encryption.test_reveal_binding import (
    DOMAIN,
    KEYS,
    SEQUENCER_KEY,
    ask,
    commit_request,
    signed,
)
from xseqd.core import encrypted as enc
from xseqd.core.asks import ask_digest
from xseqd.keyper import KeyperSet, deal_files


def raw(url: str, method: str, request: dict[str, Any]) -> dict[str, Any]:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": [request]}
    return dict(httpx.post(url, json=body, timeout=10).json())


def test_a_stranger_replaying_a_published_release_binds_and_refuses_nothing(
    tmp_path: Path,
) -> None:
    keyset = deal_files(tmp_path, 3, 2)
    address = keys.PrivateKey(SEQUENCER_KEY).public_key.to_checksum_address()
    keypers = KeyperSet(tmp_path, keyset, address)
    keypers.start_all()
    try:
        envelope = enc.encrypt_bundle(keyset, [transfer(901, KEYS[0], 0)], DOMAIN).encode()
        request, root = commit_request(envelope)
        one, two, three = keypers.urls
        assert "result" in ask(one, request)  # the sequencer asked keyper 1 (a partial round)
        # the stranger: keyper 1's published record + the public batch data
        (record,) = raw(one, "keyper_releases", {})["result"]
        replay = {k: record[k] for k in ("domain", "slot", "orderRoot", "signature", "after")}
        replay.update(entries=request["entries"], items=request["items"])
        assert "auth" not in record and "auth" not in str(record)  # never published
        files = {i: tmp_path / f"keyper-{i}.bindings.json" for i in (1, 2, 3)}
        before = {i: f.read_text() if f.exists() else None for i, f in files.items()}
        mine = keccak(b"a stranger's key")
        forged = enc.sign_digest(mine, ask_digest(replay, 2, "keyper_release"))
        for_one = signed(request, "keyper_release", 1)["auth"]  # keyper 1's own auth
        for url, method, attempt in [
            (two, "keyper_release", replay),  # no auth
            (two, "keyper_release", {**replay, "auth": "0x" + forged.hex()}),  # not his key
            (two, "keyper_release", {**replay, "auth": for_one}),  # signed for keyper 1
            (three, "keyper_refuse", replay),
            (three, "keyper_refuse", {k: v for k, v in replay.items() if k != "after"}),
            (three, "keyper_refuse", signed(replay, "keyper_release", 3)),  # other method
        ]:
            reply = raw(url, method, attempt)
            assert "result" not in reply, (method, reply)
            assert "not signed by the sequencer for keyper" in reply["error"]["message"]
        after = {i: f.read_text() if f.exists() else None for i, f in files.items()}
        assert after == before and before[2] is None and before[3] is None
        # the sequencer's own request to keyper 2, and its replay to keyper 2: one release
        mine_to_two = signed(request, "keyper_release", 2)
        assert "result" in raw(two, "keyper_release", mine_to_two)
        assert "result" in raw(two, "keyper_release", mine_to_two)  # idempotent
        assert len(raw(two, "keyper_releases", {})["result"]) == 1
        # an item named twice is refused (one make_share per listed item otherwise)
        twice = {**request, "items": request["items"] * 2}
        reply = raw(three, "keyper_release", signed(twice, "keyper_release", 3))
        assert "named twice" in reply["error"]["message"], reply
    finally:
        keypers.stop_all()

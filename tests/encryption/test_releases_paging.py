"""Red team 2, finding 2b (issue 11): ``keyper_releases`` serves at most ``PAGE`` records
per call (stored shares, no re-proving), so a stranger's call costs bounded work on the
keyper's loop; ``xseqd verify --keyper`` (verify/releases.py) pages through and still
names a commit whose releases are only on a later page. Real keyper processes over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from eth_keys import keys

from tests.encryption.support import transfer
from tests.encryption.test_reveal_binding import (
    DOMAIN,
    KEYS,
    SEQUENCER_KEY,
    binding,
    commit_request,
    sealed,
)
from xseqd.core import encrypted as enc
from xseqd.core import threshold as th
from xseqd.core.encrypted import PAGE
from xseqd.core.items import Entry, ItemKind
from xseqd.core.order import order_root
from xseqd.core.releases import ReleaseWatch
from xseqd.core.threshold import KeyShare
from xseqd.keyper import Bindings, KeyperSet, deal_files, published, release
from xseqd.verify.releases import fetch, withheld

COMMITS = PAGE + 5


def page(url: str, request: dict[str, Any]) -> dict[str, Any]:
    body = {"jsonrpc": "2.0", "id": 1, "method": "keyper_releases", "params": [request]}
    return dict(httpx.post(url, json=body, timeout=10).json())


def test_releases_are_paged_and_the_verifier_pages_through(tmp_path: Path) -> None:
    keyset = deal_files(tmp_path, 3, 2)
    address = keys.PrivateKey(SEQUENCER_KEY).public_key.to_checksum_address()
    envelopes = [enc.encrypt_bundle(keyset, [transfer(901, KEYS[i % 10], i)], DOMAIN).encode()
                 for i in range(COMMITS)]  # fmt: skip
    entries = [enc.commit_entry_hash(e) for e in envelopes]
    root = order_root(1, entries)
    request = {"domain": DOMAIN.to_json(), **sealed(1, root),
               "entries": ["0x" + e.hex() for e in entries],
               "items": [{"index": i, "envelope": "0x" + e.hex()}
                         for i, e in enumerate(envelopes)],
               "after": binding(1, root, 1, [])}  # fmt: skip
    for i in (1, 2):  # keypers 1 and 2 released every commit (one request each)
        share = KeyShare.from_json((tmp_path / f"keyper-{i}.json").read_text())
        assert len(release(share, address, request, Bindings(
            tmp_path / f"keyper-{i}.bindings.json"))) == COMMITS  # fmt: skip
    keypers = KeyperSet(tmp_path, keyset, address)
    keypers.start(1)
    keypers.start(2)
    try:
        url = keypers.urls[0]
        first = page(url, {})["result"]
        assert [r["position"] for r in first] == list(range(PAGE))
        rest = page(url, {"after": PAGE})["result"]
        assert [r["position"] for r in rest] == list(range(PAGE, COMMITS))
        assert [r["position"] for r in page(url, {"after": 2, "limit": 3})["result"]] == [2, 3, 4]
        too_many = page(url, {"limit": PAGE + 1})
        assert "result" not in too_many
        assert f"at most {PAGE}" in too_many["error"]["message"]
        assert first[0]["share"]["index"] == 1  # stored at release time
        published = fetch(keypers.urls)
    finally:
        keypers.stop_all()
    assert published.problems == [] and len(published.releases) == 2 * COMMITS
    watch = ReleaseWatch()
    watch.observe(1, [Entry(ItemKind.ENCRYPTED, False, (), enc.commit_payload(e))
                      for e in envelopes])  # fmt: skip
    watch.observe(2, [])  # M+1 committed, nothing revealed
    found = withheld(watch, published, address)
    last = enc.Envelope.decode(envelopes[-1]).id  # published on the second page only
    assert len(found) == COMMITS and last in {w.commit_id for w in found}
    (named,) = [w for w in found if w.commit_id == last]
    assert named.raw_txs == (transfer(901, KEYS[(COMMITS - 1) % 10], COMMITS - 1),)


def test_a_release_recorded_without_its_share_is_proven_when_published(tmp_path: Path) -> None:
    """Bindings files written before shares were stored: the share is made on demand."""
    keyset = deal_files(tmp_path, 3, 2)
    address = keys.PrivateKey(SEQUENCER_KEY).public_key.to_checksum_address()
    share = KeyShare.from_json((tmp_path / "keyper-1.json").read_text())
    envelope = enc.encrypt_bundle(keyset, [transfer(901, KEYS[0], 0)], DOMAIN).encode()
    request, root = commit_request(envelope)
    new = Bindings(None)
    release(share, address, request, new)
    (stored,) = published(share, new, {})
    old = Bindings(None)
    record = {k: v for k, v in stored.items() if k not in ("share", "id", "position")}
    old.record_releases({bytes.fromhex(stored["id"][2:]): [1, "0x" + "00" * 32, record]})
    (proven,) = published(share, old, None)
    assert "share" not in old.known[stored["id"]][2]
    assert proven["share"]["index"] == 1 and proven["id"] == stored["id"]
    c1 = enc.Envelope.decode(envelope).c1
    ctx = enc.release_context(DOMAIN, 1, root, 1, enc.span_root([]))
    assert th.verify_share(keyset, c1, ctx, th.Share.from_json(proven["share"]))

"""The decryption loop asks for the waiting commits after every seal; that must not walk
the whole history each time (it made a sustained run slower and slower: 2.6% of the
daemon's time after 1,500 transactions, 24% after 15,500). The book is scanned once (after
a start or a rewind); after that the waiting commits are kept as they are submitted,
revealed and voided — and what ``pending`` answers stays right, also across a rewind."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account

from tests.encryption.support import client, nonce, rollup, transfer
from xseqd.accounts import dev_accounts
from xseqd.config import Settings
from xseqd.node import NodeThread
from xseqd.sequencer import encrypted as desk_module

KEYS = [Account.from_key(a.key) for a in dev_accounts(10)]


def test_waiting_commits_are_kept_not_rescanned_and_stay_right(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scans: list[int] = []
    real = desk_module.items_with_status

    def counted(items: Any, status: str) -> Any:
        scans.append(1)
        return real(items, status)

    monkeypatch.setattr(desk_module, "items_with_status", counted)
    node = NodeThread(Settings.for_tests(keypers=2, keyper_threshold=2))
    node.start()
    try:
        seq, a = client(node), rollup(node, 901)
        key, plain = KEYS[3], KEYS[4]
        for _ in range(6):  # many seals and decryption rounds
            a.eth.send_raw_transaction(transfer(901, plain, nonce(node, 901, plain)))
            sent = seq.send_encrypted_bundle([transfer(901, key, nonce(node, 901, key))])
            assert seq.wait_revealed(sent["bundleHash"])["status"] == "included"
        assert len(scans) <= 1, f"the book was scanned {len(scans)} times"
        desk = node.node.services.encrypted
        assert desk is not None and desk.pending() == []
        snap = a.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
        sent = seq.send_encrypted_bundle([transfer(901, key, nonce(node, 901, key))])
        assert seq.wait_revealed(sent["bundleHash"])["status"] == "included"
        a.provider.make_request("evm_revert", [snap])  # type: ignore[arg-type]
        assert desk.pending() == []  # the revert dropped commit and reveal alike
        assert len(scans) <= 2  # one more scan after the rewind, not one per round
    finally:
        node.stop()

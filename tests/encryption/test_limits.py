"""What a stranger can make the node hold through encrypted submission is bounded: a
ciphertext larger than a plain bundle can be is refused, and while keypers are down the
commits waiting for them are capped (-32005), with plain items flowing and nothing of
what was accepted lost."""

from __future__ import annotations

import httpx
import pytest
from eth_account import Account

from tests.encryption.support import client, nonce, rollup, transfer, wait_for
from xseqd.accounts import dev_accounts
from xseqd.client import SequencerError
from xseqd.config import Settings
from xseqd.node import NodeThread
from xseqd.sequencer import encrypted as desk_module

KEYS = [Account.from_key(a.key) for a in dev_accounts(10)]


def test_a_ciphertext_larger_than_a_bundle_is_refused_and_changes_nothing() -> None:
    node = NodeThread(Settings.for_tests(keypers=2, keyper_threshold=2))
    node.start()
    try:
        seq = client(node)
        assert node.endpoints is not None
        head = int(seq.call("xseq_slotNumber"), 16)
        huge = "0x" + "ab" * (desk_module.MAX_ENVELOPE_BYTES + 1)
        body = {"jsonrpc": "2.0", "id": 1, "method": "xseq_sendEncryptedBundle",
                "params": [{"ciphertext": huge}]}  # fmt: skip
        reply = httpx.post(node.endpoints.base_url, json=body, timeout=30).json()
        assert reply["error"]["code"] == -32602
        assert "larger than" in reply["error"]["message"]
        assert (
            int(seq.call("xseq_slotNumber"), 16) == head
            and node.node.sequencer.book.open_items == []
        )
    finally:
        node.stop()


def test_commits_waiting_for_absent_keypers_are_capped_and_plain_items_flow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(desk_module, "MAX_PENDING_COMMITS", 4)
    node = NodeThread(Settings.for_tests(keypers=3, keyper_threshold=2))
    node.start()
    try:
        seq, a = client(node), rollup(node, 901)
        keypers = node.node.keypers
        assert keypers is not None
        keypers.stop(1)
        keypers.stop(2)  # one of three up, two needed: commits wait
        key, plain = KEYS[3], KEYS[4]
        first = nonce(node, 901, key)
        sent = [seq.send_encrypted_bundle([transfer(901, key, first + i)]) for i in range(4)]
        wait_for(lambda: seq.encryption_key()["status"]["pending"] == 4, "four commits waiting")
        with pytest.raises(SequencerError) as refused:
            seq.send_encrypted_bundle([transfer(901, key, first + 4)])
        assert refused.value.code == -32005 and "wait for their keypers" in str(refused.value)
        tx = a.eth.send_raw_transaction(transfer(901, plain, nonce(node, 901, plain)))
        assert a.eth.get_transaction_receipt(tx)["status"] == 1  # plain items flow
        keypers.start(1)
        keypers.start(2)
        done = [seq.wait_revealed(s["bundleHash"]) for s in sent]
        assert [d["status"] for d in done] == ["included"] * 4  # nothing accepted is lost
        again = seq.send_encrypted_bundle([transfer(901, key, first + 4)])  # room again
        assert seq.wait_revealed(again["bundleHash"])["status"] == "included"
    finally:
        node.stop()

"""What a stranger can make the node hold through encrypted submission is bounded: a
ciphertext larger than a plain bundle can be is refused, and while keypers are down the
commits waiting for them are capped (-32005), with plain items flowing and nothing of
what was accepted lost."""

from __future__ import annotations

import json

import httpx
import pytest
from eth_account import Account

from tests.encryption.support import client, nonce, rollup, rpc, transfer, wait_for
from xseqd import keyperhttp
from xseqd.accounts import dev_accounts
from xseqd.client import SequencerError
from xseqd.config import Settings
from xseqd.core.encrypted import commit_payload, split_payload
from xseqd.core.items import Item, ItemKind
from xseqd.core.order import ReceiptDomain
from xseqd.node import NodeThread
from xseqd.sequencer import encrypted as desk_module
from xseqd.sequencer.encrypted import Binding, Seal
from xseqd.sequencer.settle import release_request

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


def test_one_slots_release_request_fits_the_keyper_body_limit() -> None:
    """The per-slot ciphertext cap is derived from the keyper's body limit: a slot full
    of ciphertext (hex doubles it) and 50,000 other entries still fit one request."""
    commits = []
    for j, size in enumerate([desk_module.MAX_ENVELOPE_BYTES] * 2):
        item = Item(ItemKind.ENCRYPTED, (), commit_payload(bytes([j + 1]) * size), "sealed")
        item.index = j
        commits.append(item)
    assert sum(len(split_payload(c.payload)[0]) for c in commits) <= (
        desk_module.MAX_SLOT_CIPHERTEXT_BYTES
    )
    seal = Seal(5, b"\x01" * 32, tuple(b"\x02" * 32 for _ in range(50_000)), b"\x03" * 65)
    after = Binding(9, tuple(b"\x04" * 32 for _ in range(4)), b"\x05" * 32, b"\x06" * 65)
    domain = ReceiptDomain(900, bytes.fromhex("11" * 20))
    request = release_request(domain, seal, after, commits)
    body = {"jsonrpc": "2.0", "id": 1, "method": "keyper_release", "params": [request]}
    assert len(json.dumps(body).encode()) < keyperhttp.MAX_BODY


def test_big_commits_in_one_slot_are_refused_past_the_slot_cap_and_none_is_stuck() -> None:
    """Red team 2, finding 3: maximum-size ciphertexts sealed in one slot made its
    keyper request too large to answer, and every commit from then on stuck. Now a third
    one in the same slot is refused (-32005, retry), and every accepted one settles."""
    node = NodeThread(Settings.for_tests(keypers=3, keyper_threshold=2))
    node.start()
    try:
        seq, a = client(node), rollup(node, 901)
        junk: list[bytes | str] = [b"\x02" + bytes(128 * 1024 - 200)] * 16  # aborts when revealed
        big = ["0x" + seq.encrypt_bundle(junk).hex() for _ in range(3)]
        assert len(big[0]) // 2 - 1 > desk_module.MAX_SLOT_CIPHERTEXT_BYTES // 3
        rpc(a, "evm_setAutomine", False)  # the open slot stays open: commits share it
        sent = [seq.call("xseq_sendEncryptedBundle", {"ciphertext": e}) for e in big[:2]]
        assert len({s["slot"] for s in sent}) == 1
        third = big[2]
        with pytest.raises(SequencerError) as refused:
            seq.call("xseq_sendEncryptedBundle", {"ciphertext": third})
        assert refused.value.code == -32005 and "retry in the next slot" in str(refused.value)
        rpc(a, "evm_setAutomine", True)
        rpc(a, "evm_mine")
        retried = seq.call("xseq_sendEncryptedBundle", {"ciphertext": third})  # a later slot
        assert retried["slot"] != sent[0]["slot"]
        done = [seq.wait_revealed(s["bundleHash"], 60) for s in [*sent, retried]]
        assert [d["status"] for d in done] == ["aborted"] * 3  # revealed: garbage legs abort
        key = KEYS[5]
        victim = seq.send_encrypted_bundle([transfer(901, key, nonce(node, 901, key))])
        assert seq.wait_revealed(victim["bundleHash"])["status"] == "included"
    finally:
        node.stop()


def test_bytes_of_commits_waiting_for_absent_keypers_are_capped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    node = NodeThread(Settings.for_tests(keypers=3, keyper_threshold=2))
    node.start()
    try:
        seq = client(node)
        keypers = node.node.keypers
        assert keypers is not None
        keypers.stop(1)
        keypers.stop(2)
        key = KEYS[6]
        first = nonce(node, 901, key)
        envelopes = [seq.encrypt_bundle([transfer(901, key, first + i)]) for i in range(3)]
        monkeypatch.setattr(desk_module, "MAX_PENDING_BYTES", sum(map(len, envelopes[:2])))
        sent = [seq.call("xseq_sendEncryptedBundle", {"ciphertext": "0x" + e.hex()})
                for e in envelopes[:2]]  # fmt: skip
        wait_for(lambda: seq.encryption_key()["status"]["pending"] == 2, "two commits waiting")
        with pytest.raises(SequencerError) as refused:
            seq.call("xseq_sendEncryptedBundle", {"ciphertext": "0x" + envelopes[2].hex()})
        assert refused.value.code == -32005 and "bytes of sealed bundles" in str(refused.value)
        keypers.start(1)
        keypers.start(2)
        done = [seq.wait_revealed(s["bundleHash"]) for s in sent]
        assert [d["status"] for d in done] == ["included"] * 2  # nothing accepted is lost
    finally:
        node.stop()

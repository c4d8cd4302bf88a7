"""Encrypted submission over the real RPC, with real keyper processes (2 of 3):
nothing of the content is visible before its slot is sealed, keypers refuse to release
without the sequencer's seal, reveals run in the sealed order at the top of a later slot,
aborted items do not shift the others, and fewer than t keypers only make items wait."""

from __future__ import annotations

import json
import time
from contextlib import ExitStack

import httpx
import pytest
from eth_hash.auto import keccak
from websockets.sync.client import connect

from tests.encryption.support import SINK, client, nonce, rollup, rpc, transfer, wait_for
from xseqd.accounts import dev_accounts
from xseqd.client import encrypt_bundle
from xseqd.core.encrypted import (
    release_context,
    sign_digest,
    sign_seal,
    span_root,
    split_payload,
)
from xseqd.core.order import ReceiptDomain, order_root
from xseqd.node import NodeThread

KEYS = dev_accounts(10)


def test_content_is_invisible_until_the_seal_then_runs_in_sealed_order(
    sealed_devnet: NodeThread,
) -> None:
    seq, a, b = client(sealed_devnet), rollup(sealed_devnet, 901), rollup(sealed_devnet, 902)
    key, plain_a, plain_b = KEYS[0], KEYS[1], KEYS[2]
    legs = [transfer(901, key, nonce(sealed_devnet, 901, key), 5),
            transfer(902, key, nonce(sealed_devnet, 902, key), 7)]  # fmt: skip
    leg_hashes = ["0x" + keccak(raw).hex() for raw in legs]
    sink_before = (a.eth.get_balance(SINK), b.eth.get_balance(SINK))
    filters = {w: rpc(w, "eth_newPendingTransactionFilter")["result"] for w in (a, b)}
    assert sealed_devnet.endpoints is not None
    stack = ExitStack()
    ws = stack.enter_context(connect(sealed_devnet.endpoints.rollup_ws(901)))
    ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe",
                        "params": ["newPendingTransactions"]}))  # fmt: skip
    assert json.loads(ws.recv(timeout=5))["result"]
    assert "error" not in rpc(a, "evm_setAutomine", False)
    try:
        tx_a = a.eth.send_raw_transaction(
            transfer(901, plain_a, nonce(sealed_devnet, 901, plain_a))
        )
        sent = seq.send_encrypted_bundle(legs)
        tx_b = b.eth.send_raw_transaction(
            transfer(902, plain_b, nonce(sealed_devnet, 902, plain_b))
        )
        assert sent["status"] == "sealed" and seq.verify(sent["receipt"])
        slot = int(sent["slot"], 16)
        # -- before the seal: every read path knows nothing of the legs ------------------
        found = seq.get_bundle(sent["bundleHash"])
        assert found["status"] == "sealed" and found["legs"] == [] and "abort" not in found
        for h in leg_hashes:
            assert seq.get_bundle(h) is None
            assert (
                a.eth.get_transaction(h)
                if False
                else rpc(a, "eth_getTransactionByHash", h)["result"] is None
            )
            assert rpc(b, "eth_getTransactionByHash", h)["result"] is None
        pending_a = rpc(a, "eth_getFilterChanges", filters[a])["result"]
        pending_b = rpc(b, "eth_getFilterChanges", filters[b])["result"]
        assert "0x" + bytes(tx_a).hex() in pending_a and "0x" + bytes(tx_b).hex() in pending_b
        assert not set(leg_hashes) & set(pending_a + pending_b)
        for w in (a, b):
            block = rpc(w, "eth_getBlockByNumber", "pending", False)["result"]
            assert not set(leg_hashes) & set(block["transactions"])
        announced = [json.loads(ws.recv(timeout=5))["params"]["result"]]
        assert announced == ["0x" + bytes(tx_a).hex()]  # the plain one, and nothing else
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.3)
        assert (a.eth.get_balance(SINK), b.eth.get_balance(SINK)) == sink_before
        # the open slot is not sealed: no keyper releases for it without the seal
        keyper = sealed_devnet.node.keypers
        assert keyper is not None
        request = release_request(sealed_devnet, slot, sent, signer=keccak(b"not the sequencer"))
        for url in keyper.urls:
            reply = httpx.post(url, json=request).json()
            assert "by the sequencer" in reply["error"]["message"], reply
        time.sleep(0.3)
        assert seq.get_bundle(sent["bundleHash"])["status"] == "sealed"
        # -- seal the slot: keypers release, the reveal runs at the top of the next slot --
        rpc(a, "evm_mine")
        done = seq.wait_revealed(sent["bundleHash"])
        # once revealed, the subscription announces the 901 leg
        assert json.loads(ws.recv(timeout=5))["params"]["result"] == leg_hashes[0]
    finally:
        rpc(a, "evm_setAutomine", True)
        stack.close()
    assert done["status"] == "included", done
    assert [leg["txHash"] for leg in done["legs"]] == leg_hashes
    assert int(done["slot"], 16) == slot and done["receipt"] == sent["receipt"]
    assert int(done["executedSlot"], 16) == slot + 1 and done["executedIndex"] == "0x0"
    wait_for(lambda: sealed_devnet.node.sequencer.head_slot >= slot + 1, "the reveal's slot")
    committed = seq.get_slot(slot)["items"]
    assert [i["kind"] for i in committed] == ["transaction", "encrypted", "transaction"]
    assert committed[1]["legs"] == [] and committed[1]["status"] == "sealed"
    executed = seq.get_slot(slot + 1)["items"][0]
    assert executed["kind"] == "encrypted" and executed["status"] == "included"
    assert (a.eth.get_balance(SINK), b.eth.get_balance(SINK)) == (
        sink_before[0] + 5 + 1,  # + plain tx A
        sink_before[1] + 7 + 1,  # + plain tx B
    )


def release_request(node: NodeThread, slot: int, sent: dict, signer: bytes) -> dict:
    """A keyper_release request for ``sent``'s commit, its seal signed by ``signer``."""
    seq = node.node.sequencer
    desk = node.node.services.encrypted
    commit = seq.book.find(bytes.fromhex(sent["bundleHash"][2:]))
    assert commit is not None and desk is not None
    entries = [i.entry.hash for i in seq.book.open_items]
    root = order_root(slot, entries)
    domain = ReceiptDomain(0)
    return {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "keyper_release",
        "params": [
            {
                "domain": domain.to_json(),
                "slot": slot,
                "orderRoot": "0x" + root.hex(),
                "signature": "0x" + sign_seal(signer, domain, slot, root).hex(),
                "entries": ["0x" + e.hex() for e in entries],
                "items": [
                    {
                        "index": commit.index,
                        "envelope": "0x" + split_payload(commit.payload)[0].hex(),
                    }
                ],
                "after": {
                    "slot": slot,
                    "roots": [],
                    "signature": "0x"
                    + sign_digest(
                        signer, release_context(domain, slot, root, slot, span_root([]))
                    ).hex(),
                },
            }
        ],
    }


def test_aborted_items_do_not_shift_the_others(sealed_devnet: NodeThread) -> None:
    seq, a = client(sealed_devnet), rollup(sealed_devnet, 901)
    rich, poor = KEYS[3], KEYS[4]
    n_rich = nonce(sealed_devnet, 901, rich)
    too_much = transfer(901, poor, nonce(sealed_devnet, 901, poor), 10**30)  # cannot pay
    key_info = seq.encryption_key()
    garbage = encrypt_bundle(key_info, [b"\x02not a transaction"])
    assert "error" not in rpc(a, "evm_setAutomine", False)
    try:
        first = seq.send_encrypted_bundle([too_much])
        junk = seq.call("xseq_sendEncryptedBundle", {"ciphertext": "0x" + garbage.hex()})
        good = seq.send_encrypted_bundle([transfer(901, rich, n_rich, 3)])
        assert [int(x["index"], 16) for x in (first, junk, good)] == [0, 1, 2]
        rpc(a, "evm_mine")
        results = [seq.wait_revealed(x["bundleHash"]) for x in (first, junk, good)]
    finally:
        rpc(a, "evm_setAutomine", True)
    assert [r["status"] for r in results] == ["aborted", "aborted", "included"]
    assert "insufficient funds" in results[0]["abort"]["reason"]
    assert "not a transaction" in results[1]["abort"]["reason"]
    assert [r["executedIndex"] for r in results] == ["0x0", "0x1", "0x2"]
    assert len({r["executedSlot"] for r in results}) == 1
    assert a.eth.get_transaction_count(rich.address) == n_rich + 1


def test_bad_ciphertexts_are_refused_and_change_nothing(sealed_devnet: NodeThread) -> None:
    seq = client(sealed_devnet)
    head = sealed_devnet.node.sequencer.head_slot
    items = len(sealed_devnet.node.sequencer.book.items)
    envelope = seq.encrypt_bundle([transfer(901, KEYS[5], 0)], max_slot=head + 50)
    for params, code in [
        ({"ciphertext": "0x1234"}, -32602),
        ({"ciphertext": "0x" + envelope[:-1].hex()}, -32602),
        ({"ciphertext": "0x" + envelope.hex(), "maxSlot": hex(head + 51)}, -32602),
        ({}, -32602),
    ]:
        reply = send_raw(seq.url, params)
        assert reply["error"]["code"] == code, reply
    expired = seq.encrypt_bundle([transfer(901, KEYS[5], 0)], max_slot=max(head - 1, 0) or 0)
    if head > 1:
        reply = send_raw(seq.url, {"ciphertext": "0x" + expired.hex()})
        assert reply["error"]["code"] == -38005
    assert sealed_devnet.node.sequencer.head_slot == head
    assert len(sealed_devnet.node.sequencer.book.items) == items


def send_raw(url: str, params: dict) -> dict:
    body = {"jsonrpc": "2.0", "id": 1, "method": "xseq_sendEncryptedBundle", "params": [params]}
    return dict(httpx.post(url, json=body).json())


def test_fewer_than_t_keypers_make_sealed_items_wait_not_plain_ones(
    sealed_devnet: NodeThread,
) -> None:
    seq, a = client(sealed_devnet), rollup(sealed_devnet, 901)
    keypers = sealed_devnet.node.keypers
    assert keypers is not None
    key, plain = KEYS[6], KEYS[7]
    keypers.stop(3)  # two of three up: still enough
    still = seq.send_encrypted_bundle([transfer(901, key, nonce(sealed_devnet, 901, key), 8)])
    assert seq.wait_revealed(still["bundleHash"])["status"] == "included"
    keypers.stop(1)  # one of three up, two needed
    try:
        sent = seq.send_encrypted_bundle([transfer(901, key, nonce(sealed_devnet, 901, key), 9)])
        tx = a.eth.send_raw_transaction(transfer(901, plain, nonce(sealed_devnet, 901, plain)))
        assert a.eth.get_transaction_receipt(tx)["status"] == 1  # plain items flow
        time.sleep(1.2)  # two retries
        assert seq.get_bundle(sent["bundleHash"])["status"] == "sealed"
        status = seq.encryption_key()["status"]
        assert status["waiting"] and status["pending"] == 1 and status["keypersAnswering"] == 1
    finally:
        keypers.start(1)
        keypers.start(3)
    done = seq.wait_revealed(sent["bundleHash"])
    assert done["status"] == "included"
    assert seq.encryption_key()["status"]["pending"] == 0

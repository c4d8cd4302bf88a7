"""Atomic cross-rollup bundles over the real RPC (web3.py + xseqd.client), pre -> bundle
-> post. Must never happen: an aborted bundle leaves any trace on any rollup."""

from __future__ import annotations

import time
from typing import Any

import pytest
from eth_account import Account
from eth_hash.auto import keccak
from web3 import Web3
from web3.exceptions import TransactionNotFound

from tests.conftest import deploy
from xseqd.client import SequencerClient, SequencerError
from xseqd.node import NodeThread

SINK = Web3.to_checksum_address("0x0000000000000000000000000000000000005171")
FAIL = bytes.fromhex("a9cc4718")  # Counter.fail()
INCREMENT = bytes.fromhex("d09de08a")  # Counter.increment()


@pytest.fixture(scope="module")
def seq(devnet: NodeThread) -> SequencerClient:
    assert devnet.endpoints is not None
    return SequencerClient(devnet.endpoints.base_url)


def signed(
    w3: Web3,
    key: Any,
    to: str,
    value: int = 0,
    data: bytes = b"",
    gas: int = 100_000,
    nonce_offset: int = 0,
) -> bytes:
    tx = {
        "chainId": w3.eth.chain_id,
        "to": to,
        "value": value,
        "data": data,
        "gas": gas,
        "nonce": w3.eth.get_transaction_count(key.address, "pending") + nonce_offset,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 10**6,
    }
    return bytes(Account.sign_transaction(tx, key.key).raw_transaction)


def snapshot(w3: Web3, *addresses: str) -> dict[str, Any]:
    """Everything an aborted bundle must not change on one rollup."""
    latest = w3.eth.get_block("latest")
    return {
        "number": latest["number"],
        "stateRoot": latest["stateRoot"],
        "balances": [w3.eth.get_balance(a) for a in addresses],
        "nonces": [w3.eth.get_transaction_count(a) for a in addresses],
        "pendingNonces": [w3.eth.get_transaction_count(a, "pending") for a in addresses],
    }


def test_two_rollup_bundle_lands_in_one_slot(
    seq: SequencerClient, w3a: Web3, w3b: Web3, keys: list[Any]
) -> None:
    alice, bob = keys[0], keys[1]
    pre_a, pre_b = w3a.eth.get_balance(SINK), w3b.eth.get_balance(SINK)
    legs = [signed(w3a, alice, SINK, 111, gas=21_000), signed(w3b, bob, SINK, 222, gas=21_000)]
    result = seq.send_bundle(legs)
    assert result["status"] == "included", result
    assert [int(leg["gasUsed"], 16) for leg in result["legs"]] == [21_000, 21_000]
    slot = int(result["slot"], 16)
    receipts = [
        w3a.eth.get_transaction_receipt(result["legs"][0]["txHash"]),
        w3b.eth.get_transaction_receipt(result["legs"][1]["txHash"]),
    ]
    assert [r.blockNumber for r in receipts] == [slot, slot]
    assert w3a.eth.get_balance(SINK) == pre_a + 111 and w3b.eth.get_balance(SINK) == pre_b + 222
    assert seq.verify(result["receipt"])
    header = seq.get_slot(slot)
    assert result["bundleHash"] in [i["itemHash"] for i in header["items"]]
    # a client recomputes the order chain from the slot header alone
    chain = keccak(b"xseqd/order" + slot.to_bytes(8, "big"))
    for i, item in enumerate(header["items"]):
        chain = keccak(chain + bytes.fromhex(item["entryHash"][2:]))
        if i == int(result["index"], 16):
            assert "0x" + chain.hex() == result["receipt"]["orderChain"]
    assert "0x" + chain.hex() == header["orderRoot"]
    assert seq.get_bundle(result["bundleHash"])["status"] == "included"
    assert seq.get_bundle(result["legs"][1]["txHash"])["bundleHash"] == result["bundleHash"]


def test_second_leg_reverts_so_nothing_lands_anywhere(
    seq: SequencerClient, w3a: Web3, w3b: Web3, keys: list[Any]
) -> None:
    alice, bob = keys[2], keys[3]
    counter_b = deploy(w3b, keys[0], "Counter")
    pre_a = snapshot(w3a, alice.address, SINK)
    pre_b = snapshot(w3b, bob.address, counter_b.address)
    logs_before = w3a.eth.get_logs({"fromBlock": 0, "address": SINK})
    legs = [signed(w3a, alice, SINK, 5, gas=21_000), signed(w3b, bob, counter_b.address, data=FAIL)]
    result = seq.send_bundle(legs)
    assert result["status"] == "aborted"
    assert result["abort"]["leg"] == 1 and result["abort"]["chainId"] == 902
    assert "counter: always fails" in result["abort"]["reason"]
    assert result["abort"]["data"].startswith("0x08c379a0")
    assert seq.verify(result["receipt"])  # it was ordered (and then aborted)
    post_a = snapshot(w3a, alice.address, SINK)
    post_b = snapshot(w3b, bob.address, counter_b.address)
    for pre, post in ((pre_a, post_a), (pre_b, post_b)):
        assert post["balances"] == pre["balances"]
        assert post["nonces"] == pre["nonces"] and post["pendingNonces"] == pre["pendingNonces"]
    for leg in result["legs"]:
        w3 = w3a if leg["chainId"] == 901 else w3b
        with pytest.raises(TransactionNotFound):
            w3.eth.get_transaction_receipt(leg["txHash"])
    assert w3a.eth.get_logs({"fromBlock": 0, "address": SINK}) == logs_before
    # the same first leg can still be sent alone afterwards
    again = w3a.eth.send_raw_transaction(legs[0])
    assert w3a.eth.get_transaction_receipt(again).status == 1


def test_abort_leaves_state_roots_exactly_as_without_the_bundle(
    devnet: NodeThread, seq: SequencerClient, w3a: Web3, w3b: Web3, keys: list[Any]
) -> None:
    """Manual mode: the open slot's state root after an aborted bundle equals the root
    without it (same slot timestamp, same preceding transactions)."""
    rpc = w3a.provider.make_request
    counter = deploy(w3b, keys[0], "Counter")
    rpc("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        snap = rpc("evm_snapshot", [])["result"]  # type: ignore[arg-type]
        ts = w3a.eth.get_block("latest")["timestamp"] + 100
        plain = signed(w3a, keys[4], SINK, 1, gas=21_000)
        bad = [
            signed(w3a, keys[5], SINK, 2, gas=21_000),
            signed(w3b, keys[6], counter.address, data=FAIL),
        ]
        w3a.eth.send_raw_transaction(plain)
        assert seq.send_bundle(bad)["status"] == "aborted"
        rpc("evm_mine", [ts])  # type: ignore[arg-type]
        with_bundle = (
            w3a.eth.get_block("latest")["stateRoot"],
            w3b.eth.get_block("latest")["stateRoot"],
        )
        rpc("evm_revert", [snap])  # type: ignore[arg-type]
        w3a.eth.send_raw_transaction(plain)
        rpc("evm_mine", [ts])  # type: ignore[arg-type]
        without = (
            w3a.eth.get_block("latest")["stateRoot"],
            w3b.eth.get_block("latest")["stateRoot"],
        )
        assert with_bundle == without
    finally:
        rpc("evm_setAutomine", [True])  # type: ignore[arg-type]


def test_state_contention_inside_a_slot(
    seq: SequencerClient, w3a: Web3, w3b: Web3, keys: list[Any]
) -> None:
    """Two bundles race for the same nonce: the first wins, the second aborts cleanly."""
    rpc = w3a.provider.make_request
    rpc("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        key = keys[7]
        first = [signed(w3a, key, SINK, 1, gas=21_000), signed(w3b, keys[8], SINK, 1, gas=21_000)]
        # a competing tx with the same nonce as first[0]
        competing = [signed(w3a, key, SINK, 9, gas=21_000)]
        r1 = seq.send_bundle(first)
        r2 = seq.send_bundle(competing)
        assert r1["status"] == "included" and r2["status"] == "aborted"
        assert "nonce too low" in r2["abort"]["reason"]
        assert r1["slot"] == r2["slot"] and int(r2["index"], 16) == int(r1["index"], 16) + 1
        rpc("evm_mine", [])  # type: ignore[arg-type]
        slot = seq.get_slot("latest")
        assert [i["status"] for i in slot["items"]][-2:] == ["included", "aborted"]
    finally:
        rpc("evm_setAutomine", [True])  # type: ignore[arg-type]


def test_bundle_touching_one_rollup_twice(seq: SequencerClient, w3a: Web3, keys: list[Any]) -> None:
    counter = deploy(w3a, keys[0], "Counter")
    key = keys[9]
    legs = [
        signed(w3a, key, counter.address, data=INCREMENT),
        signed(w3a, key, counter.address, data=INCREMENT, nonce_offset=1),
        signed(w3a, keys[1], counter.address, data=INCREMENT),
    ]
    result = seq.send_bundle(legs)
    assert result["status"] == "included"
    assert counter.functions.count().call() == 3
    # and a bundle whose third leg fails on the same rollup undoes the first two
    legs = [
        signed(w3a, key, counter.address, data=INCREMENT),
        signed(w3a, key, counter.address, data=INCREMENT, nonce_offset=1),
        signed(w3a, keys[1], counter.address, data=FAIL),
    ]
    result = seq.send_bundle(legs)
    assert result["status"] == "aborted" and result["abort"]["leg"] == 2
    assert counter.functions.count().call() == 3


def test_call_bundle_simulates_and_changes_nothing(
    seq: SequencerClient, w3a: Web3, w3b: Web3, keys: list[Any]
) -> None:
    counter = deploy(w3b, keys[0], "Counter")
    legs = [
        signed(w3a, keys[2], SINK, 3, gas=21_000),
        signed(w3b, keys[3], counter.address, data=INCREMENT),
    ]
    before = (snapshot(w3a, keys[2].address), snapshot(w3b, keys[3].address))
    sim = seq.call_bundle(legs)
    assert sim["status"] == "included"
    assert [leg["status"] for leg in sim["legs"]] == ["0x1", "0x1"]
    assert int(sim["legs"][0]["gasUsed"], 16) == 21_000  # a plain transfer
    assert int(sim["legs"][1]["gasUsed"], 16) > 21_000
    incremented = Web3.keccak(text="Incremented(address,uint256)").to_0x_hex()
    [log] = sim["legs"][1]["logs"]
    assert log["address"].lower() == counter.address.lower() and log["topics"][0] == incremented
    failing = seq.call_bundle([legs[0], signed(w3b, keys[3], counter.address, data=FAIL)])
    assert failing["status"] == "aborted" and failing["abort"]["leg"] == 1
    assert (snapshot(w3a, keys[2].address), snapshot(w3b, keys[3].address)) == before
    assert seq.send_bundle(legs)["status"] == "included"  # still valid afterwards


def test_min_slot_hold_and_cancel(seq: SequencerClient, w3a: Web3, keys: list[Any]) -> None:
    head = int(seq.call("xseq_slotNumber"), 16)
    leg = signed(w3a, keys[4], SINK, 4, gas=21_000)
    held = seq.send_bundle([leg], min_slot=head + 50, replacement_uuid="u-1")
    assert held["status"] == "ordered" and held["slot"] is None
    assert seq.cancel_bundle("u-1") is True
    assert seq.cancel_bundle("u-1") is False
    assert seq.get_bundle(held["bundleHash"])["status"] == "cancelled"
    # a transaction held in one bundle cannot be sent in another one meanwhile
    other = signed(w3a, keys[4], SINK, 5, gas=21_000, nonce_offset=1)
    seq.send_bundle([leg, other], min_slot=head + 50, replacement_uuid="u-2")
    with pytest.raises(SequencerError) as info:
        seq.send_bundle([other])
    assert info.value.code == -38004
    assert seq.cancel_bundle("u-2") is True
    # a held bundle runs when its slot opens
    held = seq.send_bundle([leg], min_slot=head + 2)
    assert held["status"] == "ordered"
    w3a.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    w3a.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    w3a.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    got = seq.get_bundle(held["bundleHash"])
    assert got["status"] == "included" and int(got["slot"], 16) == head + 2


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda w3, k: {"txs": []}, -38001),
        (lambda w3, k: {"txs": [signed(w3, k, SINK, 1, gas=21_000)] * 2}, -38002),
        (
            lambda w3, k: {
                "txs": [
                    "0x"
                    + bytes(
                        Account.sign_transaction(
                            {
                                "chainId": 999,
                                "to": SINK,
                                "value": 1,
                                "gas": 21_000,
                                "nonce": 0,
                                "maxFeePerGas": 10**10,
                                "maxPriorityFeePerGas": 1,
                            },
                            k.key,
                        ).raw_transaction
                    ).hex()
                ]
            },
            -38003,
        ),
        (lambda w3, k: {"txs": ["0xdeadbeef"]}, -32602),
        (lambda w3, k: {"txs": [bad_signature(signed(w3, k, SINK, 1, gas=21_000))]}, -32602),
        (lambda w3, k: {"txs": "nope"}, -32602),
        (
            lambda w3, k: {
                "txs": [signed(w3, k, SINK, 1, gas=21_000)]
                + [signed(w3, k, SINK, 1, gas=21_000, nonce_offset=i) for i in range(1, 17)]
            },
            -38001,
        ),
        (lambda w3, k: {"txs": [signed(w3, k, SINK, 1, gas=21_000)], "maxSlot": "0x1"}, -38005),
    ],
)
def test_bad_bundles_get_clear_errors_and_change_nothing(
    seq: SequencerClient, w3a: Web3, keys: list[Any], make: Any, code: int
) -> None:
    before = snapshot(w3a, keys[5].address)
    head = seq.call("xseq_slotNumber")
    with pytest.raises(SequencerError) as info:
        seq.call("xseq_sendBundle", _hexify(make(w3a, keys[5])))
    assert info.value.code == code
    assert snapshot(w3a, keys[5].address) == before
    assert seq.call("xseq_slotNumber") == head


def test_replay_of_an_included_bundle_is_refused(
    seq: SequencerClient, w3a: Web3, keys: list[Any]
) -> None:
    legs = [signed(w3a, keys[6], SINK, 1, gas=21_000)]
    assert seq.send_bundle(legs)["status"] == "included"
    with pytest.raises(SequencerError) as info:
        seq.send_bundle(legs)
    assert info.value.code == -38004


def bad_signature(raw: bytes) -> bytes:
    """The same transaction with its s value zeroed: not a valid signature."""
    import rlp

    fields = rlp.decode(raw[1:])
    fields[-1] = b""
    return raw[:1] + rlp.encode(fields)


def _hexify(obj: dict[str, Any]) -> dict[str, Any]:
    txs = obj.get("txs")
    if isinstance(txs, list):
        obj = dict(obj, txs=[t if isinstance(t, str) else "0x" + t.hex() for t in txs])
    return obj


def test_plain_transactions_get_order_receipts_too(
    seq: SequencerClient, w3a: Web3, keys: list[Any]
) -> None:
    tx_hash = w3a.eth.send_raw_transaction(signed(w3a, keys[7], SINK, 1, gas=21_000))
    item = seq.get_bundle(tx_hash.to_0x_hex())
    assert item["kind"] == "transaction" and item["bundleHash"] == tx_hash.to_0x_hex()
    assert seq.verify(item["receipt"])
    assert item["status"] == "included" and item["legs"][0]["chainId"] == 901


def test_an_aborted_bundle_is_sealed_in_the_slot_its_receipt_names(
    seq: SequencerClient, w3a: Web3, w3b: Web3, keys: list[Any]
) -> None:
    """Instant mode: the slot an aborted bundle's receipt names is sealed at once (empty
    blocks on every rollup), like any other submission; it is not left open until the
    next one arrives, to be sealed then with a stale timestamp. Must never happen: a
    receipt naming a slot that does not exist, or time travel ignored by the next block."""
    counter = deploy(w3b, keys[0], "Counter")
    result = seq.send_bundle([signed(w3b, keys[8], counter.address, data=FAIL)])
    assert result["status"] == "aborted"
    slot = int(result["slot"], 16)
    deadline = time.time() + 5
    while int(seq.call("xseq_slotNumber"), 16) < slot and time.time() < deadline:
        time.sleep(0.02)
    header = seq.get_slot(slot)
    assert header is not None, f"slot {slot} of the receipt was never sealed"
    assert [i["itemHash"] for i in header["items"]] == [result["bundleHash"]]
    assert w3a.eth.block_number == w3b.eth.block_number == slot
    # the next submission goes to the next slot, at the time it was made
    later = w3a.eth.get_block("latest")["timestamp"] + 1000
    w3a.provider.make_request("evm_setNextBlockTimestamp", [hex(later)])  # type: ignore[arg-type]
    tx_hash = w3a.eth.send_raw_transaction(signed(w3a, keys[8], SINK, 1, gas=21_000))
    block = w3a.eth.get_block(w3a.eth.get_transaction_receipt(tx_hash).blockNumber)
    assert (block["number"], block["timestamp"]) == (slot + 1, later)


def test_a_simulation_never_runs_a_held_bundle(
    seq: SequencerClient, w3a: Web3, keys: list[Any]
) -> None:
    """Red team 5: ``xseq_callBundle`` opened the next slot for its simulation, and
    opening it ran the held bundles due there — a read that ordered and executed someone's
    bundle (with encryption on, ahead of the reveals that must open that slot)."""
    head = int(seq.call("xseq_slotNumber"), 16)
    held = seq.send_bundle([signed(w3a, keys[5], SINK, 1, gas=21_000)], min_slot=head + 2)
    assert held["status"] == "ordered" and held["slot"] is None
    w3a.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    assert int(seq.call("xseq_slotNumber"), 16) == head + 1  # due at the next slot now
    sim = seq.call_bundle([signed(w3a, keys[6], SINK, 1, gas=21_000)])
    assert sim["status"] == "included"
    assert seq.get_bundle(held["bundleHash"])["slot"] is None  # still held: nothing ran
    w3a.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    got = seq.get_bundle(held["bundleHash"])
    assert got["status"] == "included" and int(got["slot"], 16) == head + 2

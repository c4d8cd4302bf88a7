"""State retention (sequencer/retention.py) over the real RPC: reads at a block whose
state was pruned answer geth's "missing trie node" and change nothing; what stays served
(blocks, receipts, recent states, slot commitments with their Mailbox roots, an
``evm_snapshot`` to revert to) answers as before; a restart from incremental snapshots
rebuilds the same chain; ``--state-history 0`` keeps every state.

Must never happen: a pruned read that answers a wrong value instead of an error, a kept
state that lost a node, a restart that differs from the run it restarts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from web3 import Web3

from tests.conftest import artifact
from tests.sequencer.test_durability import KEYS, chain_view, sign
from xseqd.chains.blockindex import Stored
from xseqd.chains.records import BlockRecord
from xseqd.client import SequencerClient
from xseqd.config import Settings
from xseqd.node import NodeThread
from xseqd.sequencer.lazybook import Deferred, ItemIndex
from xseqd.storage.log import SequencerLog

MAILBOX = Web3.to_checksum_address("0x4200000000000000000000000000000000000023")
BOB = Web3.to_checksum_address("0x00000000000000000000000000000000000b0b00")


def rpc(url: str, method: str, *params: Any) -> dict[str, Any]:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    answer: dict[str, Any] = httpx.post(url, json=body, timeout=30).json()
    return answer


def message_tx(nonce: int) -> str:
    """Mailbox.send(902, BOB, "") with 1 ETH from 901: moves the Mailbox roots."""
    mailbox = Web3().eth.contract(MAILBOX, abi=artifact("Mailbox")["abi"])
    data = mailbox.encode_abi("send", [902, BOB, b""])
    tx = {
        "chainId": 901,
        "nonce": nonce,
        "to": MAILBOX,
        "value": 10**18,
        "gas": 500_000,
        "data": data,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 1,
    }
    return "0x" + bytes(Account.sign_transaction(tx, KEYS[3].key).raw_transaction).hex()


def grow(url: str, n: int, key: int = 0, nonce0: int = 0) -> list[int]:
    """``n`` transfers (one slot each); returns the blocks they landed in."""
    w3 = Web3(Web3.HTTPProvider(url))
    out = []
    for i in range(n):
        tx_hash = w3.eth.send_raw_transaction(sign(901, KEYS[key], nonce0 + i))
        out.append(w3.eth.get_transaction_receipt(tx_hash).blockNumber)
    return out


def test_reads_at_a_pruned_block_answer_missing_trie_node() -> None:
    node = NodeThread(Settings.for_tests(state_history=8, snapshot_every=8))
    ep = node.start()
    try:
        url = ep.rollup_url(901)
        w3 = Web3(Web3.HTTPProvider(url))
        blocks = grow(url, 6)
        old = blocks[2]
        balance_then = w3.eth.get_balance(KEYS[0].address, old)
        w3.provider.make_request("anvil_mine", [hex(40)])  # type: ignore[arg-type]
        head = w3.eth.block_number
        who = KEYS[0].address
        for method, params in (
            ("eth_getBalance", [who, hex(old)]),
            ("eth_getTransactionCount", [who, hex(old)]),
            ("eth_getCode", [MAILBOX, hex(old)]),
            ("eth_getStorageAt", [MAILBOX, "0x0", hex(old)]),
            ("eth_call", [{"to": who}, hex(old)]),
            ("eth_getProof", [who, [], hex(old)]),
            ("eth_getBalance", [who, "earliest"]),
        ):
            answer = rpc(url, method, *params)
            assert answer["error"]["code"] == -32000, (method, answer)
            assert "missing trie node" in answer["error"]["message"], (method, answer)
            assert "--state-history" in answer["error"]["message"]
        assert w3.eth.block_number == head  # the errors changed nothing
        # blocks below the state floor went back to their bytes (until read, as `old` was)
        blocks = node.node.sequencer.rollups[901].blocks
        assert isinstance(blocks._items[old - 1], Stored) and isinstance(
            blocks._items[head], BlockRecord
        )
        # what stays: the block, its receipts, and the states of the latest 8 blocks
        assert w3.eth.get_block(old)["number"] == old
        assert len(w3.eth.get_block(old, full_transactions=True)["transactions"]) == 1
        assert w3.eth.get_balance(who, head - 7) == w3.eth.get_balance(who)
        assert w3.eth.get_balance(who) < balance_then
        assert w3.eth.call({"to": who}, head - 7) == b""
    finally:
        node.stop()


def test_mailbox_roots_of_pruned_slots_and_evm_revert_to_a_pinned_slot() -> None:
    """A slot's commitment reads only the Mailbox roots, which every block keeps; a slot
    an evm_snapshot points at keeps its whole state."""
    node = NodeThread(Settings.for_tests(state_history=4, snapshot_every=4))
    ep = node.start()
    try:
        url = ep.rollup_url(901)
        w3 = Web3(Web3.HTTPProvider(url))
        seq = SequencerClient(ep.base_url)
        grow(url, 2)
        snap = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
        pinned = w3.eth.block_number
        balance = w3.eth.get_balance(KEYS[3].address)
        receipt = w3.eth.get_transaction_receipt(w3.eth.send_raw_transaction(message_tx(0)))
        assert receipt.status == 1
        sent = receipt.blockNumber
        w3.provider.make_request("anvil_mine", [hex(3)])  # type: ignore[arg-type]
        before = {n: seq.get_slot(n) for n in range(1, w3.eth.block_number + 1)}
        assert int(before[sent]["mailboxRoots"]["901"]["902"]["outbox"], 16) != 0
        assert before[sent - 1]["mailboxRoots"] != before[sent]["mailboxRoots"]
        w3.provider.make_request("anvil_mine", [hex(30)])  # type: ignore[arg-type]
        for n in (sent, sent + 1):  # sent - 1 is the pinned slot
            answer = rpc(url, "eth_getBalance", BOB, hex(n))
            assert "missing trie node" in answer["error"]["message"]
        assert {n: seq.get_slot(n) for n in before} == before
        assert w3.eth.get_balance(KEYS[3].address, pinned) == balance  # pinned: whole state
        assert w3.provider.make_request("evm_revert", [snap])["result"] is True  # type: ignore[arg-type]
        assert w3.eth.block_number == pinned
        assert w3.eth.get_balance(KEYS[3].address) == balance
        grow(url, 2)  # and the chain goes on from there
    finally:
        node.stop()


def test_restart_from_incremental_snapshots_after_pruning_is_the_same_chain(
    tmp_path: Path,
) -> None:
    db = f"sqlite:///{tmp_path / 'log.db'}"
    settings = Settings.for_tests(db=db, state_history=6, snapshot_every=4)
    node = NodeThread(settings)
    ep = node.start()
    url = ep.rollup_url(901)
    grow(url, 9)
    w3 = Web3(Web3.HTTPProvider(url))
    w3.provider.make_request("anvil_mine", [hex(21)])  # type: ignore[arg-type]
    sent = w3.eth.send_raw_transaction(message_tx(0))
    message_slot = w3.eth.get_transaction_receipt(sent).blockNumber
    grow(url, 5, nonce0=9)
    seq = SequencerClient(ep.base_url)
    head = w3.eth.block_number
    [message] = seq.get_slot(message_slot)["messages"]
    old_tx = w3.eth.get_block(2)["transactions"][0]
    found = {
        "bundle": seq.get_bundle("0x" + bytes(old_tx).hex()),
        "message": seq.call("xseq_getMessage", message["id"]),
        "sent": seq.get_bundle("0x" + bytes(sent).hex()),
    }
    before = {cid: chain_view(ep.rollup_url(cid)) for cid in (901, 902)}
    slots = [seq.get_slot(n) for n in range(1, head + 1)]
    balances = [w3.eth.get_balance(KEYS[0].address, n) for n in range(head - 5, head + 1)]
    pruned = rpc(url, "eth_getBalance", KEYS[0].address, "0x1")
    node.stop()

    log = SequencerLog(db)
    contents = log.load()
    log.close()
    assert contents.snapshot is not None
    # a base and the deltas after it, plus the blocks parts of every snapshot
    assert len(contents.snapshots) > 3

    node = NodeThread(settings)
    ep = node.start()
    try:
        w3 = Web3(Web3.HTTPProvider(ep.rollup_url(901)))
        seq = SequencerClient(ep.base_url)
        book = node.node.sequencer.book
        # items under the snapshot were not decoded by the restart; reading them does
        assert isinstance(book.items, ItemIndex)
        assert sum(isinstance(v, Deferred) for v in dict.values(book.items)) >= 9
        again = {
            "bundle": seq.get_bundle("0x" + bytes(old_tx).hex()),
            "message": seq.call("xseq_getMessage", message["id"]),
            "sent": seq.get_bundle("0x" + bytes(sent).hex()),
        }
        assert again == found
        assert {cid: chain_view(ep.rollup_url(cid)) for cid in (901, 902)} == before
        assert [seq.get_slot(n) for n in range(1, head + 1)] == slots
        assert [w3.eth.get_balance(KEYS[0].address, n) for n in range(head - 5, head + 1)] == (
            balances
        )
        assert rpc(ep.rollup_url(901), "eth_getBalance", KEYS[0].address, "0x1") == pruned
        grow(ep.rollup_url(901), 3, nonce0=14)  # the chain goes on
        assert w3.eth.get_transaction_count(KEYS[0].address) == 17
    finally:
        node.stop()


def test_state_history_zero_keeps_every_state() -> None:
    node = NodeThread(Settings.for_tests(state_history=0, snapshot_every=4))
    ep = node.start()
    try:
        url = ep.rollup_url(901)
        w3 = Web3(Web3.HTTPProvider(url))
        blocks = grow(url, 3)
        then = w3.eth.get_balance(KEYS[0].address, blocks[0])
        w3.provider.make_request("anvil_mine", [hex(300)])  # type: ignore[arg-type]
        assert w3.eth.get_balance(KEYS[0].address, blocks[0]) == then
        assert w3.eth.get_balance(KEYS[0].address, 0) > then
    finally:
        node.stop()

"""Settlement on a real anvil: every slot's commitment and data on L1, read back and
checked against the rollups; safe/finalized tags follow L1; posting survives an L1
restart with no gap and no duplicate."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_abi import decode
from eth_account import Account
from eth_hash.auto import keccak
from web3 import Web3

from xseqd.abi import event_topic, input_types
from xseqd.accounts import dev_accounts
from xseqd.client import SequencerClient
from xseqd.config import Settings
from xseqd.core.commitment import RollupState, decode_batch, slot_commitment
from xseqd.l1.anvil import Anvil
from xseqd.l1.client import L1Client
from xseqd.l1.settlement import Settlement
from xseqd.node import NodeThread

KEYS = dev_accounts(4)
SINK = Web3.to_checksum_address("0x00000000000000000000000000000000000a11ce")
SLOTS_POSTED = "0x" + event_topic("Settlement", "SlotsPosted").hex()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def l1(tmp_path: Path) -> Iterator[Anvil]:
    anvil = Anvil(free_port(), 900, tmp_path / "l1-state.json")
    anvil.start()
    yield anvil
    anvil.stop()


def sign(cid: int, key: Any, nonce: int) -> str:
    tx = {
        "chainId": cid,
        "nonce": nonce,
        "to": SINK,
        "value": 1,
        "gas": 21_000,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 1,
    }
    return "0x" + bytes(Account.sign_transaction(tx, key.key).raw_transaction).hex()


def wait_posted(node: NodeThread, timeout: float = 30) -> None:
    poster = node.node.poster
    assert poster is not None
    deadline = time.time() + timeout
    while time.time() < deadline:
        # everything submitted is sealed (instant mode seals on the next loop turn) and posted
        sealed = not node.node.sequencer.open_slot_needs_seal
        if sealed and poster.safe_slot >= node.node.sequencer.head_slot:
            return
        time.sleep(0.05)
    raise AssertionError(f"not posted: {poster.status()}")


def recomputed(seq: SequencerClient, n: int) -> bytes:
    slot = seq.get_slot(n)
    states = []
    for r in slot["rollups"]:
        cid = r["chainId"]
        others = sorted((int(o), v) for o, v in slot["mailboxRoots"][str(cid)].items())
        states.append(
            RollupState(
                cid,
                bytes.fromhex(r["blockHash"][2:]),
                bytes.fromhex(r["stateRoot"][2:]),
                tuple(o for o, _ in others),
                tuple(bytes.fromhex(v["outbox"][2:]) for _, v in others),
                tuple(bytes.fromhex(v["inbox"][2:]) for _, v in others),
            )
        )
    return slot_commitment(
        n, int(slot["timestamp"], 16), bytes.fromhex(slot["orderRoot"][2:]), states
    )


def test_slots_are_committed_on_l1_and_match_the_rollups(l1: Anvil) -> None:
    node = NodeThread(Settings.for_tests(l1_rpc=l1.url, challenge_window=3))
    ep = node.start()
    try:
        seq = SequencerClient(ep.base_url)
        a = Web3(Web3.HTTPProvider(ep.rollup_url(901)))
        for i in range(3):
            a.eth.send_raw_transaction(sign(901, KEYS[0], i))
        bundle = seq.send_bundle([sign(901, KEYS[1], 0), sign(902, KEYS[2], 0)])
        assert bundle["status"] == "included"
        wait_posted(node)
        assert seq.get_bundle(bundle["bundleHash"])["status"] == "safe"
        client = L1Client(l1.url)
        settlement = seq.info()["l1"]["settlement"]
        head = node.node.sequencer.head_slot
        contract = Settlement(client, settlement)
        for n in range(1, head + 1):
            record = contract.slot(n)
            assert record.commitment == recomputed(seq, n)
            assert record.l1_block > 0 and not record.invalidated
        # the posted data re-derives the order: decode every batch from its calldata
        logs = client.call(
            "eth_getLogs", {"address": settlement, "fromBlock": "0x0", "topics": [SLOTS_POSTED]}
        )
        firsts = [int(log["topics"][1], 16) for log in logs]
        counts = [int(log["data"][2:66], 16) for log in logs]
        assert firsts[0] == 1 and all(f + c == n for f, c, n in zip(firsts, counts, firsts[1:]))
        assert firsts[-1] + counts[-1] == head + 1  # contiguous, no duplicate
        posted_items = []
        for log in logs:
            tx = client.call("eth_getTransactionByHash", log["transactionHash"])
            data = decode(input_types("Settlement", "post"), bytes.fromhex(tx["input"][10:]))[3]
            assert keccak(data).hex() == log["data"][66:130]
            for s in decode_batch(data)[0]:
                posted_items += [(s.number, [leg.chain_id for leg in i.legs]) for i in s.items]
        assert sum(1 for _, c in posted_items if c == [901, 902]) == 1  # the bundle
        assert sum(1 for _, c in posted_items if c == [901]) == 3
        # safe = committed; finalized after the challenge window
        assert a.eth.get_block("safe")["number"] == head
        client.call("anvil_mine", "0x5")
        deadline = time.time() + 10
        while a.eth.get_block("finalized")["number"] < head and time.time() < deadline:
            time.sleep(0.05)
        assert a.eth.get_block("finalized")["number"] == head
        assert seq.get_slot(head)["l1"]["status"] == "finalized"
        assert seq.get_bundle(bundle["bundleHash"])["status"] == "finalized"
    finally:
        node.stop()


def test_posting_survives_an_l1_restart_without_gap_or_duplicate(l1: Anvil) -> None:
    node = NodeThread(Settings.for_tests(l1_rpc=l1.url, challenge_window=3))
    ep = node.start()
    try:
        a = Web3(Web3.HTTPProvider(ep.rollup_url(901)))
        a.eth.send_raw_transaction(sign(901, KEYS[3], 0))
        wait_posted(node)
        l1.stop()  # L1 down: slots keep coming, the backlog grows
        for i in range(1, 4):
            a.eth.send_raw_transaction(sign(901, KEYS[3], i))
        poster = node.node.poster
        assert poster is not None
        assert node.node.sequencer.head_slot > poster.safe_slot
        seq = SequencerClient(ep.base_url)
        assert seq.info()["l1"]["backlog"] > 0
        l1.start()  # back, with its state
        wait_posted(node)
        client = L1Client(l1.url)
        logs = client.call(
            "eth_getLogs", {"address": poster.address, "fromBlock": "0x0", "topics": [SLOTS_POSTED]}
        )
        ranges = [(int(log["topics"][1], 16), int(log["data"][2:66], 16)) for log in logs]
        covered = [n for first, count in ranges for n in range(first, first + count)]
        assert covered == list(range(1, node.node.sequencer.head_slot + 1))
    finally:
        node.stop()


def verify_cli(l1_url: str) -> tuple[int, str]:
    import subprocess
    import sys

    exe = Path(sys.executable).parent / "xseqd"
    done = subprocess.run(
        [str(exe), "verify", "--l1-rpc", l1_url], capture_output=True, text=True, timeout=300
    )
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("fault", ["", "commitment:3", "data:4"])
def test_independent_verifier_from_l1_alone(l1: Anvil, fault: str) -> None:
    """`xseqd verify` re-executes every slot from L1 data: OK for an honest sequencer;
    for an injected fault it names exactly the faulty slot."""
    node = NodeThread(Settings.for_tests(l1_rpc=l1.url, fault=fault))
    ep = node.start()
    try:
        seq = SequencerClient(ep.base_url)
        a = Web3(Web3.HTTPProvider(ep.rollup_url(901)))
        a.eth.send_raw_transaction(sign(901, KEYS[0], 0))
        seq.send_bundle([sign(901, KEYS[1], 0), sign(902, KEYS[2], 0)])
        a.provider.make_request("anvil_setBalance", [SINK, "0x42"])  # type: ignore[arg-type]
        a.eth.send_raw_transaction(sign(901, KEYS[0], 1))
        a.eth.send_raw_transaction(sign(901, KEYS[0], 2))
        wait_posted(node)
    finally:
        node.stop()  # the verifier talks to L1 only
    code, out = verify_cli(l1.url)
    if not fault:
        assert code == 0 and "OK: 5 slots" in out, out
    else:
        bad = int(fault.split(":")[1])
        assert code == 1 and f"BAD slot {bad} (data):" in out, out


def test_backlog_is_bounded_and_reported(l1: Anvil, monkeypatch: pytest.MonkeyPatch) -> None:
    from web3.exceptions import Web3RPCError

    import xseqd.l1.poster as poster_module

    monkeypatch.setattr(poster_module, "MAX_BACKLOG", 3)
    node = NodeThread(Settings.for_tests(l1_rpc=l1.url))
    ep = node.start()
    try:
        a = Web3(Web3.HTTPProvider(ep.rollup_url(901)))
        a.eth.send_raw_transaction(sign(901, KEYS[0], 0))
        wait_posted(node)
        l1.stop()
        for i in range(1, 4):
            h = a.eth.send_raw_transaction(sign(901, KEYS[0], i))
            a.eth.wait_for_transaction_receipt(h, poll_latency=0.02)
        with pytest.raises(Web3RPCError) as info:
            a.eth.send_raw_transaction(sign(901, KEYS[0], 4))
        assert info.value.rpc_response["error"]["code"] == -32005
        assert SequencerClient(ep.base_url).info()["l1"]["backlog"] == 3
        l1.start()
        wait_posted(node)
        h = a.eth.send_raw_transaction(sign(901, KEYS[0], 4))  # accepted again
        assert a.eth.wait_for_transaction_receipt(h, poll_latency=0.02).status == 1
    finally:
        node.stop()

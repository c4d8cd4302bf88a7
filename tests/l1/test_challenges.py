"""Challenges on a real anvil, one per fault the sequencer can be made to commit
(dev-only --fault): `xseqd verify --challenge` names the slot and the challenge (or the
verifier's attestation) succeeds, invalidating it and every later slot; xseqd rolls back
and carries on. Must never happen: an honest slot successfully challenged.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_hash.auto import keccak
from web3 import Web3
from web3.exceptions import TransactionNotFound

from tests.l1.test_settlement import KEYS, free_port, sign, wait_posted
from xseqd.client import SequencerClient
from xseqd.config import Settings
from xseqd.core.order import OrderReceipt
from xseqd.l1.anvil import Anvil
from xseqd.l1.client import L1Client, L1Error
from xseqd.l1.settlement import Settlement
from xseqd.node import NodeThread
from xseqd.verify.challenge import (
    attest,
    challenge_data,
    challenge_mailbox,
    challenge_receipt,
    challenger,
)
from xseqd.verify.verifier import posted_batches

EXE = Path(sys.executable).parent / "xseqd"
OLD = "0x" + keccak(b"xseqd devnet verifier key").hex()  # a public constant once


@pytest.fixture()
def l1(tmp_path: Path) -> Any:
    anvil = Anvil(free_port(), 900)
    anvil.start()
    yield anvil
    anvil.stop()


def status(client: L1Client, settlement: str, slot: int) -> int:
    return Settlement(client, settlement).status(slot)


def scenario(node: NodeThread) -> dict[str, Any]:
    """slot 1: one tx; slot 2: two items (manual mode); slot 3: one tx. Returns receipts."""
    assert node.endpoints is not None
    ep = node.endpoints
    a = Web3(Web3.HTTPProvider(ep.rollup_url(901)))
    seq = SequencerClient(ep.base_url)
    a.eth.send_raw_transaction(sign(901, KEYS[0], 0))
    a.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    b = a.eth.send_raw_transaction(sign(901, KEYS[1], 0))
    c = a.eth.send_raw_transaction(sign(901, KEYS[2], 0))
    a.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    a.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
    d = a.eth.send_raw_transaction(sign(901, KEYS[3], 0))
    wait_posted(node)
    return {
        "w3": a,
        "seq": seq,
        "b": b,
        "c": c,
        "d": d,
        "receipt_b": seq.get_bundle(b.to_0x_hex())["receipt"],
    }


def batch_of(client: L1Client, settlement: str, slot: int) -> bytes:
    for batch in posted_batches(client, settlement):
        if batch.first <= slot < batch.first + batch.count:
            return batch.data
    raise AssertionError("slot not posted")


@pytest.mark.parametrize("fault", ["commitment", "data", "mailbox", "state"])
def test_verify_names_the_slot_and_the_challenge_invalidates_it(
    l1: Anvil, fault: str, tmp_path: Path
) -> None:
    # the verifier key is the devnet's own: read from its data dir (one case) or passed
    kept = fault == "state"
    data = {"data_dir": tmp_path, "db": ""} if kept else {}
    node = NodeThread(
        Settings.for_tests(l1_rpc=l1.url, fault=f"{fault}:2", challenge_window=100, **data)
    )
    node.start()
    verifier = ["--data-dir", str(tmp_path)]
    if not kept:
        verifier = ["--verifier-key", "0x" + node.node.keys.verifier.hex()]
    try:
        s = scenario(node)
        if kept:  # without the verifier key, or with a guessed one, nothing is attested
            for wrong in (["--data-dir", str(tmp_path / "elsewhere")], ["--verifier-key", OLD]):
                refused = subprocess.run(
                    [str(EXE), "verify", "--l1-rpc", l1.url, "--challenge", *wrong],
                    capture_output=True,
                    text=True,
                    timeout=300,
                )
                assert refused.returncode == 2 and "cannot attest" in refused.stdout, refused
        done = subprocess.run(
            [str(EXE), "verify", "--l1-rpc", l1.url, "--challenge", *verifier],
            capture_output=True,
            text=True,
            timeout=300,
        )
        kind = {"commitment": "data", "data": "data", "mailbox": "mailbox", "state": "state"}
        expected = f"BAD slot 2 ({kind[fault]}):"
        assert done.returncode == 1 and expected in done.stdout, done.stdout + done.stderr
        assert "accepted on L1" in done.stdout
        client = L1Client(l1.url)
        settlement = s["seq"].info()["l1"]["settlement"]
        assert [status(client, settlement, n) for n in (1, 2, 3)] == [1, 3, 3]
        # xseqd rolls back to slot 1 and carries on (shared fate: b, c, d are gone)
        deadline = time.time() + 20
        while node.node.sequencer.head_slot > 1 and time.time() < deadline:
            time.sleep(0.05)
        w3 = s["w3"]
        assert node.node.sequencer.head_slot == 1
        for gone in (s["b"], s["c"], s["d"]):
            with pytest.raises(TransactionNotFound):
                w3.eth.get_transaction_receipt(gone)
            # the user can still see what happened to it
            assert s["seq"].get_bundle(gone.to_0x_hex())["status"] == "invalidated"
        assert w3.eth.get_transaction_count(KEYS[1].address) == 0
        node.node.poster.fault = ""  # type: ignore[union-attr]
        again = w3.eth.send_raw_transaction(sign(901, KEYS[1], 0))  # slot 2 again, honestly
        assert w3.eth.wait_for_transaction_receipt(again, poll_latency=0.02).blockNumber == 2
        wait_posted(node)
        assert status(client, settlement, 2) == 1
    finally:
        node.stop()


def test_a_dishonoured_order_receipt_is_slashed(l1: Anvil) -> None:
    node = NodeThread(Settings.for_tests(l1_rpc=l1.url, fault="order:2", challenge_window=100))
    node.start()
    try:
        s = scenario(node)
        client = L1Client(l1.url)
        settlement = s["seq"].info()["l1"]["settlement"]
        receipt = OrderReceipt.from_json(s["receipt_b"])
        assert receipt.slot == 2 and receipt.index == 0
        who = challenger()
        before = int(client.call("eth_getBalance", who.address, "latest"), 16)
        tx = challenge_receipt(client, who, settlement, batch_of(client, settlement, 2), receipt)
        assert status(client, settlement, 2) == 3
        after = int(client.call("eth_getBalance", who.address, "latest"), 16)
        gas = int(tx["gasUsed"], 16) * int(tx["effectiveGasPrice"], 16)
        assert after - before + gas == 10 * 10**18  # the sequencer's bond
    finally:
        node.stop()


def test_honest_slots_are_never_successfully_challenged(l1: Anvil) -> None:
    node = NodeThread(Settings.for_tests(l1_rpc=l1.url, challenge_window=100))
    node.start()
    try:
        s = scenario(node)
        client = L1Client(l1.url)
        settlement = s["seq"].info()["l1"]["settlement"]
        data = batch_of(client, settlement, 2)
        who = challenger()
        receipt = OrderReceipt.from_json(s["receipt_b"])
        attempts = [
            lambda: challenge_data(client, who, settlement, 2, data),
            lambda: challenge_mailbox(client, who, settlement, 2, data, (0, 1)),
            lambda: challenge_mailbox(client, who, settlement, 2, data, (1, 0)),
            lambda: challenge_receipt(client, who, settlement, data, receipt),
            lambda: attest(client, who, Account.create().key, settlement, 2, b"\x00" * 32),
        ]
        for attempt in attempts:
            with pytest.raises(L1Error):
                attempt()
        assert [status(client, settlement, n) for n in (1, 2, 3)] == [1, 1, 1]
        done = subprocess.run(
            [str(EXE), "verify", "--l1-rpc", l1.url], capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0 and "OK: 3 slots" in done.stdout, done.stdout
    finally:
        node.stop()

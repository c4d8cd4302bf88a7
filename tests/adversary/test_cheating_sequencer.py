"""A cheating sequencer (dev-only ``--fault KIND:N``, one row per kind): ``xseqd verify``
names the slot and the kind of fault, the challenge that proves it succeeds on L1 (the
contract alone for data, mailbox and receipt faults; the verifier's attestation for a
re-execution fault), the sequencer's bond is paid to the challenger, the slot and every
later one is invalidated, and every rollup rolls back and carries on. A batch that leaves
a rollup or a slot out is refused by Settlement.post itself. Must never happen: a
misbehaviour that stays committed, unnamed or unpunished.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from web3.exceptions import TransactionNotFound

from tests.adversary.support import (
    INVALIDATED,
    OLD_VERIFIER_KEY,
    SAFE,
    assert_bond_paid,
    batch_of,
    bond,
    receipt_call,
    rollup,
    scenario,
    sequencer,
    settled_devnet,
    settlement_of,
    slot_status,
    submit,
    verify_cli,
    wait_for,
    wait_safe,
)
from tests.l1.test_settlement import KEYS, sign, wait_posted
from xseqd.core.order import OrderReceipt
from xseqd.l1.anvil import Anvil
from xseqd.l1.client import L1Client
from xseqd.l1.settlement import SEQUENCER_BOND, Settlement
from xseqd.node import NodeThread

# fault injected on slot 2 -> what `xseqd verify` names, and who proves it on L1
CAUGHT = {
    "commitment": ("data", "challengeData"),
    "data": ("data", "challengeData"),
    "mailbox": ("mailbox", "challengeMailbox"),
    "state": ("state", "attest"),
    # the items posted in reverse order: the re-executed block differs, the receipt breaks
    "order": ("state", "challengeReceipt"),
    # a receipted item posted as not included: re-executed as aborted, it would apply
    "flip": ("execution", "challengeReceipt"),
}


def carries_on(node: NodeThread, l1: Anvil, s: dict[str, Any]) -> None:
    """After slots 2.. were invalidated: every rollup is back at slot 1, the items of the
    invalidated slots are gone (and say so), and the devnet settles slot 2 again."""
    wait_for(lambda: node.node.sequencer.head_slot == 1, "the rollback to slot 1")
    a, b = rollup(node, 901), rollup(node, 902)
    assert a.eth.block_number == b.eth.block_number == 1
    for gone in (s["b"], s["c"], s["d"]):
        with pytest.raises(TransactionNotFound):
            a.eth.get_transaction_receipt(gone)
    assert sequencer(node).get_bundle(s["b"].to_0x_hex())["status"] == "invalidated"
    assert a.eth.get_transaction_count(KEYS[1].address) == 0
    poster = node.node.poster
    assert poster is not None
    poster.fault = ""
    again = a.eth.send_raw_transaction(sign(901, KEYS[1], 0))  # slot 2 again, honestly
    assert a.eth.wait_for_transaction_receipt(again, poll_latency=0.02).blockNumber == 2
    b.eth.send_raw_transaction(sign(902, KEYS[1], 0))
    wait_posted(node)
    contract = Settlement(L1Client(l1.url), poster.address)
    head = node.node.sequencer.head_slot
    assert [contract.status(n) for n in range(1, head + 1)] == [SAFE] * head
    assert contract.epoch() == node.node.sequencer.book.epoch == 1  # receipts are given anew
    # it could only post again by bonding again: a second fault would cost it again
    assert contract.bond() == SEQUENCER_BOND
    code, out = verify_cli("--l1-rpc", l1.url, "--settlement", poster.address)
    assert code == 0 and f"OK: {head} slots re-executed" in out, out


@pytest.mark.parametrize("fault", list(CAUGHT))
def test_a_cheating_sequencer_never_goes_unpunished(l1: Anvil, fault: str, tmp_path: Path) -> None:
    kind, proof = CAUGHT[fault]
    # the verifier key is the devnet's own: read from its data dir (one case) or passed
    kept = fault == "state"
    data = {"data_dir": tmp_path, "db": ""} if kept else {}
    with settled_devnet(l1.url, fault=f"{fault}:2", **data) as node:
        s = scenario(node)
        wait_safe(node, 3)
        client = L1Client(l1.url)
        settlement = settlement_of(node)
        target = ["--l1-rpc", l1.url, "--settlement", settlement]
        # the verifier names the slot and the fault, and the slots before it are fine
        code, out = verify_cli(*target)
        expected = f"BAD slot 2 ({kind}):"
        assert code == 1 and expected in out and "(1 slots re-executed" in out, out
        assert bond(client, settlement) == SEQUENCER_BOND
        if proof == "challengeReceipt":  # the user's own receipt is the proof
            receipt = OrderReceipt.from_json(s["receipt_b"])
            assert (receipt.slot, receipt.index, receipt.epoch) == (2, 0, 0)
            call = receipt_call(2, batch_of(client, settlement, 2), receipt)
            tx_hash = submit(client, settlement, call)["transactionHash"]
        else:
            key = ["--data-dir", str(tmp_path)]
            if not kept:
                key = ["--verifier-key", "0x" + node.node.keys.verifier.hex()]
            else:  # without the verifier key, or with a guessed one, nothing is attested
                for wrong in (
                    ["--data-dir", str(tmp_path / "elsewhere")],
                    ["--verifier-key", "0x" + OLD_VERIFIER_KEY.hex()],
                ):
                    code, out = verify_cli(*target, "--challenge", *wrong)
                    assert code == 2 and "cannot attest" in out, out
                    assert slot_status(client, settlement, 2) == SAFE
            code, out = verify_cli(*target, "--challenge", *key)
            assert code == 1 and expected in out, out
            word = "attestation" if proof == "attest" else "challenge"
            found = re.search(rf"{word} accepted on L1 in tx (0x[0-9a-f]{{64}})", out)
            assert found is not None, out
            tx_hash = found.group(1)
        assert_bond_paid(client, settlement, tx_hash, 2)
        assert [slot_status(client, settlement, n) for n in (1, 2, 3)] == [
            SAFE,
            INVALIDATED,
            INVALIDATED,
        ]
        carries_on(node, l1, s)


@pytest.mark.parametrize(
    ("fault", "why"), [("omit-rollup", "rollup set"), ("skip-slot", "slot numbers")]
)
def test_a_batch_leaving_out_a_rollup_or_a_slot_is_never_committed(
    l1: Anvil, fault: str, why: str
) -> None:
    with settled_devnet(l1.url, fault=f"{fault}:2") as node:
        a, b = rollup(node, 901), rollup(node, 902)
        a.eth.send_raw_transaction(sign(901, KEYS[0], 0))
        wait_safe(node, 1)
        a.eth.send_raw_transaction(sign(901, KEYS[1], 0))  # slot 2
        b.eth.send_raw_transaction(sign(902, KEYS[1], 0))  # slot 3
        poster = node.node.poster
        assert poster is not None
        wait_for(lambda: poster.last_error is not None, "the poster's refusal")
        # the poster says why, readably, where users look
        error = sequencer(node).info()["l1"]["lastError"]
        assert "BadBatch" in error and why in error and "\x00" not in error, repr(error)
        client, settlement = L1Client(l1.url), poster.address
        contract = Settlement(client, settlement)
        assert contract.next_slot() == 2
        assert [slot_status(client, settlement, n) for n in (1, 2, 3)] == [SAFE, 0, 0]
        assert sequencer(node).get_slot(2)["l1"]["status"] == "pending"
        assert a.eth.get_block("safe").number == 1
        assert bond(client, settlement) == SEQUENCER_BOND
        code, out = verify_cli("--l1-rpc", l1.url, "--settlement", settlement)
        assert code == 0 and "OK: 1 slots re-executed" in out, out

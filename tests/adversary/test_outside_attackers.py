"""Outside attackers on an honest chain: whatever they cite (the posted data, a pair of
rollups, a genuine receipt from another deployment or an earlier epoch, a replayed or
guessed attestation) every challenge fails, the sequencer's bond is untouched and the
slots stay safe; cheat methods cannot rewrite history already committed on L1, and a
rewind of history not yet posted opens a new receipt epoch on L1. Must never happen: an
honest slot successfully challenged.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from eth_account import Account
from web3.exceptions import TransactionNotFound

from tests.adversary.support import (
    SAFE,
    assert_bond_paid,
    batch_of,
    bond,
    posting_held,
    receipt_call,
    refused,
    rollup,
    rpc,
    scenario,
    sequencer,
    settled_devnet,
    settlement_of,
    simulated,
    slot_status,
    submit,
    verify_cli,
    wait_head,
    wait_safe,
)
from tests.l1.test_settlement import free_port, sign, wait_posted
from xseqd.abi import calldata, event_topic
from xseqd.accounts import dev_accounts
from xseqd.core.order import OrderReceipt, ReceiptDomain, sign_receipt, verify_receipt
from xseqd.l1.anvil import Anvil
from xseqd.l1.client import L1Client, L1Error
from xseqd.l1.settlement import SEQUENCER_BOND, Settlement
from xseqd.node import NodeThread
from xseqd.verify.challenge import attestation

KEYS = dev_accounts(10)
HISTORY_SETTLED = -38020
EPOCH_OPENED = "0x" + event_topic("Settlement", "EpochOpened").hex()


def test_honest_slots_are_never_successfully_challenged(l1: Anvil) -> None:
    with settled_devnet(l1.url) as node:
        s = scenario(node)
        wait_safe(node, 3)
        client, settlement = L1Client(l1.url), settlement_of(node)
        data = batch_of(client, settlement, 2)
        receipt = OrderReceipt.from_json(s["receipt_b"])
        guessed = attestation(Account.create().key, 900, settlement, 2, b"\x00" * 32)
        attempts = {
            "challengeData": calldata("Settlement", "challengeData", 2, data),
            "challengeMailbox 0->1": calldata("Settlement", "challengeMailbox", 2, data, 0, 1),
            "challengeMailbox 1->0": calldata("Settlement", "challengeMailbox", 2, data, 1, 0),
            "challengeReceipt": receipt_call(2, data, receipt),
            "attest": calldata("Settlement", "attest", 2, guessed),
        }
        for name, call in attempts.items():
            value = 0 if name == "attest" else 10**18
            assert "NotAFault" in simulated(client, settlement, call, value), name
            with pytest.raises(L1Error):
                submit(client, settlement, call, value)
        assert [slot_status(client, settlement, n) for n in (1, 2, 3)] == [SAFE] * 3
        assert bond(client, settlement) == SEQUENCER_BOND
        code, out = verify_cli("--l1-rpc", l1.url, "--settlement", settlement)
        assert code == 0 and "OK: 3 slots re-executed" in out, out


# -- two deployments of one operator on one L1 -----------------------------------------


@dataclass(frozen=True)
class Deployments:
    """Devnets A and B, one after the other on one L1, with the same sequencer and
    verifier keys (an operator reusing them): only the binding of receipts and
    attestations to their deployment tells A's from B's. Two slots each, other items."""

    client: L1Client
    a: str
    b: str
    sequencer_key: bytes
    verifier_key: bytes
    receipts: dict[str, list[OrderReceipt]]


@pytest.fixture(scope="module")
def deployments() -> Iterator[Deployments]:
    anvil = Anvil(free_port(), 900)
    anvil.start()
    try:
        operator, verifier = Account.create(), Account.create()
        keys = {"sequencer_key": operator.key.hex(), "verifier_key": verifier.key.hex()}
        settlements: dict[str, str] = {}
        receipts: dict[str, list[OrderReceipt]] = {}
        for name, senders in (("a", (0, 1)), ("b", (2, 3))):
            with settled_devnet(anvil.url, **keys) as node:
                seq = sequencer(node)
                receipts[name] = []
                for slot, who in enumerate(senders, start=1):
                    got = seq.send_bundle([sign(901, KEYS[who], 0)])["receipt"]
                    receipts[name].append(OrderReceipt.from_json(got))
                    wait_head(node, slot)
                wait_posted(node)
                settlements[name] = settlement_of(node)
        assert [r.slot for r in receipts["a"] + receipts["b"]] == [1, 2, 1, 2]
        yield Deployments(
            L1Client(anvil.url),
            settlements["a"],
            settlements["b"],
            bytes(operator.key),
            bytes(verifier.key),
            receipts,
        )
    finally:
        anvil.stop()


def unharmed(d: Deployments) -> None:
    for settlement in (d.a, d.b):
        assert [slot_status(d.client, settlement, n) for n in (1, 2)] == [SAFE, SAFE]
        assert bond(d.client, settlement) == SEQUENCER_BOND


def domain(settlement: str) -> ReceiptDomain:
    return ReceiptDomain(900, bytes.fromhex(settlement[2:]))


def test_a_receipt_from_another_deployment_never_slashes(deployments: Deployments) -> None:
    d = deployments
    genuine = d.receipts["a"][0]  # A's receipt for its slot 1, epoch 0
    operator = Account.from_key(d.sequencer_key).address
    assert verify_receipt(genuine, operator, domain(d.a))
    assert Settlement(d.client, d.b).slot(1).epoch == genuine.epoch == 0
    data_b = batch_of(d.client, d.b, 1)  # B's slot 1 holds another item
    call = receipt_call(1, data_b, genuine)
    assert "not signed by the sequencer" in simulated(d.client, d.b, call)
    with pytest.raises(L1Error):
        submit(d.client, d.b, call)
    # on its own deployment it is honoured
    data_a = batch_of(d.client, d.a, 1)
    assert "receipt honoured" in simulated(d.client, d.a, receipt_call(1, data_a, genuine))
    # the same promise signed for B would be a proof: the domain is what stops it
    for_b = sign_receipt(replace(genuine, signature=b""), d.sequencer_key, domain(d.b))
    assert simulated(d.client, d.b, receipt_call(1, data_b, for_b)) == ""
    unharmed(d)


REPLAYS = {
    # what the verifier signed (deployment, slot, commitment of, L1 chain id) -> cited as
    "another-slot": (("a", 1, ("a", 1), 900), ("a", 2)),
    "another-deployment": (("a", 1, ("a", 1), 900), ("b", 1)),
    "another-commitment": (("a", 1, ("b", 1), 900), ("a", 1)),
    "another-l1": (("a", 1, ("a", 1), 1), ("a", 1)),
}


@pytest.mark.parametrize("replay", list(REPLAYS))
def test_a_replayed_attestation_never_invalidates(deployments: Deployments, replay: str) -> None:
    d = deployments
    at = {"a": d.a, "b": d.b}
    (signed_at, signed_slot, (of, of_slot), chain), (cited_at, cited_slot) = REPLAYS[replay]
    commitment = Settlement(d.client, at[of]).slot(of_slot).commitment
    signature = attestation(d.verifier_key, chain, at[signed_at], signed_slot, commitment)
    call = calldata("Settlement", "attest", cited_slot, signature)
    assert "not the verifier" in simulated(d.client, at[cited_at], call, value=0)
    with pytest.raises(L1Error):
        submit(d.client, at[cited_at], call, value=0)
    # the genuine attestation of the cited slot would be accepted: the binding stops it
    own = Settlement(d.client, at[cited_at]).slot(cited_slot).commitment
    genuine = attestation(d.verifier_key, 900, at[cited_at], cited_slot, own)
    accepted = calldata("Settlement", "attest", cited_slot, genuine)
    assert simulated(d.client, at[cited_at], accepted, value=0) == ""
    unharmed(d)


# -- epochs: history rewound, by a challenge or by evm_revert ------------------------------


def old_receipts_prove_nothing(
    node: NodeThread, client: L1Client, settlement: str, old: list[OrderReceipt]
) -> None:
    """Receipts of the dropped slots (epoch 0) against the re-posted slots (epoch 1):
    refused for their epoch alone; re-signed for epoch 1 the same promise would win."""
    for receipt in old:
        data = batch_of(client, settlement, receipt.slot)
        call = receipt_call(receipt.slot, data, receipt)
        assert "receipt of another epoch" in simulated(client, settlement, call)
        with pytest.raises(L1Error):
            submit(client, settlement, call)
        assert slot_status(client, settlement, receipt.slot) == SAFE
    data = batch_of(client, settlement, old[-1].slot)
    again = sign_receipt(
        replace(old[-1], epoch=1, signature=b""),
        node.node.keys.sequencer,
        node.node.sequencer.book.domain,
    )
    assert simulated(client, settlement, receipt_call(old[-1].slot, data, again)) == ""


def test_a_receipt_of_an_old_epoch_never_slashes_the_reposted_slot(l1: Anvil) -> None:
    """A --fault run: slot 2 is challenged (2 and 3 invalidated, epoch 1), the devnet
    posts slots 2 and 3 again with other items: the receipts users got for the old
    slots 2 and 3 cannot slash the new ones."""
    with settled_devnet(l1.url, fault="data:2") as node:
        s = scenario(node)
        wait_safe(node, 3)
        client, settlement = L1Client(l1.url), settlement_of(node)
        call = calldata("Settlement", "challengeData", 2, batch_of(client, settlement, 2))
        assert_bond_paid(client, settlement, submit(client, settlement, call)["transactionHash"], 2)
        wait_head(node, 1)
        assert node.node.poster is not None
        node.node.poster.fault = ""
        b = rollup(node, 902)
        for who in (1, 2):  # slots 2 and 3 again: other items (on 902)
            b.eth.send_raw_transaction(sign(902, KEYS[who], 0))
            wait_head(node, who + 1)
        wait_posted(node)
        assert Settlement(client, settlement).epoch() == 1
        assert [slot_status(client, settlement, n) for n in (1, 2, 3)] == [SAFE] * 3
        old = [OrderReceipt.from_json(s[f"receipt_{k}"]) for k in "bcd"]
        assert [(r.slot, r.epoch) for r in old] == [(2, 0), (2, 0), (3, 0)]
        old_receipts_prove_nothing(node, client, settlement, old)
        # paid once, to the one real challenge; bonded again to post; the old receipts
        # took nothing of the new bond
        assert bond(client, settlement) == SEQUENCER_BOND


def test_evm_revert_of_unposted_slots_opens_a_new_epoch_and_old_receipts_prove_nothing(
    l1: Anvil,
) -> None:
    with settled_devnet(l1.url) as node:
        a, b, seq = rollup(node, 901), rollup(node, 902), sequencer(node)
        client, settlement = L1Client(l1.url), settlement_of(node)
        a.eth.send_raw_transaction(sign(901, KEYS[0], 0))
        wait_safe(node, 1)
        with posting_held(node):
            snap = rpc(a, "evm_snapshot")["result"]  # at slot 1, which is on L1
            dropped = []
            for who in (1, 2):  # slots 2 and 3: sealed, not posted
                dropped.append(a.eth.send_raw_transaction(sign(901, KEYS[who], 0)))
                wait_head(node, who + 1)
            old = [
                OrderReceipt.from_json(seq.get_bundle(h.to_0x_hex())["receipt"]) for h in dropped
            ]
            assert slot_status(client, settlement, 2) == 0
            assert seq.call("xseq_sequencer")["epoch"] == 0
            assert rpc(a, "evm_revert", snap)["result"] is True
            assert a.eth.block_number == b.eth.block_number == 1
            for gone in dropped:
                with pytest.raises(TransactionNotFound):
                    a.eth.get_transaction_receipt(gone)
            assert seq.call("xseq_sequencer")["epoch"] == 1
            for who in (1, 2):  # slots 2 and 3 of the new epoch, other items
                b.eth.send_raw_transaction(sign(902, KEYS[who], 0))
                wait_head(node, who + 1)
        wait_posted(node)
        contract = Settlement(client, settlement)
        assert contract.epoch() == 1
        assert [contract.slot(n).epoch for n in (1, 2, 3)] == [0, 1, 1]
        opened = client.call(
            "eth_getLogs",
            {
                "address": settlement,
                "fromBlock": "0x0",
                "toBlock": "latest",
                "topics": [EPOCH_OPENED],
            },
        )
        assert [(int(e["topics"][1], 16), int(e["data"], 16)) for e in opened] == [(1, 2)]
        old_receipts_prove_nothing(node, client, settlement, old)
        assert bond(client, settlement) == SEQUENCER_BOND
        code, out = verify_cli("--l1-rpc", l1.url, "--settlement", settlement)
        assert code == 0 and "OK: 3 slots re-executed" in out, out


def settled_world(node: NodeThread, client: L1Client, settlement: str) -> dict[str, Any]:
    a, b = rollup(node, 901), rollup(node, 902)
    contract = Settlement(client, settlement)
    return {
        "heads": [(w.eth.block_number, w.eth.get_block("latest").hash) for w in (a, b)],
        "balances": [w.eth.get_balance(KEYS[0].address) for w in (a, b)],
        "epoch": sequencer(node).call("xseq_sequencer")["epoch"],
        "l1": (contract.next_slot(), contract.epoch(), [contract.status(n) for n in (1, 2)]),
    }


def test_evm_revert_never_rewrites_history_committed_on_l1(l1: Anvil) -> None:
    with settled_devnet(l1.url) as node:
        a, b = rollup(node, 901), rollup(node, 902)
        client, settlement = L1Client(l1.url), settlement_of(node)
        before_slot_1 = rpc(a, "evm_snapshot")["result"]
        a.eth.send_raw_transaction(sign(901, KEYS[0], 0))
        wait_safe(node, 1)
        at_slot_1 = rpc(b, "evm_snapshot")["result"]
        b.eth.send_raw_transaction(sign(902, KEYS[0], 0))
        wait_safe(node, 2)
        before = settled_world(node, client, settlement)
        for snap in (before_slot_1, at_slot_1):
            error = refused(a, "evm_revert", snap)
            assert error["code"] == HISTORY_SETTLED, error
            assert "committed on L1" in error["message"] and settlement in error["message"]
        assert settled_world(node, client, settlement) == before


def test_time_never_runs_backwards_while_settling(l1: Anvil) -> None:
    with settled_devnet(l1.url) as node:
        a = rollup(node, 901)
        a.eth.send_raw_transaction(sign(901, KEYS[0], 0))
        wait_safe(node, 1)
        head = a.eth.get_block("latest")
        for method, ts in (
            ("evm_setNextBlockTimestamp", head.timestamp - 1),
            ("evm_setNextBlockTimestamp", head.timestamp),
            ("evm_mine", head.timestamp - 1),
        ):
            assert refused(a, method, hex(ts))["code"] == -32602, (method, ts)
        assert a.eth.get_block("latest").hash == head.hash
        assert a.eth.get_block("safe").number == 1


GATE = "0x000000000000000000000000000000000000A7E0"


def gate_code(deadline: int) -> str:
    """Runtime code of ``require(block.timestamp < deadline)``, and nothing else."""
    # PUSH8 deadline TIMESTAMP LT PUSH1 0x11 JUMPI PUSH0 PUSH0 REVERT JUMPDEST STOP
    return "0x67" + deadline.to_bytes(8, "big").hex() + "4210601157" + "5f5ffd" + "5b00"


def call_gate(w3: Any, who: int) -> str:
    tx = {
        "chainId": w3.eth.chain_id,
        "nonce": w3.eth.get_transaction_count(KEYS[who].address, "pending"),
        "to": GATE,
        "value": 0,
        "gas": 60_000,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 1,
    }
    return "0x" + bytes(Account.sign_transaction(tx, KEYS[who].key).raw_transaction).hex()


def test_evm_mine_with_a_timestamp_never_breaks_an_ordered_bundle(l1: Anvil) -> None:
    """Manual mode: a bundle is ordered, receipted and executed as included at the open
    slot's time; `evm_mine(ts)` would re-run the slot at a time its leg reverts. Refused:
    the slot keeps its time and the bundle stays whole. Must never happen: an included
    bundle with a reverted leg, and with it an honest slot the verifier reports bad (its
    attestation would slash the sequencer's bond)."""
    with settled_devnet(l1.url) as node:
        a, seq = rollup(node, 901), sequencer(node)
        rpc(a, "evm_mine")
        deadline = a.eth.get_block("latest").timestamp + 1000
        assert "error" not in rpc(a, "anvil_setCode", GATE, gate_code(deadline))
        rpc(a, "evm_setAutomine", False)
        result = seq.send_bundle([call_gate(a, 0)])
        assert result["status"] == "included"
        error = refused(a, "evm_mine", hex(deadline + 10))
        assert error["code"] == -32602 and result["bundleHash"] in error["message"], error
        assert "ordered as included" in error["message"], error
        # a time at which every item ends as ordered is fine (hardhat-style evm_mine(ts))
        plain = a.eth.send_raw_transaction(sign(901, KEYS[1], 0))
        ts = a.eth.get_block("latest").timestamp + 50
        assert "error" not in rpc(a, "evm_mine", hex(ts))
        rpc(a, "evm_setAutomine", True)
        block = a.eth.get_block("latest")
        assert block.timestamp == ts < deadline
        leg = result["legs"][0]["txHash"]
        assert a.eth.get_transaction_receipt(leg).status == 1
        assert a.eth.get_transaction_receipt(plain).blockNumber == block.number
        wait_posted(node)
        head = node.node.sequencer.head_slot
        code, out = verify_cli("--l1-rpc", l1.url, "--settlement", settlement_of(node))
        assert code == 0 and f"OK: {head} slots re-executed" in out, out

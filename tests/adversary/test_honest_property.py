"""Property: on random honest runs (plain transactions, reverting ones, bundles that are
included and bundles that abort, cross-rollup messages and a bundle whose message fails,
queued nonces, L1 deposits (some whose call reverts), legitimate cheat methods: setCode,
setBalance, impersonation, evm_mine, evm_snapshot/evm_revert (allowed before the slot is
posted, refused after)) `xseqd verify`
says OK about every slot, and no challenge of any kind succeeds: challengeData and
challengeMailbox (both directions) on every slot, challengeReceipt with every receipt
the run got, attest with a random key. Must never happen: an honest run reported bad,
or an honest slot successfully challenged.

Six examples against a real anvil by default; ``XSEQD_LONG=1`` (``make fuzz``) runs 60.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3 import Web3

from tests.adversary.support import (
    MAILBOX,
    SAFE,
    batch_of,
    bond,
    receipt_call,
    rollup,
    rpc,
    sequencer,
    settled_devnet,
    settlement_of,
    simulated,
    slot_status,
    submit,
    verify_cli,
    wait_for,
    wait_head,
)
from tests.conftest import artifact
from tests.l1.bridge import DEPOSITOR, deposit, l1_web3, mailbox, portal
from tests.l1.test_settlement import free_port, wait_posted
from xseqd.abi import calldata
from xseqd.accounts import dev_accounts
from xseqd.core.order import OrderReceipt
from xseqd.l1.anvil import Anvil
from xseqd.l1.client import L1Client, L1Error
from xseqd.l1.settlement import SEQUENCER_BOND, Settlement
from xseqd.verify.challenge import attestation

EXAMPLES = 60 if os.environ.get("XSEQD_LONG") == "1" else 6
KEYS = dev_accounts(5)
CHAINS = (901, 902)
SINK = Web3.to_checksum_address("0x00000000000000000000000000000000000a11ce")
BOB = Web3.to_checksum_address("0x00000000000000000000000000000000000b0b00")
REVERTER = Web3.to_checksum_address("0x000000000000000000000000000000000000dead")
IMPERSONATED = Web3.to_checksum_address("0x00000000000000000000000000000000000c0ffe")
REVERT_CODE = "0x5f5ffd"  # PUSH0 PUSH0 REVERT
MAILBOX_ABI = artifact("Mailbox")["abi"]

STEPS = (
    "tx",
    "reverting-tx",
    "bundle",
    "aborted-bundle",
    "message",
    "failing-message-bundle",
    "set-balance",
    "impersonated-tx",
    "nonce-gap",
    "rewind",
    "mine",
    "deposit",
)
step = st.tuples(st.sampled_from(STEPS), st.sampled_from(CHAINS), st.integers(0, 4))


@pytest.fixture(scope="module")
def shared_l1() -> Iterator[Anvil]:
    """One anvil for every example; each example deploys its own Settlement on it."""
    anvil = Anvil(free_port(), 900)
    anvil.start()
    yield anvil
    anvil.stop()


def other(chain: int) -> int:
    return CHAINS[1 - CHAINS.index(chain)]


def signed(w3: Web3, who: int, to: str, value: int = 1, data: bytes = b"", ahead: int = 0) -> str:
    key = KEYS[who]
    tx = {
        "chainId": w3.eth.chain_id,
        "nonce": w3.eth.get_transaction_count(key.address, "pending") + ahead,
        "to": to,
        "value": value,
        "data": data,
        "gas": 300_000,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 1,
    }
    return "0x" + bytes(Account.sign_transaction(tx, key.key).raw_transaction).hex()


def message(w3: Web3, destination: int, target: str) -> bytes:
    mailbox = w3.eth.contract(MAILBOX, abi=MAILBOX_ABI)
    return bytes.fromhex(
        mailbox.functions.send(destination, target, b"")._encode_transaction_data()[2:]
    )


def run_step(node: Any, kind: str, chain: int, who: int) -> list[dict[str, Any]]:
    """Do one step; the order receipts it got (as JSON)."""
    w3, seq = rollup(node, chain), sequencer(node)
    mate = (who + 1) % len(KEYS)
    tx_hash: Any = None
    if kind == "tx":
        tx_hash = w3.eth.send_raw_transaction(signed(w3, who, SINK))
    elif kind == "reverting-tx":  # included with status 0, pays gas
        tx_hash = w3.eth.send_raw_transaction(signed(w3, who, REVERTER))
        assert w3.eth.get_transaction_receipt(tx_hash).status == 0
    elif kind in ("bundle", "aborted-bundle"):
        w3b = rollup(node, other(chain))
        last = signed(w3b, mate, REVERTER if kind == "aborted-bundle" else SINK)
        result = seq.send_bundle([signed(w3, who, SINK), last])
        assert result["status"] == ("aborted" if kind == "aborted-bundle" else "included")
        return [result["receipt"]]
    elif kind == "message":
        data = message(w3, other(chain), BOB)
        tx_hash = w3.eth.send_raw_transaction(signed(w3, who, MAILBOX, 10**15, data))
        assert w3.eth.get_transaction_receipt(tx_hash).status == 1
    elif kind == "failing-message-bundle":  # the action reverts on the other rollup
        data = message(w3, other(chain), REVERTER)
        result = seq.send_bundle([signed(w3, who, MAILBOX, 10**15, data)])
        assert result["status"] == "aborted"
        return [result["receipt"]]
    elif kind == "set-balance":
        assert "error" not in rpc(w3, "anvil_setBalance", BOB, hex(10**18 + who))
    elif kind == "impersonated-tx":
        reply = rpc(w3, "eth_sendTransaction", {"from": IMPERSONATED, "to": SINK, "value": "0x1"})
        tx_hash = reply["result"]
    elif kind == "nonce-gap":  # the later nonce waits in the queue, then is promoted
        later = w3.eth.send_raw_transaction(signed(w3, who, SINK, ahead=1))
        tx_hash = w3.eth.send_raw_transaction(signed(w3, who, SINK))
        return [seq.get_bundle(h.to_0x_hex())["receipt"] for h in (tx_hash, later)]
    elif kind == "rewind":  # allowed while the slot is unposted (new epoch), else -38020
        snap = rpc(w3, "evm_snapshot")["result"]
        tx_hash = w3.eth.send_raw_transaction(signed(w3, who, SINK))
        receipt = seq.get_bundle(tx_hash.to_0x_hex())["receipt"]
        reply = rpc(w3, "evm_revert", snap)
        assert reply.get("result") is True or reply["error"]["code"] == -38020, reply
        return [receipt]
    elif kind == "deposit":  # from the L1 Portal; some with a call that reverts
        l1 = l1_web3(node.node.l1_url)
        count = mailbox(w3).functions.inboxCount(900).call()
        target, data = (MAILBOX, b"\xde\xad") if who % 2 else (BOB, b"")
        deposit(l1, portal(l1, node), DEPOSITOR, chain, target, 10**15, data)
        wait_for(lambda: mailbox(w3).functions.inboxCount(900).call() == count + 1, "deposit")
    else:
        assert "error" not in rpc(w3, "evm_mine")
    if tx_hash is None:
        return []
    found = seq.get_bundle(tx_hash if isinstance(tx_hash, str) else tx_hash.to_0x_hex())
    return [found["receipt"]]


def refused_everywhere(
    client: L1Client, settlement: str, head: int, epoch: int, receipts: list[Any]
) -> None:
    """Every challenge, simulated on every slot: NotAFault; one of each kind sent for
    real fails as well. ``epoch`` is the sequencer's (L1 opens it with the next post)."""
    contract = Settlement(client, settlement)
    stranger = Account.create().key
    last: dict[str, bytes] = {}
    for n in range(1, head + 1):
        data = batch_of(client, settlement, n)
        guessed = attestation(stranger, 900, settlement, n, contract.slot(n).commitment)
        calls = {
            "data": calldata("Settlement", "challengeData", n, data),
            "mailbox 0->1": calldata("Settlement", "challengeMailbox", n, data, 0, 1),
            "mailbox 1->0": calldata("Settlement", "challengeMailbox", n, data, 1, 0),
            "attest": calldata("Settlement", "attest", n, guessed),
        }
        for name, call in calls.items():
            value = 0 if name == "attest" else 10**18
            assert "NotAFault" in simulated(client, settlement, call, value), (name, n)
            last[name] = call
    for doc in receipts:
        receipt = OrderReceipt.from_json(doc)
        if receipt.slot > head:  # given for a slot a rewind dropped, not sealed again
            assert receipt.epoch < epoch and contract.status(receipt.slot) == 0
            continue
        call = receipt_call(receipt.slot, batch_of(client, settlement, receipt.slot), receipt)
        said = simulated(client, settlement, call)
        if receipt.epoch == contract.slot(receipt.slot).epoch:
            assert "receipt honoured" in said, (receipt, said)
        else:  # given before a rewind: another epoch
            assert "receipt of another epoch" in said, (receipt, said)
        last["receipt"] = call
    for name, call in last.items():
        with pytest.raises(L1Error):
            submit(client, settlement, call, 0 if name == "attest" else 10**18)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps=st.lists(step, min_size=1, max_size=8))
def test_honest_runs_are_never_reported_bad_nor_successfully_challenged(
    shared_l1: Anvil, steps: list[tuple[str, int, int]]
) -> None:
    with settled_devnet(shared_l1.url) as node:
        for chain in CHAINS:  # legitimate cheat methods, as items of the order
            w3 = rollup(node, chain)
            assert "error" not in rpc(w3, "anvil_setCode", REVERTER, REVERT_CODE)
            assert "error" not in rpc(w3, "anvil_setBalance", IMPERSONATED, hex(10**19))
            assert "error" not in rpc(w3, "anvil_impersonateAccount", IMPERSONATED)
        receipts: list[Any] = []
        for kind, chain, who in steps:
            receipts += run_step(node, kind, chain, who)
        wait_posted(node)
        head = node.node.sequencer.head_slot
        wait_head(node, head)
        client, settlement = L1Client(shared_l1.url), settlement_of(node)
        code, out = verify_cli("--l1-rpc", shared_l1.url, "--settlement", settlement)
        assert code == 0 and f"OK: {head} slots re-executed" in out, (steps, out)
        epoch = node.node.sequencer.book.epoch
        refused_everywhere(client, settlement, head, epoch, receipts)
        assert [slot_status(client, settlement, n) for n in range(1, head + 1)] == [SAFE] * head
        assert bond(client, settlement) == SEQUENCER_BOND

"""Forged cross-rollup deliveries: only the sequencer delivers messages, as its system
account, in the slot of their trigger. The system account's key is public (it is fixed in
Mailbox.sol), so intake must refuse everything that would act as it: a transaction signed
with its key (alone or in a bundle), impersonation, and an EIP-7702 authorization that
would give it code. Must never happen: a delivery nobody sent, an inbox nonce burned,
mailbox roots unpaired, an honest sequencer slashed.
"""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from web3 import Web3

from tests.adversary.support import (
    MAILBOX,
    SYSTEM,
    SYSTEM_KEY,
    batch_of,
    bond,
    refused,
    rollup,
    rpc,
    settled_devnet,
    settlement_of,
    slot_status,
)
from tests.conftest import artifact
from tests.l1.test_settlement import wait_posted
from xseqd.client import SequencerClient, SequencerError
from xseqd.l1.anvil import Anvil
from xseqd.l1.client import L1Client, L1Error
from xseqd.node import NodeThread
from xseqd.verify.challenge import challenge_mailbox, challenger

REFUSED = -38011
THIEF = Web3.to_checksum_address("0x00000000000000000000000000000000000bad01")
BOB = Web3.to_checksum_address("0x00000000000000000000000000000000000b0b01")
FORWARDER = Web3.to_checksum_address("0x000000000000000000000000000000000000f0f0")


def mailbox(w3: Web3) -> Any:
    return w3.eth.contract(MAILBOX, abi=artifact("Mailbox")["abi"])


def forged_deliver(w3: Web3, source: int, nonce: int) -> bytes:
    """Calldata of Mailbox.deliver paying 1 ETH of the mailbox reserve to THIEF."""
    fn = mailbox(w3).functions.deliver(source, nonce, THIEF, THIEF, 10**18, b"")
    return bytes.fromhex(fn._encode_transaction_data()[2:])


def signed_as_system(w3: Web3, data: bytes) -> str:
    tx = {
        "chainId": w3.eth.chain_id,
        "nonce": w3.eth.get_transaction_count(SYSTEM, "pending"),
        "to": MAILBOX,
        "data": data,
        "gas": 500_000,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 0,
    }
    return "0x" + bytes(Account.sign_transaction(tx, SYSTEM_KEY).raw_transaction).hex()


def inbox(w3: Web3, source: int) -> tuple[int, bytes, int, int]:
    """What a forged delivery would change: inbox nonce and root, THIEF, system nonce."""
    box = mailbox(w3).functions
    return (
        box.inboxCount(source).call(),
        bytes(box.inboxRoot(source).call()),
        w3.eth.get_balance(THIEF),
        w3.eth.get_transaction_count(SYSTEM, "pending"),
    )


def send_message(w3: Web3, key: Any, destination: int, to: str, value: int) -> Any:
    fn = mailbox(w3).functions.send(destination, to, b"")
    tx = fn.build_transaction(
        {
            "from": key.address,
            "value": value,
            "gas": 500_000,
            "chainId": w3.eth.chain_id,
            "nonce": w3.eth.get_transaction_count(key.address, "pending"),
            "maxFeePerGas": 10**10,
            "maxPriorityFeePerGas": 10**6,
        }
    )
    raw = Account.sign_transaction(tx, key.key).raw_transaction
    return w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(raw), timeout=10)


def test_nobody_can_deliver_a_message_by_signing_as_the_system_account(
    l1: Anvil, keys: list[Any]
) -> None:
    with settled_devnet(l1.url) as node:
        w3a, w3b = rollup(node, 901), rollup(node, 902)
        before = inbox(w3b, 901)
        error = refused(
            w3b, "eth_sendRawTransaction", signed_as_system(w3b, forged_deliver(w3b, 901, 0))
        )
        assert error["code"] == REFUSED and "system account" in error["message"]
        assert inbox(w3b, 901) == before  # nothing delivered, the inbox nonce not burned
        # a real message still arrives: nonce 0 of 901 -> 902 is still free
        pre = w3b.eth.get_balance(BOB)
        assert send_message(w3a, keys[0], 902, BOB, 10**18).status == 1
        assert w3b.eth.get_balance(BOB) == pre + 10**18
        assert mailbox(w3b).functions.inboxCount(901).call() == before[0] + 1
        wait_posted(node)
        seq = SequencerClient(node.endpoints.base_url)  # type: ignore[union-attr]
        head = node.node.sequencer.head_slot
        for n in range(1, head + 1):
            roots = seq.get_slot(n)["mailboxRoots"]
            assert roots["901"]["902"]["outbox"] == roots["902"]["901"]["inbox"]
            assert roots["902"]["901"]["outbox"] == roots["901"]["902"]["inbox"]
        # and nobody can slash the honest sequencer for unpaired roots
        client, settlement = L1Client(l1.url), settlement_of(node)
        for n in range(1, head + 1):
            data = batch_of(client, settlement, n)
            for pair in ((0, 1), (1, 0)):
                with pytest.raises(L1Error):
                    challenge_mailbox(client, challenger(), settlement, n, data, pair)
        assert [slot_status(client, settlement, n) for n in range(1, head + 1)] == [1] * head
        assert bond(client, settlement) == 10 * 10**18


def test_a_bundle_with_a_system_account_leg_is_rejected_whole(
    devnet: NodeThread, w3a: Web3, w3b: Web3, keys: list[Any]
) -> None:
    assert devnet.endpoints is not None
    seq = SequencerClient(devnet.endpoints.base_url)
    honest = {
        "chainId": 901,
        "nonce": w3a.eth.get_transaction_count(keys[5].address, "pending"),
        "to": BOB,
        "value": 1,
        "gas": 21_000,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 1,
    }
    honest_raw = Account.sign_transaction(honest, keys[5].key).raw_transaction
    forged = signed_as_system(w3b, forged_deliver(w3b, 901, 0))
    head, before = seq.call("xseq_slotNumber"), inbox(w3b, 901)
    with pytest.raises(SequencerError) as refusal:
        seq.send_bundle([honest_raw, forged])
    assert refusal.value.code == REFUSED and "system account" in refusal.value.message
    assert seq.call("xseq_slotNumber") == head  # nothing was ordered
    assert w3a.eth.get_transaction_count(keys[5].address, "pending") == honest["nonce"]
    assert (
        rpc(w3a, "eth_getTransactionByHash", "0x" + Web3.keccak(honest_raw).hex())["result"] is None
    )
    assert inbox(w3b, 901) == before


def test_impersonating_the_system_account_is_refused(w3b: Web3) -> None:
    before = inbox(w3b, 901)
    for method in ("anvil_impersonateAccount", "hardhat_impersonateAccount"):
        error = refused(w3b, method, SYSTEM)
        assert error["code"] == REFUSED and "system account" in error["message"]
    send = {"from": SYSTEM, "to": MAILBOX, "data": "0x" + forged_deliver(w3b, 901, 0).hex()}
    error = refused(w3b, "eth_sendTransaction", send)
    assert error["code"] == REFUSED and "system account" in error["message"]
    assert inbox(w3b, 901) == before


def test_nobody_can_give_the_system_account_code_with_an_eip7702_authorization(
    w3b: Web3, keys: list[Any]
) -> None:
    # FORWARDER passes its calldata on to the mailbox: delegated to, the system account
    # would call deliver() itself
    forward = "365f5f375f5f365f5f73" + MAILBOX[2:].lower() + "5af100"
    assert "result" in rpc(w3b, "anvil_setCode", FORWARDER, "0x" + forward)
    authorization = Account.sign_authorization(
        {
            "chainId": 902,
            "address": FORWARDER,
            "nonce": w3b.eth.get_transaction_count(SYSTEM, "pending"),
        },
        SYSTEM_KEY,
    )
    attacker = keys[6]
    tx = {
        "type": 4,
        "chainId": 902,
        "nonce": w3b.eth.get_transaction_count(attacker.address, "pending"),
        "to": SYSTEM,
        "data": forged_deliver(w3b, 901, mailbox(w3b).functions.inboxCount(901).call()),
        "gas": 500_000,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 1,
        "authorizationList": [authorization],
    }
    raw = Account.sign_transaction(tx, attacker.key).raw_transaction
    before = inbox(w3b, 901)
    error = refused(w3b, "eth_sendRawTransaction", "0x" + bytes(raw).hex())
    assert error["code"] == REFUSED and "system account" in error["message"]
    assert inbox(w3b, 901) == before and w3b.eth.get_code(SYSTEM) == b""


def test_calls_as_the_system_account_are_answered_and_change_nothing(w3b: Web3) -> None:
    """eth_call / eth_estimateGas from the system account stay allowed: they order
    nothing, so they cannot deliver (a dry run of deliver() is useful when debugging)."""
    before = inbox(w3b, 901)
    nonce = mailbox(w3b).functions.inboxCount(901).call()
    call = {"from": SYSTEM, "to": MAILBOX, "data": "0x" + forged_deliver(w3b, 901, nonce).hex()}
    assert "result" in rpc(w3b, "eth_call", call, "latest")
    assert "result" in rpc(w3b, "eth_estimateGas", call)
    assert inbox(w3b, 901) == before

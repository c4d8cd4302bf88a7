"""Cross-rollup calls and instant bridging over the real RPC (web3.py), pre -> action ->
post, and the mailbox invariants:

1. a trigger in slot s succeeded <=> its action is in slot s on the destination and succeeded;
2. no action without a trigger (users cannot deliver), none delivered twice;
3. in every slot, A's outbox root toward B equals B's inbox root from A;
5. a message whose action fails leaves every rollup exactly as before.
(4, conservation, is tests/messaging/test_conservation.py.)
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from eth_account import Account
from web3 import Web3
from web3.exceptions import Web3RPCError

from tests.conftest import artifact
from xseqd.client import SequencerClient
from xseqd.node import NodeThread

MAILBOX = Web3.to_checksum_address("0x4200000000000000000000000000000000000023")
BRIDGE = Web3.to_checksum_address("0x4200000000000000000000000000000000000024")
XRT = Web3.to_checksum_address("0x4200000000000000000000000000000000000025")
XCOUNTER = Web3.to_checksum_address("0x000000000000000000000000000000000000c0c0")


@pytest.fixture(scope="module")
def seq(devnet: NodeThread) -> SequencerClient:
    assert devnet.endpoints is not None
    return SequencerClient(devnet.endpoints.base_url)


@pytest.fixture(scope="module")
def contracts(w3a: Web3, w3b: Web3) -> dict[str, Any]:
    """XCounter at the same address on both rollups, and contract handles per rollup."""
    code = artifact("XCounter")["deployedBytecode"]
    for w3 in (w3a, w3b):
        w3.provider.make_request("anvil_setCode", [XCOUNTER, code])  # type: ignore[arg-type]
    out: dict[str, Any] = {}
    for cid, w3 in ((901, w3a), (902, w3b)):
        out[cid] = {
            "mailbox": w3.eth.contract(MAILBOX, abi=artifact("Mailbox")["abi"]),
            "bridge": w3.eth.contract(BRIDGE, abi=artifact("TokenBridge")["abi"]),
            "xrt": w3.eth.contract(XRT, abi=artifact("ReferenceXToken")["abi"]),
            "counter": w3.eth.contract(XCOUNTER, abi=artifact("XCounter")["abi"]),
        }
    return out


def send(w3: Web3, key: Any, fn: Any, value: int = 0, gas: int = 500_000) -> bytes:
    tx = fn.build_transaction(
        {
            "from": key.address,
            "value": value,
            "gas": gas,
            "chainId": w3.eth.chain_id,
            "nonce": w3.eth.get_transaction_count(key.address, "pending"),
            "maxFeePerGas": 10**10,
            "maxPriorityFeePerGas": 10**6,
        }
    )
    return bytes(w3.eth.send_raw_transaction(Account.sign_transaction(tx, key.key).raw_transaction))


def world(w3a: Web3, w3b: Web3, *addresses: str) -> dict[str, Any]:
    """Everything a dropped message must leave untouched."""
    return {
        cid: {
            "head": w3.eth.get_block("latest")["hash"],
            "balances": [w3.eth.get_balance(a) for a in addresses],
            "nonces": [w3.eth.get_transaction_count(a, "pending") for a in addresses],
        }
        for cid, w3 in ((901, w3a), (902, w3b))
    }


def test_eth_moves_to_another_rollup_in_the_same_slot(
    seq: SequencerClient, w3a: Web3, w3b: Web3, keys: list[Any], contracts: dict[str, Any]
) -> None:
    alice, bob = keys[0], Web3.to_checksum_address("0x00000000000000000000000000000000000b0b00")
    pre = (w3a.eth.get_balance(MAILBOX), w3b.eth.get_balance(MAILBOX), w3b.eth.get_balance(bob))
    tx_hash = send(
        w3a, alice, contracts[901]["mailbox"].functions.send(902, bob, b""), value=10**18
    )
    receipt = w3a.eth.get_transaction_receipt(tx_hash)
    assert receipt.status == 1
    assert w3a.eth.get_balance(MAILBOX) == pre[0] + 10**18  # locked on the source
    assert w3b.eth.get_balance(MAILBOX) == pre[1] - 10**18  # released from the reserve
    assert w3b.eth.get_balance(bob) == pre[2] + 10**18  # arrived, same slot
    [event] = contracts[901]["mailbox"].events.MessageSent().process_receipt(receipt)
    msg = seq.call("xseq_getMessage", "0x" + bytes(event.args.id).hex())
    assert msg["source"] == 901 and msg["destination"] == 902 and msg["status"] == "delivered"
    assert int(msg["slot"], 16) == receipt.blockNumber
    delivery = w3b.eth.get_transaction_receipt(msg["deliveryTx"])
    assert delivery.blockNumber == receipt.blockNumber and delivery.status == 1
    assert delivery["from"].lower() == seq.info()["systemAccount"]
    slot = seq.get_slot(receipt.blockNumber)
    assert [m["id"] for m in slot["messages"]] == [msg["id"]]


def test_cross_rollup_call_sees_source_and_sender(
    w3a: Web3, w3b: Web3, keys: list[Any], contracts: dict[str, Any]
) -> None:
    before = contracts[902]["counter"].functions.count().call()
    send(w3a, keys[1], contracts[901]["counter"].functions.sendPing(902, XCOUNTER))
    c = contracts[902]["counter"].functions
    assert c.count().call() == before + 1
    assert c.lastSource().call() == 901
    assert c.lastSender().call() == XCOUNTER  # the contract that sent the message on 901


def test_nested_a_to_b_to_a(
    w3a: Web3, w3b: Web3, keys: list[Any], contracts: dict[str, Any]
) -> None:
    a_before = contracts[901]["counter"].functions.count().call()
    b_before = contracts[902]["counter"].functions.count().call()
    data = contracts[902]["counter"].encode_abi("pingBack", [])
    tx_hash = send(w3a, keys[2], contracts[901]["mailbox"].functions.send(902, XCOUNTER, data))
    assert w3a.eth.get_transaction_receipt(tx_hash).status == 1
    assert contracts[902]["counter"].functions.count().call() == b_before + 1
    assert contracts[901]["counter"].functions.count().call() == a_before + 1  # called back
    assert contracts[901]["counter"].functions.lastSource().call() == 902


def test_failing_action_drops_the_trigger_everywhere(
    seq: SequencerClient, w3a: Web3, w3b: Web3, keys: list[Any], contracts: dict[str, Any]
) -> None:
    key = keys[3]
    pre = world(w3a, w3b, key.address, MAILBOX)
    data = contracts[902]["counter"].encode_abi("refuse", [])
    with pytest.raises(Web3RPCError) as info:
        send(w3a, key, contracts[901]["mailbox"].functions.send(902, XCOUNTER, data))
    error = info.value.rpc_response["error"]
    assert error["code"] == -38010
    assert "cross-rollup action failed" in error["message"]
    assert error["data"]["target"].lower() == XCOUNTER.lower()
    refused = Web3.keccak(text="Refused(uint256)")[:4].hex()
    assert error["data"]["revert"].startswith("0x" + refused)
    assert world(w3a, w3b, key.address, MAILBOX) == pre
    # the same in a bundle: aborted, with the failing action named
    raw = Account.sign_transaction(
        contracts[901]["mailbox"]
        .functions.send(902, XCOUNTER, data)
        .build_transaction(
            {
                "from": key.address,
                "gas": 500_000,
                "chainId": 901,
                "value": 0,
                "nonce": w3a.eth.get_transaction_count(key.address, "pending"),
                "maxFeePerGas": 10**10,
                "maxPriorityFeePerGas": 1,
            }
        ),
        key.key,
    ).raw_transaction
    result = seq.send_bundle([raw])
    assert result["status"] == "aborted" and result["abort"]["kind"] == "message"
    assert result["abort"]["message"]["destination"] == 902
    # ordered and aborted: the slot its receipt names is sealed with no transaction on
    # any rollup, and balances and nonces are as before
    slot = int(result["slot"], 16)
    for w3 in (w3a, w3b):
        deadline = time.time() + 5
        while w3.eth.block_number < slot and time.time() < deadline:
            time.sleep(0.02)
        assert w3.eth.get_block(slot)["transactions"] == []
    post = world(w3a, w3b, key.address, MAILBOX)
    assert {c: {**w, "head": None} for c, w in post.items()} == {
        c: {**w, "head": None} for c, w in pre.items()
    }


def test_users_cannot_deliver(
    w3a: Web3, w3b: Web3, keys: list[Any], contracts: dict[str, Any]
) -> None:
    before = contracts[902]["counter"].functions.count().call()
    fn = contracts[902]["mailbox"].functions.deliver(
        901, 0, keys[4].address, XCOUNTER, 0, contracts[902]["counter"].encode_abi("ping", [])
    )
    receipt = w3b.eth.get_transaction_receipt(send(w3b, keys[4], fn))
    assert receipt.status == 0  # OnlySystem
    assert contracts[902]["counter"].functions.count().call() == before


def test_reference_token_bridges_burn_and_mint(
    w3a: Web3, w3b: Web3, keys: list[Any], contracts: dict[str, Any]
) -> None:
    alice, bob = keys[5], keys[6]
    xa, xb = contracts[901]["xrt"].functions, contracts[902]["xrt"].functions
    supply = xa.totalSupply().call() + xb.totalSupply().call()
    pre = (xa.balanceOf(alice.address).call(), xb.balanceOf(bob.address).call())
    tx_hash = send(
        w3a, alice, contracts[901]["bridge"].functions.sendERC20(XRT, bob.address, 777, 902)
    )
    receipt = w3a.eth.get_transaction_receipt(tx_hash)
    assert receipt.status == 1
    assert xa.balanceOf(alice.address).call() == pre[0] - 777
    assert xb.balanceOf(bob.address).call() == pre[1] + 777
    assert xa.totalSupply().call() + xb.totalSupply().call() == supply
    burns = contracts[901]["xrt"].events.CrosschainBurn().process_receipt(receipt)
    assert [(e.args["from"], e.args.amount) for e in burns] == [(alice.address, 777)]
    mints = contracts[902]["xrt"].events.CrosschainMint.get_logs(from_block=receipt.blockNumber)
    assert [(e.args.to, e.args.amount) for e in mints] == [(bob.address, 777)]
    # more than the balance: the burn reverts on 901, nothing is sent, nothing minted
    receipt = w3a.eth.get_transaction_receipt(
        send(
            w3a, alice, contracts[901]["bridge"].functions.sendERC20(XRT, bob.address, 10**30, 902)
        )
    )
    assert receipt.status == 0
    assert xa.totalSupply().call() + xb.totalSupply().call() == supply


def test_users_own_token_uses_the_same_bridge(w3a: Web3, w3b: Web3, keys: list[Any]) -> None:
    deployer = Account.create()  # fresh: same nonce (0) on both rollups -> same address
    for w3 in (w3a, w3b):
        w3.provider.make_request("anvil_setBalance", [deployer.address, hex(10**20)])  # type: ignore[arg-type]
    art = artifact("MyXToken")
    tokens = {}
    for cid, w3 in ((901, w3a), (902, w3b)):
        factory = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
        tx = factory.constructor(1000 if cid == 901 else 0).build_transaction(
            {
                "from": deployer.address,
                "nonce": 0,
                "chainId": cid,
                "gas": 2_000_000,
                "maxFeePerGas": 10**10,
                "maxPriorityFeePerGas": 1,
            }
        )
        h = w3.eth.send_raw_transaction(Account.sign_transaction(tx, deployer.key).raw_transaction)
        address = w3.eth.get_transaction_receipt(h).contractAddress
        tokens[cid] = w3.eth.contract(address, abi=art["abi"])
    assert tokens[901].address == tokens[902].address
    bridge = w3a.eth.contract(BRIDGE, abi=artifact("TokenBridge")["abi"])
    send(w3a, deployer, bridge.functions.sendERC20(tokens[901].address, keys[7].address, 400, 902))
    assert tokens[901].functions.balanceOf(deployer.address).call() == 600
    assert tokens[902].functions.balanceOf(keys[7].address).call() == 400
    assert (
        tokens[901].functions.totalSupply().call() + tokens[902].functions.totalSupply().call()
        == 1000
    )


def test_mailbox_roots_pair_up_in_every_slot(seq: SequencerClient, w3a: Web3) -> None:
    head = int(seq.call("xseq_slotNumber"), 16)
    nonzero = 0
    for n in range(1, head + 1):
        roots = seq.get_slot(n)["mailboxRoots"]
        assert roots["901"]["902"]["outbox"] == roots["902"]["901"]["inbox"]
        assert roots["902"]["901"]["outbox"] == roots["901"]["902"]["inbox"]
        nonzero += roots["901"]["902"]["outbox"] != "0x" + "00" * 32
    assert nonzero > 0  # messages did flow in this module


def test_every_delivery_has_its_trigger_in_the_same_slot_once(seq: SequencerClient) -> None:
    head = int(seq.call("xseq_slotNumber"), 16)
    seen: set[str] = set()
    for n in range(1, head + 1):
        slot = seq.get_slot(n)
        txs = {r["chainId"]: set(r["transactions"]) for r in slot["rollups"]}
        for m in slot["messages"]:
            assert m["id"] not in seen  # never delivered twice
            seen.add(m["id"])
            assert m["deliveryTx"] in txs[m["destination"]]  # the action is in this slot
            assert m["originTx"] in txs[901] | txs[902]  # and so is its trigger
    assert seen


def test_message_depth_is_bounded(
    w3a: Web3, w3b: Web3, keys: list[Any], contracts: dict[str, Any]
) -> None:
    key = keys[8]
    pre = world(w3a, w3b, key.address)
    data = contracts[902]["counter"].encode_abi("bounce", [])
    with pytest.raises(Web3RPCError) as info:
        send(w3a, key, contracts[901]["mailbox"].functions.send(902, XCOUNTER, data), gas=5_000_000)
    error = info.value.rpc_response["error"]
    assert error["code"] == -38010 and "message depth exceeds 4" in error["message"]
    assert world(w3a, w3b, key.address) == pre

"""Real web3.py over HTTP against a running xseqd: the wallet-facing surface of a rollup."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError, Web3RPCError

from tests.conftest import deploy, send_eth, transact

BOB = "0x000000000000000000000000000000000000b0b0"


def test_chain_identity_and_funded_accounts(w3a: Web3, w3b: Web3, keys: list[Any]) -> None:
    assert w3a.eth.chain_id == 901 and w3b.eth.chain_id == 902
    assert w3a.net.version == "901"
    assert w3a.eth.accounts == [k.address for k in keys]
    for w3 in (w3a, w3b):
        for key in keys:
            assert w3.eth.get_balance(key.address, "earliest") == 10_000 * 10**18
    latest = w3a.eth.get_block("latest")
    assert latest["baseFeePerGas"] > 0  # MetaMask detects EIP-1559 from this field
    assert len(latest["extraData"]) <= 32


def test_transfer_gets_instant_receipt_and_blocks_advance_together(
    w3a: Web3, w3b: Web3, keys: list[Any]
) -> None:
    # pre
    before_a, before_b = w3a.eth.block_number, w3b.eth.block_number
    assert before_a == before_b
    bal = w3a.eth.get_balance(BOB)
    # action
    tx_hash = send_eth(w3a, keys[1], BOB, 12345)
    receipt = w3a.eth.get_transaction_receipt(tx_hash)  # no polling: instant mode
    # post
    assert receipt.status == 1 and receipt.gasUsed == 21_000
    assert receipt.blockNumber == before_a + 1
    assert w3a.eth.get_balance(BOB) == bal + 12345
    assert w3b.eth.get_balance(BOB) == 0  # other rollup untouched
    assert w3b.eth.block_number == w3a.eth.block_number  # one slot sealed both
    block_b = w3b.eth.get_block(receipt.blockNumber)
    assert (
        block_b["transactions"] == []
        and block_b["timestamp"] == w3a.eth.get_block(receipt.blockNumber)["timestamp"]
    )
    tx = w3a.eth.get_transaction(tx_hash)
    assert tx["from"] == keys[1].address and tx["blockNumber"] == receipt.blockNumber


def test_contract_deploy_call_logs_and_historical_reads(w3a: Web3, keys: list[Any]) -> None:
    counter = deploy(w3a, keys[0], "Counter")
    receipt1 = transact(w3a, keys[0], counter.functions.increment())
    receipt2 = transact(w3a, keys[2], counter.functions.add(5))
    assert counter.functions.count().call() == 6
    # historical reads at pinned block numbers (forge/cast do this)
    assert counter.functions.count().call(block_identifier=receipt1.blockNumber) == 1
    slot0_then = w3a.eth.get_storage_at(counter.address, 0, receipt1.blockNumber)
    assert int.from_bytes(slot0_then, "big") == 1
    assert w3a.eth.get_code(counter.address, receipt1.blockNumber - 2) == b""
    assert len(w3a.eth.get_code(counter.address)) > 0
    # EIP-1898 by block hash
    block1 = w3a.eth.get_block(receipt1.blockNumber)
    assert counter.functions.count().call(block_identifier=block1["hash"]) == 1
    # logs
    events = counter.events.Incremented.get_logs(from_block=receipt1.blockNumber)
    assert [(e.args.by, e.args.newCount) for e in events] == [
        (keys[0].address, 1),
        (keys[2].address, 6),
    ]
    assert events[1].blockNumber == receipt2.blockNumber
    topic_filtered = w3a.eth.get_logs(
        {
            "fromBlock": 0,
            "address": counter.address,
            "topics": [None, "0x" + "00" * 12 + keys[2].address[2:].lower()],
        }
    )
    assert len(topic_filtered) == 1
    assert w3a.eth.get_logs({"fromBlock": 0, "address": BOB}) == []


def test_revert_reasons_and_custom_errors(w3a: Web3, keys: list[Any]) -> None:
    counter = deploy(w3a, keys[0], "Counter")
    with pytest.raises(ContractLogicError, match="counter: always fails"):
        counter.functions.fail().call()
    with pytest.raises(ContractCustomError) as info:
        counter.functions.add(5000).call({"from": keys[0].address})
    selector = Web3.keccak(text="TooLarge(uint256,uint256)")[:4].hex()
    assert selector in str(info.value.data)
    with pytest.raises(ContractLogicError, match="counter: always fails"):
        counter.functions.fail().estimate_gas()
    # a reverting transaction is still included, with status 0 and gas paid
    balance = w3a.eth.get_balance(keys[3].address)
    receipt = transact(w3a, keys[3], counter.functions.fail(), gas=100_000)
    assert receipt.status == 0
    assert (
        w3a.eth.get_balance(keys[3].address)
        == balance - receipt.gasUsed * receipt.effectiveGasPrice
    )


def test_estimate_gas_is_exact(w3a: Web3, keys: list[Any]) -> None:
    counter = deploy(w3a, keys[0], "Counter")
    fn = counter.functions.increment()
    estimate = fn.estimate_gas({"from": keys[4].address})
    ok = transact(w3a, keys[4], fn, gas=estimate)
    assert ok.status == 1
    # the same call with one gas less fails (counter is now warm storage, so use a new user)
    estimate5 = fn.estimate_gas({"from": keys[5].address})
    short = transact(w3a, keys[5], fn, gas=estimate5 - 1)
    assert short.status == 0
    assert w3a.eth.estimate_gas({"from": keys[0].address, "to": BOB, "value": 1}) == 21_000


def test_fee_methods_have_client_shapes(w3a: Web3, keys: list[Any]) -> None:
    send_eth(w3a, keys[6], BOB, 1)
    history = w3a.eth.fee_history(4, "latest", [25, 75])
    assert len(history["baseFeePerGas"]) == len(history["gasUsedRatio"]) + 1
    assert len(history["reward"]) == len(history["gasUsedRatio"])
    assert all(len(r) == 2 for r in history["reward"])
    assert w3a.eth.max_priority_fee > 0
    assert w3a.eth.gas_price >= w3a.eth.get_block("latest")["baseFeePerGas"]
    # web3.py's own fee filling works end to end
    tx = {
        "from": keys[6].address,
        "to": BOB,
        "value": 7,
        "chainId": 901,
        "nonce": w3a.eth.get_transaction_count(keys[6].address),
    }
    tx["gas"] = w3a.eth.estimate_gas(tx)
    tx["maxPriorityFeePerGas"] = w3a.eth.max_priority_fee
    tx["maxFeePerGas"] = (
        w3a.eth.get_block("latest")["baseFeePerGas"] * 2 + tx["maxPriorityFeePerGas"]
    )
    signed = Account.sign_transaction(tx, keys[6].key)
    receipt = w3a.eth.wait_for_transaction_receipt(
        w3a.eth.send_raw_transaction(signed.raw_transaction), poll_latency=0.01
    )
    assert receipt.status == 1


def test_all_transaction_types_are_accepted(w3a: Web3, keys: list[Any]) -> None:
    key = keys[7]
    base = {"to": BOB, "value": 1, "gas": 21_000, "chainId": 901}
    legacy = dict(base, gasPrice=10**10, nonce=w3a.eth.get_transaction_count(key.address))
    h0 = w3a.eth.send_raw_transaction(Account.sign_transaction(legacy, key.key).raw_transaction)
    al = dict(
        base,
        gasPrice=10**10,
        accessList=[],
        type=1,
        nonce=w3a.eth.get_transaction_count(key.address),
    )
    h1 = w3a.eth.send_raw_transaction(Account.sign_transaction(al, key.key).raw_transaction)
    dyn = dict(
        base,
        maxFeePerGas=10**10,
        maxPriorityFeePerGas=1,
        type=2,
        nonce=w3a.eth.get_transaction_count(key.address),
    )
    h2 = w3a.eth.send_raw_transaction(Account.sign_transaction(dyn, key.key).raw_transaction)
    # EIP-7702: delegate keys[8]'s code to the Counter-free address BOB (authorization by keys[8])
    signer = keys[8]
    auth = signer.sign_authorization(
        {"chainId": 901, "address": BOB, "nonce": w3a.eth.get_transaction_count(signer.address) + 1}
    )
    setcode = {
        "chainId": 901,
        "nonce": w3a.eth.get_transaction_count(signer.address),
        "to": signer.address,
        "value": 0,
        "gas": 100_000,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 1,
        "authorizationList": [auth],
        "data": b"",
    }
    h4 = w3a.eth.send_raw_transaction(Account.sign_transaction(setcode, signer.key).raw_transaction)
    types = [w3a.eth.get_transaction_receipt(h)["type"] for h in (h0, h1, h2, h4)]
    assert types == [0, 1, 2, 4]
    assert all(w3a.eth.get_transaction_receipt(h).status == 1 for h in (h0, h1, h2, h4))
    code = w3a.eth.get_code(signer.address)
    assert bytes(code) == bytes.fromhex("ef0100") + bytes.fromhex(BOB[2:])


def test_future_nonces_queue_and_identical_resubmission(w3a: Web3, keys: list[Any]) -> None:
    key = keys[9]
    nonce = w3a.eth.get_transaction_count(key.address)
    signed = [
        Account.sign_transaction(
            {
                "chainId": 901,
                "nonce": nonce + i,
                "to": BOB,
                "value": 1,
                "gas": 21_000,
                "maxFeePerGas": 10**10,
                "maxPriorityFeePerGas": 1,
            },
            key.key,
        )
        for i in range(4)
    ]
    # send in reverse order: 3, 2, 1 queue; 0 fills the gap and all are promoted
    hashes = [w3a.eth.send_raw_transaction(s.raw_transaction) for s in reversed(signed)]
    assert all(w3a.eth.get_transaction_receipt(h).status == 1 for h in hashes)
    assert w3a.eth.get_transaction_count(key.address) == nonce + 4
    # identical resubmission: same hash, nothing changes
    again = w3a.eth.send_raw_transaction(signed[0].raw_transaction)
    assert again == hashes[-1]
    assert w3a.eth.get_transaction_count(key.address) == nonce + 4


@pytest.mark.parametrize(
    ("mutate", "wording"),
    [
        (lambda tx: tx.update(nonce=0), "nonce too low"),
        (lambda tx: tx.update(value=10**30), "insufficient funds for gas * price + value"),
        (
            lambda tx: tx.update(maxFeePerGas=1, maxPriorityFeePerGas=1),
            "max fee per gas less than block base fee",
        ),
        (lambda tx: tx.update(gas=20_000), "intrinsic gas too low"),
        (lambda tx: tx.update(chainId=902), "invalid chain id"),
    ],
)
def test_invalid_submissions_use_geth_wording_and_change_nothing(
    w3a: Web3, keys: list[Any], mutate: Any, wording: str
) -> None:
    key = keys[1]
    send_eth(w3a, key, BOB, 1)  # make sure nonce 0 is used
    tx = {
        "chainId": 901,
        "nonce": w3a.eth.get_transaction_count(key.address),
        "to": BOB,
        "value": 1,
        "gas": 21_000,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 1,
    }
    mutate(tx)
    before = (
        w3a.eth.block_number,
        w3a.eth.get_balance(key.address),
        w3a.eth.get_transaction_count(key.address),
    )
    with pytest.raises(Web3RPCError) as info:
        w3a.eth.send_raw_transaction(Account.sign_transaction(tx, key.key).raw_transaction)
    assert wording in str(info.value)
    assert info.value.rpc_response["error"]["code"] == -32000
    after = (
        w3a.eth.block_number,
        w3a.eth.get_balance(key.address),
        w3a.eth.get_transaction_count(key.address),
    )
    assert after == before

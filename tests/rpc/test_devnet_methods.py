"""The devnet methods test suites use (evm_*, anvil_*/hardhat_*), through web3.py."""

from __future__ import annotations

from typing import Any

import pytest
from web3 import Web3
from web3.exceptions import TransactionNotFound

from tests.conftest import deploy, send_eth, transact

CAROL = "0x000000000000000000000000000000000000ca01"
DAVE = "0x000000000000000000000000000000000000da7e"


def rpc(w3: Web3, method: str, *params: Any) -> Any:
    response = w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
    assert "error" not in response, response
    return response["result"]


def test_snapshot_and_revert_restore_every_rollup(w3a: Web3, w3b: Web3, keys: list[Any]) -> None:
    snap = rpc(w3a, "evm_snapshot")
    number = w3a.eth.block_number
    send_eth(w3a, keys[0], CAROL, 10)
    send_eth(w3b, keys[0], CAROL, 20)
    assert w3a.eth.get_balance(CAROL) == 10 and w3b.eth.get_balance(CAROL) == 20
    assert rpc(w3a, "evm_revert", snap) is True
    assert w3a.eth.block_number == number == w3b.eth.block_number
    assert w3a.eth.get_balance(CAROL) == 0 and w3b.eth.get_balance(CAROL) == 0
    # a reverted snapshot id is used up
    assert rpc(w3a, "evm_revert", snap) is False
    # the chain continues normally after a revert, with fresh blocks at the same heights
    tx_hash = send_eth(w3a, keys[0], CAROL, 5)
    assert w3a.eth.get_transaction_receipt(tx_hash).blockNumber == number + 1


def test_mine_and_time_control(w3a: Web3, w3b: Web3) -> None:
    start = w3a.eth.get_block("latest")
    rpc(w3a, "evm_mine")
    assert w3a.eth.block_number == start["number"] + 1 == w3b.eth.block_number
    rpc(w3a, "evm_increaseTime", 3600)
    rpc(w3a, "evm_mine")
    assert w3a.eth.get_block("latest")["timestamp"] >= start["timestamp"] + 3600
    target = w3a.eth.get_block("latest")["timestamp"] + 1000
    rpc(w3b, "evm_setNextBlockTimestamp", target)
    rpc(w3b, "evm_mine")
    assert w3a.eth.get_block("latest")["timestamp"] == target
    assert w3b.eth.get_block("latest")["timestamp"] == target
    rpc(w3a, "evm_mine", target + 50)
    assert w3a.eth.get_block("latest")["timestamp"] == target + 50
    rpc(w3a, "anvil_mine", 5)
    assert w3b.eth.block_number == w3a.eth.block_number
    bad = w3a.provider.make_request("evm_setNextBlockTimestamp", [1])  # type: ignore[arg-type]
    assert bad["error"]["code"] == -32602


def test_manual_mode_holds_transactions_until_mined(w3a: Web3, keys: list[Any]) -> None:
    rpc(w3a, "evm_setAutomine", False)
    try:
        number = w3a.eth.block_number
        tx_hash = send_eth(w3a, keys[1], CAROL, 3)
        assert w3a.eth.block_number == number
        with pytest.raises(TransactionNotFound):
            w3a.eth.get_transaction_receipt(tx_hash)
        assert (
            w3a.eth.get_transaction_count(keys[1].address, "pending")
            == w3a.eth.get_transaction_count(keys[1].address, "latest") + 1
        )
        assert w3a.eth.get_transaction(tx_hash)["blockNumber"] is None
        rpc(w3a, "evm_mine")
        assert w3a.eth.get_transaction_receipt(tx_hash).blockNumber == number + 1
    finally:
        rpc(w3a, "evm_setAutomine", True)


def test_interval_mining_seals_empty_slots(w3a: Web3) -> None:
    import time

    rpc(w3a, "evm_setIntervalMining", 1)
    try:
        number = w3a.eth.block_number
        deadline = time.time() + 10
        while w3a.eth.block_number < number + 2 and time.time() < deadline:
            time.sleep(0.1)
        assert w3a.eth.block_number >= number + 2
    finally:
        rpc(w3a, "evm_setAutomine", True)


@pytest.mark.parametrize("prefix", ["anvil", "hardhat"])
def test_state_setters(w3a: Web3, keys: list[Any], prefix: str) -> None:
    rpc(w3a, f"{prefix}_setBalance", CAROL, hex(10**21))
    assert w3a.eth.get_balance(CAROL) == 10**21
    rpc(w3a, f"{prefix}_setNonce", CAROL, hex(7))
    assert w3a.eth.get_transaction_count(CAROL) == 7
    counter = deploy(w3a, keys[0], "Counter")
    code = w3a.eth.get_code(counter.address)
    rpc(w3a, f"{prefix}_setCode", CAROL, "0x" + bytes(code).hex())
    assert w3a.eth.get_code(CAROL) == code
    rpc(w3a, f"{prefix}_setStorageAt", CAROL, "0x0", "0x" + (41).to_bytes(32, "big").hex())
    clone = w3a.eth.contract(address=Web3.to_checksum_address(CAROL), abi=counter.abi)
    assert clone.functions.count().call() == 41


def test_impersonation_and_unlocked_accounts(w3a: Web3, keys: list[Any]) -> None:
    whale = Web3.to_checksum_address("0x00000000000000000000000000000000000face7")
    rpc(w3a, "anvil_setBalance", whale, hex(10**20))
    bad = w3a.provider.make_request(
        "eth_sendTransaction", [{"from": whale, "to": DAVE, "value": "0x1"}]
    )  # type: ignore[arg-type]
    assert bad["error"]["code"] == -32000
    rpc(w3a, "anvil_impersonateAccount", whale)
    before = w3a.eth.get_balance(DAVE)
    tx_hash = w3a.eth.send_transaction({"from": whale, "to": DAVE, "value": 99})
    receipt = w3a.eth.get_transaction_receipt(tx_hash)
    assert receipt["from"] == whale and receipt.status == 1
    assert w3a.eth.get_balance(DAVE) == before + 99
    rpc(w3a, "anvil_stopImpersonatingAccount", whale)
    # unlocked dev account: eth_sendTransaction fills nonce, gas and fees
    tx_hash = w3a.eth.send_transaction({"from": keys[2].address, "to": DAVE, "value": 1})
    assert w3a.eth.get_transaction_receipt(tx_hash).status == 1
    counter = deploy(w3a, keys[0], "Counter")
    receipt = w3a.eth.wait_for_transaction_receipt(
        counter.functions.increment().transact({"from": keys[3].address}), poll_latency=0.01
    )
    assert receipt.status == 1 and counter.functions.count().call() == 1


def test_send_unsigned_transaction_from_an_impersonated_account(w3a: Web3, keys: list[Any]) -> None:
    """viem's test client sends impersonated transactions with eth_sendUnsignedTransaction."""
    whale = Web3.to_checksum_address("0x00000000000000000000000000000000000face8")
    rpc(w3a, "anvil_setBalance", whale, hex(10**20))
    tx = {"from": whale, "to": DAVE, "value": "0x7"}
    bad = w3a.provider.make_request("eth_sendUnsignedTransaction", [tx])  # type: ignore[arg-type]
    assert bad["error"]["code"] == -32000 and "not impersonated" in bad["error"]["message"]
    # a dev account with a key is refused too unless impersonated: nothing is signed here
    dev_tx = {"from": keys[4].address, "to": DAVE, "value": "0x1"}
    bad = w3a.provider.make_request("eth_sendUnsignedTransaction", [dev_tx])  # type: ignore[arg-type]
    assert bad["error"]["code"] == -32000
    rpc(w3a, "anvil_impersonateAccount", whale)
    try:
        before = w3a.eth.get_balance(DAVE)
        nonce = w3a.eth.get_transaction_count(whale)
        tx_hash = rpc(w3a, "eth_sendUnsignedTransaction", tx)
        receipt = w3a.eth.wait_for_transaction_receipt(tx_hash, poll_latency=0.01)
        assert receipt["from"] == whale and receipt.status == 1
        assert w3a.eth.get_balance(DAVE) == before + 7
        assert w3a.eth.get_transaction_count(whale) == nonce + 1
    finally:
        rpc(w3a, "anvil_stopImpersonatingAccount", whale)
    bad = w3a.provider.make_request("eth_sendUnsignedTransaction", [tx])  # type: ignore[arg-type]
    assert bad["error"]["code"] == -32000


def test_signing_for_dev_accounts(w3a: Web3, keys: list[Any]) -> None:
    from eth_account import Account
    from eth_account.messages import encode_defunct

    sig = w3a.eth.sign(keys[0].address, text="hello")
    assert Account.recover_message(encode_defunct(text="hello"), signature=sig) == keys[0].address


def test_reverting_call_through_transact_path(w3a: Web3, keys: list[Any]) -> None:
    counter = deploy(w3a, keys[0], "Counter")
    receipt = transact(w3a, keys[0], counter.functions.add(7))
    assert receipt.status == 1 and counter.functions.count().call() == 7

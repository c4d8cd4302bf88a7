"""Calls ignore the transaction's nonce, as geth and anvil do (ethers v6 sends it)."""

from __future__ import annotations

from typing import Any

import pytest
from web3 import Web3

from tests.conftest import send_eth
from xseqd.node import NodeThread

EVE = Web3.to_checksum_address("0x000000000000000000000000000000000000e0e0")


@pytest.mark.parametrize("method", ["eth_call", "eth_estimateGas"])
@pytest.mark.parametrize("offset", [5, -1, 0])
def test_calls_ignore_the_nonce(
    devnet: NodeThread, w3a: Web3, keys: list[Any], method: str, offset: int
) -> None:
    key = keys[0]
    if w3a.eth.get_transaction_count(key.address) == 0:
        w3a.eth.wait_for_transaction_receipt(send_eth(w3a, key, EVE, 1))
    current = w3a.eth.get_transaction_count(key.address)
    assert current >= 1
    tx = {
        "from": key.address,
        "to": EVE,
        "value": hex(1),
        "nonce": hex(current + offset),
        "maxFeePerGas": hex(10**10),
        "maxPriorityFeePerGas": hex(10**6),
    }
    params: list[Any] = [tx, "latest"] if method == "eth_call" else [tx]
    reply = w3a.provider.make_request(method, params)  # type: ignore[arg-type]
    assert "error" not in reply, reply
    if method == "eth_estimateGas":
        assert int(reply["result"], 16) == 21_000
    else:
        assert reply["result"] == "0x"

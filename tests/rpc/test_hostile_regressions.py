"""Inputs the hostile-input fuzzer (test_hostile_input.py) found crashing a handler (-32603);
each is now a -32602 and changes nothing."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from web3 import Web3
from websockets.sync.client import connect

from tests.conftest import send_eth
from xseqd.node import NodeThread
from xseqd.sequencer import devtime


def call(w3: Web3, method: str, *params: Any) -> dict[str, Any]:
    return dict(w3.provider.make_request(method, list(params)))  # type: ignore[arg-type]


@pytest.mark.parametrize("percentile", ["0x 1", "fifty", {}, [], 10**400])
def test_fee_history_refuses_a_percentile_that_is_no_number(w3a: Web3, percentile: Any) -> None:
    reply = call(w3a, "eth_feeHistory", "0x2", "latest", [percentile])
    assert reply["error"]["code"] == -32602, reply
    assert reply["error"]["message"] == "invalid reward percentiles"


HUGE = "0x" + "11" * 32  # a valid uint256, far past any timestamp the log can store


@pytest.mark.parametrize(
    "method, params",
    [
        ("evm_increaseTime", [HUGE]),
        ("evm_setNextBlockTimestamp", [HUGE]),
        ("evm_setNextBlockTimestamp", [hex(devtime.MAX_TIMESTAMP + 1)]),
        ("evm_mine", [HUGE]),
        ("evm_mine", [{"timestamp": HUGE}]),
        ("anvil_mine", ["0x2", HUGE]),
    ],
)
def test_a_timestamp_past_what_the_log_stores_is_refused(
    w3a: Web3, keys: list[Any], method: str, params: list[Any]
) -> None:
    """It was accepted, and every later write to the sequencer log (every transaction,
    every block) then failed with -32603: the daemon was bricked."""
    reply = call(w3a, method, *params)
    assert reply["error"]["code"] == -32602, reply
    head = w3a.eth.get_block("latest")
    assert head["timestamp"] < devtime.MAX_TIMESTAMP
    tx = send_eth(w3a, keys[5], keys[6].address, 1)
    assert w3a.eth.wait_for_transaction_receipt(tx, timeout=10)["status"] == 1


def test_time_still_moves_forward_within_the_bound(w3a: Web3) -> None:
    now = int(time.time())
    assert "result" in call(w3a, "evm_increaseTime", "0x100")
    assert "result" in call(w3a, "evm_mine")
    assert w3a.eth.get_block("latest")["timestamp"] >= now + 0x100


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_numbers_json_has_not_are_a_parse_error(devnet: NodeThread, token: str) -> None:
    """Python's decoder takes them; an id of NaN was echoed, and the answer was not JSON."""
    assert devnet.endpoints is not None
    url = devnet.endpoints.rollup_url(901)
    for body in (
        f'{{"jsonrpc":"2.0","id":{token},"method":"eth_chainId","params":[]}}',
        f'{{"jsonrpc":"2.0","id":1,"method":"evm_setIntervalMining","params":[{token}]}}',
    ):
        reply = httpx.post(url, content=body, timeout=10)
        answer = json.loads(reply.text, parse_constant=lambda c: pytest.fail(f"{c} answered"))
        assert answer["id"] is None and answer["error"]["code"] == -32700, answer
    ws_url = url.replace("http", "ws", 1)
    with connect(ws_url) as ws:
        ws.send(f'{{"jsonrpc":"2.0","id":{token},"method":"eth_subscribe","params":["newHeads"]}}')
        answer = json.loads(str(ws.recv(timeout=10)))
        assert answer["id"] is None and answer["error"]["code"] == -32700, answer


@pytest.mark.parametrize(
    "request_",
    [
        {"jsonrpc": "1.0", "id": {"a": 1}, "method": "eth_chainId"},
        {"jsonrpc": "2.0", "id": [1], "method": 5},
        {"id": {}, "method": "eth_chainId"},
    ],
)
def test_an_object_or_array_id_is_never_echoed(devnet: NodeThread, request_: Any) -> None:
    """With the version or method wrong as well, the bad id was echoed (JSON-RPC 2.0: an
    id is a string, a number or null)."""
    assert devnet.endpoints is not None
    reply = httpx.post(devnet.endpoints.rollup_url(901), json=request_, timeout=10).json()
    assert reply["id"] is None and reply["error"]["code"] == -32600, reply


@pytest.mark.parametrize("text", ["0x 1", "0x+1", "0x1_0", "0x1 ", "0x\t1"])
def test_a_quantity_is_hex_digits_only(w3a: Web3, text: str) -> None:
    """Python's int(_, 16) takes spaces, signs and underscores: "0x 1" was the number 1, so
    the fuzzer's evm_setIntervalMining("0x 1") switched the devnet to 1-s interval mining."""
    who = Web3.to_checksum_address("0x000000000000000000000000000000000000d1d1")
    head = w3a.eth.block_number
    for method, params in (
        ("anvil_setNonce", [who, text]),
        ("anvil_setBalance", [who, text]),
        ("evm_setIntervalMining", [text]),
        ("eth_getBlockByNumber", [text, False]),
    ):
        reply = call(w3a, method, *params)
        assert reply["error"]["code"] == -32602, (method, reply)
    reply = call(w3a, "eth_getStorageAt", who, text, "latest")
    assert reply["error"]["code"] == -32000, reply
    reply = call(w3a, "eth_getProof", who, [text[2:]], "latest")
    assert reply["error"]["code"] == -32602, reply
    assert w3a.eth.get_transaction_count(who) == 0 and w3a.eth.get_balance(who) == 0
    assert call(w3a, "anvil_getAutomine")["result"] is True
    assert w3a.eth.block_number == head

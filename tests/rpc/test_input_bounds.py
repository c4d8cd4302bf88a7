"""Every input a client controls has a bound; exceeding it is a clear JSON-RPC error and
changes nothing. Where a bound is large, the test lowers the module constant (the devnet
runs in this process) to reach it cheaply."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from eth_account import Account
from web3 import Web3
from websockets.sync.client import connect

from tests.conftest import deploy, transact
from xseqd.client import SequencerClient, SequencerError
from xseqd.node import NodeThread
from xseqd.rpc import dev, envelope, eth, filters
from xseqd.sequencer import bundles

SINK = Web3.to_checksum_address("0x0000000000000000000000000000000000005171")


def call(w3: Web3, method: str, *params: Any) -> dict[str, Any]:
    return dict(w3.provider.make_request(method, list(params)))  # type: ignore[arg-type]


def refused(w3: Web3, method: str, *params: Any, code: int = -32602) -> str:
    reply = call(w3, method, *params)
    assert "error" in reply, reply
    assert reply["error"]["code"] == code, reply
    return str(reply["error"]["message"])


def test_batch_length_is_bounded(devnet: NodeThread, w3a: Web3) -> None:
    assert devnet.endpoints is not None
    url = devnet.endpoints.rollup_url(901)
    one = {"jsonrpc": "2.0", "id": 1, "method": "evm_mine"}
    before = w3a.eth.block_number
    reply = httpx.post(url, json=[one] * (envelope.MAX_BATCH + 1), timeout=30).json()
    assert reply["error"]["code"] == -32600
    assert f"batch larger than {envelope.MAX_BATCH}" in reply["error"]["message"]
    assert w3a.eth.block_number == before  # nothing of the batch ran
    ok = httpx.post(url, json=[one] * 3, timeout=30).json()
    assert len(ok) == 3 and w3a.eth.block_number == before + 3


@pytest.mark.parametrize("method", ["evm_mine", "anvil_mine"])
def test_mining_many_blocks_is_bounded(w3a: Web3, method: str) -> None:
    before = w3a.eth.block_number
    too_many = dev.MAX_MINE_BLOCKS + 1
    arg: Any = {"blocks": too_many} if method == "evm_mine" else hex(too_many)
    message = refused(w3a, method, arg)
    assert f"at most {dev.MAX_MINE_BLOCKS} blocks" in message
    assert w3a.eth.block_number == before
    assert "error" not in call(w3a, method, {"blocks": 2} if method == "evm_mine" else "0x2")
    assert w3a.eth.block_number == before + 2


def test_fee_history_percentiles_are_bounded(w3a: Web3) -> None:
    many = [i * 100 / eth.MAX_REWARD_PERCENTILES for i in range(eth.MAX_REWARD_PERCENTILES + 1)]
    assert "too many reward percentiles" in refused(w3a, "eth_feeHistory", "0x2", "latest", many)
    reply = call(w3a, "eth_feeHistory", "0x2", "latest", many[:-1])
    assert len(reply["result"]["reward"][0]) == eth.MAX_REWARD_PERCENTILES


def test_fee_history_block_count_is_clamped(w3a: Web3, monkeypatch: pytest.MonkeyPatch) -> None:
    call(w3a, "anvil_mine", "0x3")
    monkeypatch.setattr(eth, "MAX_FEE_HISTORY", 2)
    reply = call(w3a, "eth_feeHistory", hex(1000), "latest", [50])["result"]
    assert len(reply["gasUsedRatio"]) == 2 and len(reply["reward"]) == 2


def test_log_block_range_is_bounded(w3a: Web3, monkeypatch: pytest.MonkeyPatch) -> None:
    call(w3a, "anvil_mine", "0x5")
    monkeypatch.setattr(eth, "MAX_LOG_RANGE", 3)
    head = w3a.eth.block_number
    message = refused(w3a, "eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest"})
    assert "block range too large" in message and "at most 3" in message
    assert "error" not in call(w3a, "eth_getLogs", {"fromBlock": hex(head - 2)})
    fid = call(w3a, "eth_newFilter", {"fromBlock": "0x0"})["result"]
    assert "block range too large" in refused(w3a, "eth_getFilterLogs", fid)
    narrow = call(w3a, "eth_newFilter", {"fromBlock": hex(head - 2)})["result"]
    assert "error" not in call(w3a, "eth_getFilterLogs", narrow)


def test_log_result_count_is_bounded(
    w3a: Web3, keys: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = deploy(w3a, keys[5], "Counter")
    start = w3a.eth.block_number
    for _ in range(3):
        transact(w3a, keys[5], counter.functions.increment())
    monkeypatch.setattr(eth, "MAX_LOG_RESULTS", 2)
    query = {"fromBlock": hex(start), "address": counter.address}
    assert "more than 2 results" in refused(w3a, "eth_getLogs", query)
    fid = call(w3a, "eth_newFilter", query)["result"]
    assert "more than 2 results" in refused(w3a, "eth_getFilterLogs", fid)
    monkeypatch.setattr(eth, "MAX_LOG_RESULTS", 3)
    assert len(call(w3a, "eth_getLogs", query)["result"]) == 3


def test_installed_filters_are_bounded(
    devnet: NodeThread, w3a: Web3, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed = len(devnet.node.filters[901].filters)
    monkeypatch.setattr(filters, "MAX_FILTERS", installed + 1)
    fid = call(w3a, "eth_newBlockFilter")["result"]
    assert "too many filters" in refused(w3a, "eth_newBlockFilter", code=-32005)
    assert call(w3a, "eth_uninstallFilter", fid)["result"] is True
    assert "error" not in call(w3a, "eth_newBlockFilter")


def _subscribe(ws: Any, i: int) -> dict[str, Any]:
    ws.send(
        json.dumps({"jsonrpc": "2.0", "id": i, "method": "eth_subscribe", "params": ["newHeads"]})
    )
    return dict(json.loads(ws.recv(timeout=10)))


def test_subscriptions_are_bounded_per_connection_and_rollup(
    devnet: NodeThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert devnet.endpoints is not None
    monkeypatch.setattr(filters, "MAX_SUBSCRIPTIONS_PER_CONNECTION", 2)
    monkeypatch.setattr(filters, "MAX_SUBSCRIPTIONS", 3)
    url = devnet.endpoints.rollup_ws(901)
    with connect(url) as a, connect(url) as b:
        assert "result" in _subscribe(a, 1) and "result" in _subscribe(a, 2)
        err = _subscribe(a, 3)["error"]
        assert err["code"] == -32005 and "on this connection" in err["message"]
        assert "result" in _subscribe(b, 4)  # another connection still may
        err = _subscribe(b, 5)["error"]
        assert err["code"] == -32005 and "per rollup" in err["message"]
    # a closed connection's subscriptions are dropped and free their places
    hub = devnet.node.filters[901]
    deadline = time.monotonic() + 10
    while hub.subscriptions and time.monotonic() < deadline:
        time.sleep(0.01)
    with connect(url) as c:
        assert "result" in _subscribe(c, 6)


def test_held_bundles_are_bounded(
    devnet: NodeThread, w3a: Web3, keys: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert devnet.endpoints is not None
    seq = SequencerClient(devnet.endpoints.base_url)
    monkeypatch.setattr(bundles, "MAX_HELD_BUNDLES", 1)
    head = int(seq.call("xseq_slotNumber"), 16)

    def leg(key: Any) -> bytes:
        tx = {
            "chainId": 901,
            "to": SINK,
            "value": 1,
            "gas": 21_000,
            "nonce": w3a.eth.get_transaction_count(key.address, "pending"),
            "maxFeePerGas": 10**10,
            "maxPriorityFeePerGas": 10**6,
        }
        return bytes(Account.sign_transaction(tx, key.key).raw_transaction)

    seq.send_bundle([leg(keys[6])], min_slot=head + 100, replacement_uuid="held-1")
    with pytest.raises(SequencerError) as caught:
        seq.send_bundle([leg(keys[7])], min_slot=head + 100, replacement_uuid="held-2")
    assert caught.value.code == -32005 and "too many held bundles" in caught.value.message
    assert seq.cancel_bundle("held-2") is False  # nothing was held
    assert seq.cancel_bundle("held-1") is True
    seq.send_bundle([leg(keys[7])], min_slot=head + 100, replacement_uuid="held-3")
    assert seq.cancel_bundle("held-3") is True

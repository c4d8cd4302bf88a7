"""The wire itself: batches, CORS, bad input, WebSocket requests and subscriptions, and a
second real client (Foundry's cast from the npm package)."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from web3 import AsyncWeb3, Web3
from websockets.sync.client import connect

from tests.conftest import deploy, send_eth
from xseqd.node import NodeThread

ROOT = Path(__file__).resolve().parents[2]
CAST = ROOT / "node_modules" / ".bin" / "cast"
EVE = Web3.to_checksum_address("0x000000000000000000000000000000000000e0e0")


def post(url: str, body: Any, raw: bytes | None = None) -> httpx.Response:
    content = raw if raw is not None else json.dumps(body).encode()
    return httpx.post(
        url, content=content, headers={"content-type": "application/json"}, timeout=30
    )


def state_fingerprint(w3: Web3, keys: list[Any]) -> tuple[Any, ...]:
    return (
        w3.eth.block_number,
        w3.eth.get_block("latest")["hash"],
        tuple(w3.eth.get_balance(k.address) for k in keys[:3]),
    )


def test_batches_and_cors(devnet: NodeThread) -> None:
    assert devnet.endpoints is not None
    url = devnet.endpoints.rollup_url(901)
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"},
        {"jsonrpc": "2.0", "id": "two", "method": "eth_blockNumber", "params": []},
        {"jsonrpc": "2.0", "method": "eth_chainId"},  # notification: no answer
        {"jsonrpc": "2.0", "id": 3, "method": "eth_nope"},
    ]
    answer = post(url, batch).json()
    assert [a["id"] for a in answer] == [1, "two", 3]
    assert answer[0]["result"] == "0x385"
    assert answer[2]["error"]["code"] == -32601
    assert "eth_nope does not exist/is not available" in answer[2]["error"]["message"]
    pre = httpx.options(
        url, headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    )
    assert pre.headers.get("access-control-allow-origin") in ("*", "https://app.example")
    got = post(url, {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"})
    assert got.headers.get("content-type", "").startswith("application/json")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", -32700),
        (b"[]", -32600),
        (b'{"jsonrpc":"2.0","id":1}', -32600),
        (b'{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x12","latest"]}', -32602),
        (b'{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":[123]}', -32602),
        (
            b'{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0xzz",false]}',
            -32602,
        ),
        (
            b'{"jsonrpc":"2.0","id":1,"method":"eth_sendRawTransaction","params":["0xdeadbeef"]}',
            -32602,
        ),
        (b'{"jsonrpc":"2.0","id":1,"method":"eth_sendRawTransaction","params":[]}', -32602),
        (b'{"jsonrpc":"2.0","id":1,"method":"eth_call","params":["notanobject"]}', -32602),
        (b'{"jsonrpc":"2.0","id":1,"method":"evm_revert","params":[{"a":1}]}', -32602),
        (b'{"jsonrpc":"2.0","id":1,"method":"anvil_setBalance","params":["0x00","0x1"]}', -32602),
        (b'{"jsonrpc":"2.0","id":1,"method":"eth_getFilterChanges","params":["0x1234"]}', -32001),
    ],
)
def test_bad_input_gets_an_error_and_changes_nothing(
    devnet: NodeThread, w3a: Web3, keys: list[Any], body: bytes, code: int
) -> None:
    assert devnet.endpoints is not None
    before = state_fingerprint(w3a, keys)
    answer = post(devnet.endpoints.rollup_url(901), None, raw=body).json()
    assert answer["error"]["code"] == code, answer
    assert answer["error"]["message"]
    assert state_fingerprint(w3a, keys) == before


def test_oversized_body_is_refused_and_server_stays_up(devnet: NodeThread, w3a: Web3) -> None:
    assert devnet.endpoints is not None
    huge = (
        b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":["'
        + b"a" * (6 * 1024 * 1024)
        + b'"]}'
    )
    answer = post(devnet.endpoints.rollup_url(901), None, raw=huge)
    assert answer.json()["error"]["code"] == -32600
    assert w3a.eth.chain_id == 901


def test_unknown_rollup_path_is_404(devnet: NodeThread) -> None:
    assert devnet.endpoints is not None
    answer = post(
        devnet.endpoints.base_url + "/rollup/999",
        {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"},
    )
    assert answer.status_code == 404


def test_http_filters(w3a: Web3, keys: list[Any]) -> None:
    block_filter = w3a.eth.filter("latest")
    pending_filter = w3a.eth.filter("pending")
    counter = deploy(w3a, keys[0], "Counter")
    log_filter = counter.events.Incremented.create_filter(from_block="latest")
    tx_hash = counter.functions.increment().transact({"from": keys[0].address})
    receipt = w3a.eth.get_transaction_receipt(tx_hash)
    blocks = block_filter.get_new_entries()
    assert receipt.blockHash in blocks
    assert tx_hash in pending_filter.get_new_entries()
    entries = log_filter.get_new_entries()
    assert len(entries) == 1 and entries[0].args.newCount == 1
    assert log_filter.get_new_entries() == []  # already delivered
    assert len(log_filter.get_all_entries()) == 1
    assert w3a.eth.uninstall_filter(block_filter.filter_id) is True
    assert w3a.eth.uninstall_filter(block_filter.filter_id) is False


def test_websocket_requests_and_subscriptions(
    devnet: NodeThread, w3a: Web3, keys: list[Any]
) -> None:
    assert devnet.endpoints is not None
    counter = deploy(w3a, keys[0], "Counter")
    with connect(devnet.endpoints.rollup_ws(901)) as ws:
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}))
        assert json.loads(ws.recv(timeout=5))["result"] == "0x385"
        subs = {}
        for i, params in enumerate(
            [["newHeads"], ["logs", {"address": counter.address}], ["newPendingTransactions"]]
        ):
            ws.send(
                json.dumps(
                    {"jsonrpc": "2.0", "id": 10 + i, "method": "eth_subscribe", "params": params}
                )
            )
            subs[params[0]] = json.loads(ws.recv(timeout=5))["result"]
        tx_hash = counter.functions.increment().transact({"from": keys[1].address})
        got: dict[str, Any] = {}
        while len(got) < 3:
            msg = json.loads(ws.recv(timeout=5))
            kind = next(k for k, v in subs.items() if v == msg["params"]["subscription"])
            got.setdefault(kind, msg["params"]["result"])
        receipt = w3a.eth.get_transaction_receipt(tx_hash)
        assert got["newPendingTransactions"] == tx_hash.to_0x_hex()
        assert int(got["newHeads"]["number"], 16) == receipt.blockNumber
        assert got["newHeads"]["hash"] == receipt.blockHash.to_0x_hex()
        assert got["logs"]["transactionHash"] == tx_hash.to_0x_hex()
        ws.send(
            json.dumps(
                {
                    "jsonrpc": "2.0",
                    "id": 99,
                    "method": "eth_unsubscribe",
                    "params": [subs["newHeads"]],
                }
            )
        )
        while True:
            msg = json.loads(ws.recv(timeout=5))
            if msg.get("id") == 99:
                assert msg["result"] is True
                break


def test_web3_websocket_provider_subscription(
    devnet: NodeThread, w3a: Web3, keys: list[Any]
) -> None:
    assert devnet.endpoints is not None
    url = devnet.endpoints.rollup_ws(901)

    async def scenario() -> tuple[int, int]:
        async with AsyncWeb3(AsyncWeb3.WebSocketProvider(url)) as aw3:
            chain = await aw3.eth.chain_id
            await aw3.eth.subscribe("newHeads")
            await asyncio.to_thread(send_eth, w3a, keys[4], EVE, 1)
            async for message in aw3.socket.process_subscriptions():
                return chain, int(message["result"]["number"])
        raise AssertionError("no subscription message")

    chain, number = asyncio.run(asyncio.wait_for(scenario(), 20))
    assert chain == 901 and number == w3a.eth.block_number


def test_cast_talks_to_the_rollup(devnet: NodeThread, w3a: Web3, keys: list[Any]) -> None:
    assert devnet.endpoints is not None
    url = devnet.endpoints.rollup_url(902)

    def cast(*args: str) -> str:
        done = subprocess.run(
            [str(CAST), *args, "--rpc-url", url], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert cast("chain-id") == "902"
    before = int(cast("balance", EVE))
    out = cast(
        "send", EVE, "--value", "1234", "--private-key", "0x" + bytes(keys[5].key).hex(), "--json"
    )
    receipt = json.loads(out)
    assert receipt["status"] == "0x1"
    assert int(cast("balance", EVE)) == before + 1234
    number = int(cast("block-number"))
    assert int(cast("balance", EVE, "--block", str(number - 1))) == before
    block = json.loads(cast("block", "latest", "--json"))
    assert int(block["number"], 16) == number

"""debug_traceTransaction / debug_traceCall / debug_traceBlockBy* over HTTP (geth shapes),
and the cross-rollup link in a callTracer trace (docs/messaging.md)."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from web3 import Web3

from tests.conftest import artifact, deploy
from tests.messaging.test_cross_rollup import (
    MAILBOX,
    XCOUNTER,
    contracts,  # noqa: F401 (a fixture)
    send,
)
from xseqd.node import NodeThread


def rpc(w3: Web3, method: str, *params: Any) -> Any:
    """The raw JSON-RPC response (result or error)."""
    return w3.provider.make_request(method, list(params))  # type: ignore[arg-type]


def result(w3: Web3, method: str, *params: Any) -> Any:
    response = rpc(w3, method, *params)
    assert "error" not in response, response
    return response["result"]


def proxy_code(target: str) -> bytes:
    """Forwards its calldata to ``target``; returns its return data or reverts with it."""
    t = bytes.fromhex(target[2:])
    body = (
        bytes.fromhex("36600060003760006000366000600073")
        + t
        + bytes.fromhex("5af13d600060003e3d6000826000")  # 0x6000 placeholder for dest
    )
    dest = len(body) + 2  # after JUMPI and REVERT
    body = body[:-2] + bytes([0x60, dest]) + bytes.fromhex("57fd") + bytes.fromhex("5bf3")
    assert body[dest] == 0x5B
    init = bytes([0x60, len(body), 0x80, 0x60, 11, 0x60, 0, 0x39, 0x60, 0, 0xF3])
    return init + body


@pytest.fixture(scope="module")
def setup(w3a: Web3, keys: list[Any]) -> dict[str, Any]:
    key = keys[5]
    counter = deploy(w3a, key, "Counter")
    tx = {
        "from": key.address,
        "nonce": w3a.eth.get_transaction_count(key.address, "pending"),
        "chainId": w3a.eth.chain_id,
        "data": proxy_code(counter.address),
        "gas": 200_000,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 10**6,
    }
    h = w3a.eth.send_raw_transaction(Account.sign_transaction(tx, key.key).raw_transaction)
    receipt = w3a.eth.wait_for_transaction_receipt(h)
    assert receipt.status == 1
    proxy = w3a.eth.contract(receipt.contractAddress, abi=artifact("Counter")["abi"])
    return {"key": key, "counter": counter, "proxy": proxy, "deploy_tx": h}


def test_call_tracer_nested_success(w3a: Web3, setup: dict[str, Any]) -> None:
    key, counter, proxy = setup["key"], setup["counter"], setup["proxy"]
    h = send(w3a, key, proxy.functions.increment(), gas=300_000)
    receipt = w3a.eth.get_transaction_receipt(h)
    assert receipt.status == 1
    trace = result(w3a, "debug_traceTransaction", "0x" + h.hex(), {"tracer": "callTracer"})
    assert trace["type"] == "CALL"
    assert trace["from"] == key.address.lower()
    assert trace["to"] == proxy.address.lower()
    assert int(trace["gas"], 16) == 300_000
    assert int(trace["gasUsed"], 16) == receipt.gasUsed
    assert "error" not in trace
    [inner] = trace["calls"]
    assert inner["type"] == "CALL"
    assert inner["from"] == proxy.address.lower() and inner["to"] == counter.address.lower()
    assert inner["input"] == trace["input"]
    assert "calls" not in inner and "error" not in inner
    # the same transaction through debug_traceBlockByNumber / ByHash
    by_number = result(
        w3a, "debug_traceBlockByNumber", hex(receipt.blockNumber), {"tracer": "callTracer"}
    )
    by_hash = result(
        w3a, "debug_traceBlockByHash", "0x" + receipt.blockHash.hex(), {"tracer": "callTracer"}
    )
    assert by_number == by_hash
    [entry] = [e for e in by_number if e["txHash"] == "0x" + h.hex()]
    assert entry["result"] == trace


def test_call_tracer_revert_in_child(w3a: Web3, setup: dict[str, Any]) -> None:
    key, proxy = setup["key"], setup["proxy"]
    data = proxy.encode_abi("fail", [])
    call = {"from": key.address, "to": proxy.address, "data": data}
    trace = result(w3a, "debug_traceCall", call, "latest", {"tracer": "callTracer"})
    assert trace["error"] == "execution reverted"
    assert trace["revertReason"] == "counter: always fails"
    [inner] = trace["calls"]
    assert inner["error"] == "execution reverted"
    assert inner["revertReason"] == "counter: always fails"
    assert inner["output"] == trace["output"]
    # a mined reverting transaction traces the same
    h = send(w3a, key, proxy.functions.fail(), gas=200_000)
    assert w3a.eth.get_transaction_receipt(h).status == 0
    mined = result(w3a, "debug_traceTransaction", "0x" + h.hex(), {"tracer": "callTracer"})
    assert mined["revertReason"] == "counter: always fails"
    assert mined["calls"][0]["error"] == "execution reverted"
    # pending works too (the open block's state, undone)
    pending = result(w3a, "debug_traceCall", call, "pending", {"tracer": "callTracer"})
    assert pending["revertReason"] == "counter: always fails"


def test_struct_logger(w3a: Web3, setup: dict[str, Any]) -> None:
    key, proxy = setup["key"], setup["proxy"]
    h = send(w3a, key, proxy.functions.increment(), gas=300_000)
    receipt = w3a.eth.get_transaction_receipt(h)
    trace = result(w3a, "debug_traceTransaction", "0x" + h.hex())
    assert trace["failed"] is False and trace["gas"] == receipt.gasUsed
    logs = trace["structLogs"]
    assert logs[0] == {
        "pc": 0,
        "op": "CALLDATASIZE",
        "gas": logs[0]["gas"],
        "gasCost": 2,
        "depth": 1,
        "stack": [],
    }
    assert {e["depth"] for e in logs} == {1, 2}
    call = next(e for e in logs if e["op"] == "CALL")
    assert call["depth"] == 1 and len(call["stack"]) == 7
    assert logs[-1]["op"] == "RETURN" and logs[-1]["depth"] == 1
    cut = result(w3a, "debug_traceTransaction", "0x" + h.hex(), {"limit": 5, "disableStack": True})
    assert len(cut["structLogs"]) == 5 and cut["truncated"] is True
    assert "stack" not in cut["structLogs"][0]
    # a call: revert data as returnValue
    data = proxy.encode_abi("fail", [])
    call_trace = result(
        w3a, "debug_traceCall", {"from": key.address, "to": proxy.address, "data": data}, "latest"
    )
    assert call_trace["failed"] is True and call_trace["returnValue"].startswith("0x08c379a0")
    assert call_trace["structLogs"][-1]["op"] == "REVERT"


def test_unsupported_tracer_and_unknown_tx(w3a: Web3, setup: dict[str, Any]) -> None:
    response = rpc(w3a, "debug_traceTransaction", "0x" + "11" * 32, {"tracer": "prestateTracer"})
    assert response["error"]["code"] == -32602
    assert "unsupported tracer" in response["error"]["message"]
    response = rpc(w3a, "debug_traceTransaction", "0x" + "11" * 32, {"tracer": "callTracer"})
    assert "error" in response


def test_trace_links_cross_rollup_delivery(
    devnet: NodeThread, w3a: Web3, w3b: Web3, keys: list[Any]
) -> None:
    mailbox = w3a.eth.contract(MAILBOX, abi=artifact("Mailbox")["abi"])
    bob = Web3.to_checksum_address("0x00000000000000000000000000000000000b0b01")
    h = send(w3a, keys[6], mailbox.functions.send(902, bob, b""), value=10**15)
    assert w3a.eth.get_transaction_receipt(h).status == 1
    trace = result(w3a, "debug_traceTransaction", "0x" + h.hex(), {"tracer": "callTracer"})
    [link] = trace["xseqDeliveries"]
    assert link["destination"] == 902 and link["source"] == 901
    assert devnet.endpoints is not None
    assert link["rpcUrl"] == devnet.endpoints.rollup_url(902)
    delivery = w3b.eth.get_transaction_receipt(link["deliveryTx"])
    assert delivery.status == 1
    msg = result(w3a, "xseq_getMessage", link["messageId"])
    assert msg["deliveryTx"] == link["deliveryTx"]
    # the delivery traces on the destination and points back at the origin
    there = result(w3b, "debug_traceTransaction", link["deliveryTx"], {"tracer": "callTracer"})
    assert there["to"] == MAILBOX.lower() and "error" not in there
    assert int(there["gasUsed"], 16) == delivery.gasUsed
    assert any(
        c["to"] == bob.lower() and int(c["value"], 16) == 10**15 for c in there.get("calls", [])
    )
    assert there["xseqDeliveredFrom"]["originTx"] == "0x" + h.hex()
    assert there["xseqDeliveredFrom"]["source"] == 901


def test_call_tracer_create(w3a: Web3, setup: dict[str, Any]) -> None:
    h = setup["deploy_tx"]
    trace = result(w3a, "debug_traceTransaction", "0x" + h.hex(), {"tracer": "callTracer"})
    assert trace["type"] == "CREATE"
    assert trace["to"] == setup["proxy"].address.lower()
    assert trace["output"] == "0x" + bytes(w3a.eth.get_code(setup["proxy"].address)).hex()
    assert int(trace["gasUsed"], 16) == w3a.eth.get_transaction_receipt(h).gasUsed
    assert "xseqDeliveries" not in trace


def test_trace_links_nested_deliveries(
    w3a: Web3,
    w3b: Web3,
    keys: list[Any],
    contracts: dict[str, Any],  # noqa: F811
) -> None:
    """A -> B -> A: the origin's trace lists both deliveries, the nested one back on A."""
    data = contracts[902]["counter"].encode_abi("pingBack", [])
    h = send(w3a, keys[7], contracts[901]["mailbox"].functions.send(902, XCOUNTER, data))
    assert w3a.eth.get_transaction_receipt(h).status == 1
    trace = result(w3a, "debug_traceTransaction", "0x" + h.hex(), {"tracer": "callTracer"})
    first, second = trace["xseqDeliveries"]
    assert (first["destination"], first["depth"]) == (902, 1)
    assert (second["source"], second["destination"], second["depth"]) == (902, 901, 2)
    back = result(w3a, "debug_traceTransaction", second["deliveryTx"], {"tracer": "callTracer"})
    assert "error" not in back and back["xseqDeliveredFrom"]["messageId"] == second["messageId"]
    there = result(w3b, "debug_traceTransaction", first["deliveryTx"], {"tracer": "callTracer"})
    assert there["xseqDeliveredFrom"]["originTx"] == "0x" + h.hex()


def test_trace_in_a_block_of_several_and_pending(
    w3a: Web3, keys: list[Any], setup: dict[str, Any]
) -> None:
    """With automine off: traceCall at pending sees (and leaves) the open block's state;
    the second transaction of a block is traced after replaying the first."""
    counter, proxy = setup["counter"], setup["proxy"]
    result(w3a, "evm_setAutomine", False)
    try:
        before = counter.functions.count().call(block_identifier="pending")
        h1 = send(w3a, keys[8], proxy.functions.increment(), gas=300_000)
        h2 = send(w3a, keys[9], proxy.functions.add(5), gas=300_000)
        assert counter.functions.count().call(block_identifier="pending") == before + 6
        call = {
            "from": keys[8].address,
            "to": counter.address,
            "data": counter.encode_abi("count", []),
        }
        traced = result(w3a, "debug_traceCall", call, "pending", {"tracer": "callTracer"})
        assert int(traced["output"], 16) == before + 6
        inc = {
            "from": keys[8].address,
            "to": proxy.address,
            "data": proxy.encode_abi("increment", []),
        }
        result(w3a, "debug_traceCall", inc, "pending", {"tracer": "callTracer"})
        assert counter.functions.count().call(block_identifier="pending") == before + 6
        result(w3a, "evm_mine")
    finally:
        result(w3a, "evm_setAutomine", True)
    r1, r2 = (w3a.eth.get_transaction_receipt(h) for h in (h1, h2))
    assert r1.blockNumber == r2.blockNumber and r2.transactionIndex == r1.transactionIndex + 1
    second = result(w3a, "debug_traceTransaction", "0x" + h2.hex(), {"tracer": "callTracer"})
    assert second["calls"][0]["to"] == counter.address.lower() and "error" not in second
    block = result(w3a, "debug_traceBlockByNumber", hex(r1.blockNumber))
    assert [e["txHash"] for e in block] == ["0x" + h1.hex(), "0x" + h2.hex()]
    assert [e["result"]["gas"] for e in block] == [r1.gasUsed, r2.gasUsed]
    assert all(not e["result"]["failed"] for e in block)

"""Foundry's cast (the npm build `make install` puts in node_modules/.bin) reads traces from
a real xseqd server (issue 9): `cast run` replays a transaction over xseqd's state and agrees
with its receipt, `cast call --trace` shows a decoded revert, and `cast rpc debug_trace*`
gives geth's callTracer / struct-logger shapes, with the cross-rollup link."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
from web3 import Web3

from tests.conftest import ROOT, artifact
from xseqd.node import NodeThread

CAST = ROOT / "node_modules" / ".bin" / "cast"
XCOUNTER = Web3.to_checksum_address("0x000000000000000000000000000000000000c0c0")
INCREMENTED = Web3.keccak(text="Incremented(address,uint256)").hex()


def cast(*args: str) -> str:
    assert CAST.exists(), "run `make install` (npm installs Foundry's cast)"
    done = subprocess.run([str(CAST), *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"cast {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def cast_output(*args: str) -> str:
    """stdout and stderr of a cast command whatever its exit code (`cast call --trace`
    exits 0 on a revert and says so on stderr)."""
    done = subprocess.run([str(CAST), *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def urls(devnet: NodeThread) -> tuple[str, str]:
    assert devnet.endpoints is not None
    return devnet.endpoints.rollup_url(901), devnet.endpoints.rollup_url(902)


@pytest.fixture(scope="module")
def key(keys: list[Any]) -> str:
    return "0x" + keys[8].key.hex()


def send(url: str, key: str, *args: str) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(
        cast("send", "--private-key", key, "--rpc-url", url, "--json", *args)
    )
    assert out["status"] == "0x1", out
    return out


def test_cast_run_replays_a_transaction_as_xseqd_executed_it(
    urls: tuple[str, str], key: str, w3a: Web3
) -> None:
    url = urls[0]
    created = send(url, key, "--create", artifact("Counter")["bytecode"])
    counter = created["contractAddress"]
    sent = send(url, key, counter, "increment()")
    receipt = w3a.eth.get_transaction_receipt(sent["transactionHash"])
    out = cast("run", sent["transactionHash"], "--rpc-url", url)
    assert "Transaction successfully executed." in out, out
    assert f"Gas used: {receipt.gasUsed}" in out, out
    assert "emit topic 0: 0x" + INCREMENTED.removeprefix("0x") in out, out
    # the struct logger through cast rpc: geth's shape, same gas
    trace = json.loads(
        cast("rpc", "--rpc-url", url, "debug_traceTransaction", sent["transactionHash"], "{}")
    )
    assert trace["failed"] is False and trace["gas"] == receipt.gasUsed
    ops = [log["op"] for log in trace["structLogs"]]
    assert "SSTORE" in ops and "LOG2" in ops and ops[-1] == "STOP"
    # a reverting call, traced by cast: the custom error's selector and arguments
    reverted = cast_output("call", "--trace", counter, "add(uint256)", "2000", "--rpc-url", url)
    selector = Web3.keccak(text="TooLarge(uint256,uint256)")[:4].hex()
    assert "[Revert] custom error 0x" + selector.removeprefix("0x") in reverted, reverted
    assert "Transaction failed" in reverted
    # debug_traceCall with the callTracer
    data = w3a.eth.contract(abi=artifact("Counter")["abi"]).encode_abi("add", [2000])
    call = json.dumps({"to": counter, "data": data})
    traced = json.loads(
        cast("rpc", "--rpc-url", url, "debug_traceCall", call, "latest", '{"tracer":"callTracer"}')
    )
    assert traced["error"] == "execution reverted" and traced["output"].startswith(
        "0x" + selector.removeprefix("0x")
    )


def test_cast_traces_follow_a_cross_rollup_message(
    urls: tuple[str, str], key: str, w3b: Web3
) -> None:
    """The origin's callTracer trace lists its delivery on the other rollup; the delivery's
    trace names its origin (docs/messaging.md)."""
    url_a, url_b = urls
    code = artifact("XCounter")["deployedBytecode"]
    for url in urls:
        cast("rpc", "--rpc-url", url, "anvil_setCode", XCOUNTER, code)
    before = w3b.eth.contract(XCOUNTER, abi=artifact("XCounter")["abi"]).functions.count().call()
    sent = send(url_a, key, XCOUNTER, "sendPing(uint256,address)", "902", XCOUNTER)
    origin = sent["transactionHash"]
    trace = json.loads(
        cast("rpc", "--rpc-url", url_a, "debug_traceTransaction", origin, '{"tracer":"callTracer"}')
    )
    [link] = trace["xseqDeliveries"]
    assert link["source"] == 901 and link["destination"] == 902
    assert link["rpcUrl"] == url_b
    there = json.loads(
        cast(
            "rpc",
            "--rpc-url",
            url_b,
            "debug_traceTransaction",
            link["deliveryTx"],
            '{"tracer":"callTracer"}',
        )
    )
    assert there["xseqDeliveredFrom"]["originTx"] == origin
    assert there["xseqDeliveredFrom"]["messageId"] == link["messageId"]
    assert "error" not in there
    after = w3b.eth.contract(XCOUNTER, abi=artifact("XCounter")["abi"]).functions.count().call()
    assert after == before + 1
    # cast run replays the origin on 901 (the mailbox call and its event) and agrees on gas
    out = cast("run", origin, "--rpc-url", url_a)
    assert "Transaction successfully executed." in out
    assert f"Gas used: {int(sent['gasUsed'], 16)}" in out, out
    assert "0x4200000000000000000000000000000000000023" in out

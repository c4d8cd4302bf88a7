"""Benchmark: what bounding calls costs, and what it buys (issue 9).

  overhead   a call's state checks the clock at every jump and message opcode
             (chains/limits.py): median time of the same call on a plain and on a checked
             state, in-process (a value transfer; a 20,000-iteration loop, one JUMPI in
             seven opcodes, the worst case)
  liveness   `xseqd devnet` as a subprocess: one endless request (aborted at the timeout)
             while a client polls eth_blockNumber every 5 ms; latency median / p99 / max:
             eth_call at latest (instant mode), eth_call at pending and xseq_callBundle
             with a block open (slot-time mode: copies of the open block's state)
  copy       a pending eth_call after each transaction into an open block (its state is
             copied) against the same call at latest

Usage: .venv/bin/python bench/call_limits.py [--timeout 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.procs import Devnet, free_port  # noqa: E402
from xseqd.chains import calls  # noqa: E402
from xseqd.chains.limits import CallLimits  # noqa: E402
from xseqd.config import Settings  # noqa: E402
from xseqd.node import Node  # noqa: E402

SENDER = bytes.fromhex("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
LOOP_20K = bytes.fromhex("614e205b600190038060035700")


def overhead() -> None:
    node = Node(Settings.for_tests())
    rollup = node.rollups[0]
    header = rollup.head.block.header
    checked_limit = calls.limit
    limits = CallLimits()

    def run(req: calls.CallRequest, checked: bool) -> float:
        calls.limit = checked_limit if checked else (lambda state: None)  # type: ignore[assignment]
        t0 = time.perf_counter()
        out = calls.call(rollup, header, req, limits)
        took = time.perf_counter() - t0
        assert out.success, out
        return took

    work = {
        "value transfer": (calls.CallRequest(sender=SENDER, to=b"\xb0" * 20, value=1), 200),
        "20k-iteration loop": (calls.CallRequest(sender=SENDER, data=LOOP_20K), 15),
    }
    for name, (req, reps) in work.items():
        run(req, True), run(req, False)
        plain, checked = [], []
        for _ in range(reps):
            plain.append(run(req, False))
            checked.append(run(req, True))
        a, b = statistics.median(plain), statistics.median(checked)
        print(
            f"overhead  {name:20} plain {a * 1e3:8.3f} ms  checked {b * 1e3:8.3f} ms  "
            f"{100 * (b - a) / a:+.1f}% (median of {reps})"
        )
    calls.limit = checked_limit


LOOP_CALL = {"data": "0x5b600056", "gas": "0xffffffffffff"}


def _post(client: httpx.Client, url: str, method: str, params: list[Any]) -> Any:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    return client.post(url, json=body).json()


def _signed(nonce: int, data: str = "0x", to: str | None = None, gas: int = 21_000) -> str:
    from eth_account import Account

    from xseqd.accounts import dev_accounts

    tx: dict[str, Any] = {
        "chainId": 901,
        "nonce": nonce,
        "gas": gas,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 0,
        "value": 1 if to else 0,
        "data": data,
    }
    if to:
        tx["to"] = bytes.fromhex(to[2:])
    return "0x" + bytes(Account.sign_transaction(tx, dev_accounts(1)[0].key).raw_transaction).hex()


def liveness(timeout: str, where: str) -> None:
    """One endless request while a client polls eth_blockNumber every 5 ms. ``where``:
    ``latest`` (instant mode, sealed block), ``pending`` (slot-time mode, a block open: a
    copy of the open block's state), ``callBundle`` (block open: forks of the open blocks)."""
    port = free_port()
    open_block = where != "latest"
    with tempfile.TemporaryDirectory() as tmp:
        devnet = Devnet(
            "--no-l1", "--port", str(port), "--db", "memory", "--data-dir", tmp,
            "--rpc-evm-timeout", timeout, *(["--slot-time", "600"] if open_block else []),
        )  # fmt: skip
        try:
            assert devnet.wait_ready(), devnet.output
            base = f"http://127.0.0.1:{port}"
            url = base + "/rollup/901"
            with httpx.Client(timeout=10) as client:
                bob = "0x" + "b0" * 20
                _post(client, url, "eth_sendRawTransaction", [_signed(0, to=bob)])
                if where == "callBundle":
                    target, method = base + "/", "xseq_callBundle"
                    params: list[Any] = [{"txs": [_signed(1, "0x5b600056", gas=29_000_000)]}]
                else:
                    target, method, params = url, "eth_call", [LOOP_CALL, where]
            result: dict[str, Any] = {}

            def endless() -> None:
                t0 = time.monotonic()
                with httpx.Client(timeout=120) as c:
                    result["reply"] = _post(c, target, method, params)
                result["took"] = time.monotonic() - t0

            caller = threading.Thread(target=endless)
            caller.start()
            time.sleep(0.1)
            latencies = []
            body = {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}
            with httpx.Client(timeout=10) as client:
                while caller.is_alive():
                    t0 = time.monotonic()
                    client.post(url, json=body)
                    latencies.append(time.monotonic() - t0)
                    time.sleep(0.005)
            caller.join()
            latencies.sort()
            p99 = statistics.quantiles(latencies, n=100)[98]
            label = f"{method} at {where}" if method == "eth_call" else f"{method} (block open)"
            print(
                f"liveness  {label:30} {result['reply'].get('error', {}).get('message')} after "
                f"{result['took']:.2f}s; eth_blockNumber meanwhile: {len(latencies)} requests, "
                f"median {statistics.median(latencies) * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms, "
                f"max {latencies[-1] * 1e3:.1f} ms"
            )
        finally:
            devnet.stop()


def copy_cost(rounds: int = 60) -> None:
    """What a `pending` call costs while a block is open (a copy of the open block's state,
    written to the database once per new transaction) against the same call at `latest`:
    each round sends one transfer into the open block, then makes the call."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        devnet = Devnet(
            "--no-l1", "--port", str(port), "--db", "memory", "--data-dir", tmp,
            "--slot-time", "600",
        )  # fmt: skip
        try:
            assert devnet.wait_ready(), devnet.output
            url = f"http://127.0.0.1:{port}/rollup/901"
            call = {"from": "0x" + "f3" * 20, "to": "0x" + "b0" * 20, "value": "0x0"}
            took: dict[str, list[float]] = {"latest": [], "pending": []}
            with httpx.Client(timeout=10) as client:
                for i in range(rounds):
                    _post(client, url, "eth_sendRawTransaction", [_signed(i, to="0x" + "b1" * 20)])
                    for tag in ("latest", "pending"):
                        t0 = time.perf_counter()
                        assert "result" in _post(client, url, "eth_call", [call, tag])
                        took[tag].append(time.perf_counter() - t0)
            a, b = statistics.median(took["latest"]), statistics.median(took["pending"])
            print(
                f"copy      eth_call after each of {rounds} txs into an open block: latest "
                f"{a * 1e3:.2f} ms, pending {b * 1e3:.2f} ms (x{b / a:.2f}, medians)"
            )
        finally:
            devnet.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--timeout", default="5", help="--rpc-evm-timeout of the devnet")
    args = parser.parse_args()
    overhead()
    for where in ("latest", "pending", "callBundle"):
        liveness(args.timeout, where)
    copy_cost()


if __name__ == "__main__":
    main()

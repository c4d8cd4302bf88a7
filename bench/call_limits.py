"""Benchmark: what bounding calls costs, and what it buys (issue 9).

  overhead   a call's state checks the clock at every jump and message opcode
             (chains/limits.py): median time of the same call on a plain and on a checked
             state, in-process (a value transfer; a 20,000-iteration loop, one JUMPI in
             seven opcodes, the worst case)
  liveness   `xseqd devnet` as a subprocess: one endless eth_call (aborted at the timeout)
             while a client polls eth_blockNumber every 5 ms; latency median / p99 / max

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


def liveness(timeout: str) -> None:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        devnet = Devnet(
            "--no-l1", "--port", str(port), "--db", "memory", "--data-dir", tmp,
            "--rpc-evm-timeout", timeout,
        )  # fmt: skip
        try:
            assert devnet.wait_ready(), devnet.output
            url = f"http://127.0.0.1:{port}/rollup/901"
            result: dict[str, Any] = {}

            def endless() -> None:
                body = {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "eth_call",
                    "params": [{"data": "0x5b600056", "gas": "0xffffffffffff"}, "latest"],
                }
                t0 = time.monotonic()
                result["reply"] = httpx.post(url, json=body, timeout=120).json()
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
            print(f"liveness  endless eth_call: {result['reply'].get('error')} after "
                  f"{result['took']:.2f}s")  # fmt: skip
            print(
                f"liveness  eth_blockNumber meanwhile: {len(latencies)} requests, median "
                f"{statistics.median(latencies) * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms, "
                f"max {latencies[-1] * 1e3:.1f} ms"
            )
        finally:
            devnet.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--timeout", default="5", help="--rpc-evm-timeout of the devnet")
    args = parser.parse_args()
    overhead()
    liveness(args.timeout)


if __name__ == "__main__":
    main()

"""Benchmark: cross-rollup ETH transfers (901 -> 902 through the mailbox) vs plain
transfers, same client, same run.

  latency = from sending the transaction until both sides are executed and both receipts
            are available (the source receipt, then the delivery's receipt on 902)
For comparison: Supersim relays between 2-second blocks; optimistic bridges wait days.
Usage: .venv/bin/python bench/messaging.py [--n 200]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from eth_abi import encode
from eth_hash.auto import keccak

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.rollup_rpc import KEYS, SINK, Rpc, free_port, pct, sign_for, start_xseqd  # noqa: E402

MAILBOX = "0x4200000000000000000000000000000000000023"
SEND = keccak(b"send(uint256,address,bytes)")[:4]
MESSAGE_SENT = (
    "0x" + keccak(b"MessageSent(bytes32,uint256,address,address,uint256,uint256,bytes)").hex()
)


def cross_transfer(
    a: Rpc, b: Rpc, root: Rpc, n: int, key_index: int = 3
) -> list[tuple[Callable[[], None], Callable[[], int]]]:
    """``n`` cross-rollup transfers of 1 wei from 901 to ``SINK`` on 902, each as (send,
    then wait until both receipts are there -> how many requests that took)."""
    data = SEND + encode(["uint256", "address", "bytes"], [902, SINK, b""])
    key = KEYS[key_index]
    raws = [sign_for(901, key, i, MAILBOX, data, value=1, gas=200_000) for i in range(n)]
    sent: list[str] = []

    def step(raw: str) -> tuple[Callable[[], None], Callable[[], int]]:
        def send() -> None:
            sent.append(a("eth_sendRawTransaction", raw))

        def both_sides() -> int:
            requests = 0
            receipt = None
            while receipt is None:
                receipt = a("eth_getTransactionReceipt", sent[-1])
                requests += 1
            log = next(x for x in receipt["logs"] if x["topics"][0] == MESSAGE_SENT)
            message = root("xseq_getMessage", log["topics"][1])
            requests += 1
            delivered = None
            while delivered is None:
                delivered = b("eth_getTransactionReceipt", message["deliveryTx"])
                requests += 1
            assert delivered["status"] == "0x1", delivered
            return requests

        return send, both_sides

    return [step(raw) for raw in raws]


def measure(n: int) -> dict[str, tuple[float, list[float]]]:
    """Cross-rollup transfers (both receipts) and plain transfers: rate, latencies (s)."""
    port = free_port()
    proc = start_xseqd(port)
    try:
        base = f"http://127.0.0.1:{port}"
        root, a, b = Rpc(base + "/"), Rpc(base + "/rollup/901"), Rpc(base + "/rollup/902")
        cross = cross_transfer(a, b, root, n)
        plain = [sign_for(901, KEYS[4], i, SINK, value=1) for i in range(n)]
        lat_x = []
        start = time.perf_counter()
        for send, both_sides in cross:
            t0 = time.perf_counter()
            send()
            both_sides()
            lat_x.append(time.perf_counter() - t0)
        rate_x = n / (time.perf_counter() - start)
        lat_p = []
        start = time.perf_counter()
        for raw in plain:
            lat_p.append(a.send_and_wait(raw))
        rate_p = n / (time.perf_counter() - start)
        arrived = int(b("eth_getBalance", SINK, "latest"), 16)
        assert arrived == n, arrived
    finally:
        proc.terminate()
        proc.wait(10)
    return {"cross": (rate_x, lat_x), "plain": (rate_p, lat_p)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args()
    r = measure(args.n)
    (rate_x, lat_x), (rate_p, lat_p) = r["cross"], r["plain"]
    print(f"\ncross-rollup transfers 901 -> 902 (n={args.n}), xseqd instant mode")
    print(f"{'workload':<26} {'per s':>7} {'p50 ms':>8} {'p99 ms':>8}")
    rows = (("cross-rollup, both sides", rate_x, lat_x), ("plain transfer on 901", rate_p, lat_p))
    for label, rate, lat in rows:
        print(f"{label:<26} {rate:>7.1f} {pct(lat, 0.5):>8} {pct(lat, 0.99):>8}")
    print(
        f"ratio cross/plain = {rate_x / rate_p:.2f}  (Supersim: next 2 s block; optimistic: days)"
    )


if __name__ == "__main__":
    main()

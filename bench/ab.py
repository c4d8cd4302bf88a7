"""Before/after in one run: the same workloads against two checkouts of xseqd, alternated
(A, B, A, B, ...) so that both see the same machine load; prints each round and the
median ratio B/A.

  seq-eth   sequential send-and-wait ETH transfers, in-memory log (tx/s, p50, and the
            server's CPU milliseconds per transaction, the steadiest number on a busy box)
  erc20-x8  8 concurrent clients, ERC-20 send + receipt, in-memory log (tx/s, server CPU
            ms per transaction, transactions per busy block)
  bundles   2-leg bundles, durable log (legs/s) and the order-receipt p50 at light load
  cross     cross-rollup transfers 901 -> 902 until both receipts (p50), in-memory log

Usage: git archive <commit> | tar -x -C /tmp/base
       .venv/bin/python bench/ab.py /tmp/base [--rounds 3] [--n 200]
(A = the checkout given, B = this one; both run with this checkout's virtualenv.)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import bundles, messaging  # noqa: E402
from bench.rollup_rpc import (  # noqa: E402
    CHAIN_ID,
    KEYS,
    SINK,
    Rpc,
    free_port,
    pct,
    sign,
    start_xseqd,
    token_setup,
)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (less sensitive to a busy machine than
    wall-clock time)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def seq_eth(n: int) -> tuple[float, list[float], float]:
    port = free_port()
    proc = start_xseqd(port)
    try:
        rpc = Rpc(f"http://127.0.0.1:{port}/rollup/{CHAIN_ID}")
        raws = [sign(KEYS[9], i, SINK, value=1) for i in range(n + 10)]
        for raw in raws[:10]:
            rpc.send_and_wait(raw)
        import time

        lat = []
        c0 = cpu_seconds(proc.pid)
        t0 = time.perf_counter()
        for raw in raws[10:]:
            lat.append(rpc.send_and_wait(raw))
        elapsed = time.perf_counter() - t0
        return n / elapsed, lat, (cpu_seconds(proc.pid) - c0) / n * 1000
    finally:
        proc.terminate()
        proc.wait(10)


def erc20_x8(per_client: int) -> tuple[float, float, float]:
    """8 clients sending ERC-20 transfers and waiting for each receipt: tx/s, server CPU
    ms per transaction, and the mean number of transactions per non-empty block."""
    import threading
    import time

    port = free_port()
    proc = start_xseqd(port)
    try:
        url = f"http://127.0.0.1:{port}/rollup/{CHAIN_ID}"
        rpc = Rpc(url)
        setup, clients = token_setup(per_client)
        for raw in setup:
            rpc.send_and_wait(raw)
        first = int(rpc("eth_blockNumber"), 16) + 1

        def client(i: int) -> None:
            mine = Rpc(url)
            for raw in clients[i]:
                mine.send_and_wait(raw)

        threads = [threading.Thread(target=client, args=(i,)) for i in clients]
        c0 = cpu_seconds(proc.pid)
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        total = sum(len(v) for v in clients.values())
        cpu = (cpu_seconds(proc.pid) - c0) / total * 1000
        last = int(rpc("eth_blockNumber"), 16)
        busy = 0
        for number in range(first, last + 1):
            block = rpc("eth_getBlockByNumber", hex(number), False)
            busy += 1 if block["transactions"] else 0
        return total / elapsed, cpu, total / max(busy, 1)
    finally:
        proc.terminate()
        proc.wait(10)


def one(code: str | None, n: int, bundles_too: bool = True) -> dict[str, Any]:
    if code:
        os.environ["XSEQD_BENCH_CODE"] = code
    else:
        os.environ.pop("XSEQD_BENCH_CODE", None)
    rate, lat, cpu = seq_eth(n)
    out = {"seq tx/s": rate, "seq p50 ms": float(pct(lat, 0.5)), "seq cpu ms/tx": cpu}
    e_rate, e_cpu, per_block = erc20_x8(max(n // 8, 10))
    out.update({"erc20 tx/s": e_rate, "erc20 cpu ms/tx": e_cpu, "erc20 tx/block": per_block})
    if bundles_too:
        b = bundles.measure(n // 2, bare_too=False)
        out["bundle legs/s"] = b["bundles"][0]
        out["receipt p50 ms"] = float(pct(b["light"], 0.5))
        out["cross p50 ms"] = float(pct(messaging.measure(max(n // 4, 20))["cross"][1], 0.5))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--seq-only", action="store_true", help="no bundle workload")
    args = parser.parse_args()
    rows: dict[str, list[tuple[float, float]]] = {}
    for r in range(args.rounds):
        a, b = one(args.base, args.n, not args.seq_only), one(None, args.n, not args.seq_only)
        print(f"round {r + 1}: " + "  ".join(f"{k} {a[k]:.1f} -> {b[k]:.1f}" for k in a))
        for k in a:
            rows.setdefault(k, []).append((a[k], b[k]))
    print(f"\nbefore ({args.base}) vs after (this checkout), {args.rounds} rounds alternated;")
    print("median of the rounds, and the best round (least disturbed by other load)")
    print(
        f"{'metric':<16} {'before':>8} {'after':>8} {'ratio':>7} {'best before':>12} {'after':>7}"
    )
    for k, pairs in rows.items():
        before = statistics.median(p[0] for p in pairs)
        after = statistics.median(p[1] for p in pairs)
        pick = max if "/s" in k and "ms/" not in k else min
        bb, ba = pick(p[0] for p in pairs), pick(p[1] for p in pairs)
        print(f"{k:<16} {before:>8.1f} {after:>8.1f} {after / before:>7.2f} {bb:>12.1f} {ba:>7.1f}")


if __name__ == "__main__":
    main()

"""Benchmark: replicated xseqd on PostgreSQL — throughput against SQLite, follower lag
under load, and failover time.

  throughput  plain transfers, sequential (send, answer) and 8 concurrent clients, against
              one xseqd on SQLite (its data dir), one replica leading on PostgreSQL, and
              the same leader reached through a follower (forwarded writes)
  lag         3 replicas under a load of plain txs and 2-leg bundles (4 clients, any
              replica): time from the leader's answer to the receipt being served by each
              follower, and the lag in slots that xseq_sequencer reports
  failover    SIGKILL of the leader under that load: time to the first acknowledged write
              on the new leader (a prober retries on the survivors); --lease-ttl 2

A throwaway PostgreSQL cluster (initdb/pg_ctl, as in the tests) in a temp dir; no L1
(--l1-rpc none), so the poster is not measured. Processes are real ``xseqd devnet``.
Usage: .venv/bin/python bench/replicas.py [--n 300] [--rounds 3]
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.rollup_rpc import KEYS, SINK, Rpc, free_port, sign_for, start_xseqd  # noqa: E402
from tests.replicas.cluster import Load, Replicas, call  # noqa: E402
from tests.replicas.pg import PgCluster  # noqa: E402


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def throughput(urls: tuple[str, str], n: int) -> tuple[float, float]:
    """tx/s sequential (send and answer) and with 8 concurrent clients; ``urls``: where to
    send, and where to read the nonces (the leader)."""
    send, read = urls
    start_nonce = {
        i: int(Rpc(read)("eth_getTransactionCount", KEYS[i].address, "latest"), 16)
        for i in range(1, 9)
    }
    rpc = Rpc(send)
    txs = [sign_for(901, KEYS[1], start_nonce[1] + k, SINK, value=1) for k in range(n)]
    t0 = time.perf_counter()
    for raw in txs:
        rpc("eth_sendRawTransaction", raw)
    sequential = n / (time.perf_counter() - t0)
    per = n // 8
    batches = {
        i: [
            sign_for(901, KEYS[i], start_nonce[i] + k + (n if i == 1 else 0), SINK, value=1)
            for k in range(per)
        ]
        for i in range(1, 9)
    }

    def client(i: int) -> None:
        r = Rpc(send)
        for raw in batches[i]:
            r("eth_sendRawTransaction", raw)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(1, 9)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sequential, 8 * per / (time.perf_counter() - t0)


def lag_under_load(cluster: Replicas, seconds: float) -> tuple[list[float], list[int]]:
    """Receipt delays on followers (seconds) and reported lags (slots), under the load."""
    load = Load(cluster)
    load.start()
    delays: list[float] = []
    lags: list[int] = []
    key = KEYS[8]
    leader = cluster.leader()
    nonce = int(
        Rpc(cluster.url(leader) + "/rollup/902")("eth_getTransactionCount", key.address, "latest"),
        16,
    )
    end = time.time() + seconds
    try:
        while time.time() < end:
            raw = sign_for(902, key, nonce, SINK, value=1)
            nonce += 1
            tx_hash = Rpc(cluster.url(leader) + "/rollup/902")("eth_sendRawTransaction", raw)
            acked = time.perf_counter()
            for i in cluster.live():
                if i == leader:
                    continue
                follower = Rpc(cluster.url(i) + "/rollup/902")
                while follower("eth_getTransactionReceipt", tx_hash) is None:
                    time.sleep(0.002)
                delays.append(time.perf_counter() - acked)
            info = call(cluster.url(leader) + "/", "xseq_sequencer")["result"]["replication"]
            lags += [r["lagSlots"] for r in info["replicas"] if r["role"] == "follower"]
            time.sleep(0.1)
    finally:
        load.stop()
    return delays, lags


def failovers(cluster: Replicas, rounds: int) -> list[float]:
    """Kill the leader under load; seconds to the first write acknowledged after it."""
    load = Load(cluster)
    load.start()
    times: list[float] = []
    key = KEYS[9]
    try:
        for _ in range(rounds):
            time.sleep(2.0)
            leader = cluster.leader()
            nonce = int(
                Rpc(cluster.url(leader) + "/rollup/901")(
                    "eth_getTransactionCount", key.address, "latest"
                ),
                16,
            )
            raw = sign_for(901, key, nonce, SINK, value=1)
            cluster.kill(leader)
            killed = time.perf_counter()
            while True:  # the prober: any survivor, until acknowledged
                answered: Any = None
                for i in cluster.live():
                    try:
                        answered = call(
                            cluster.url(i) + "/rollup/901", "eth_sendRawTransaction", raw
                        )
                    except Exception:
                        continue
                    if "result" in answered:
                        break
                if answered is not None and "result" in answered:
                    break
                time.sleep(0.01)
            times.append(time.perf_counter() - killed)
            cluster.start(leader)
    finally:
        load.stop()
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lag-seconds", type=float, default=10.0)
    args = parser.parse_args()
    pg = PgCluster()
    rows: list[tuple[str, float, float]] = []
    try:
        with tempfile.TemporaryDirectory() as data:
            port = free_port()
            proc = start_xseqd(port, ("--data-dir", data))
            try:
                url = f"http://127.0.0.1:{port}/rollup/901"
                rows.append(("SQLite (one process)", *throughput((url, url), args.n)))
            finally:
                proc.terminate()
                proc.wait()
        with tempfile.TemporaryDirectory() as data:
            cluster = Replicas(1, pg.new_database(), "none", Path(data))
            try:
                url = cluster.url(0) + "/rollup/901"
                rows.append(("PostgreSQL leader", *throughput((url, url), args.n)))
            finally:
                cluster.stop()
        with tempfile.TemporaryDirectory() as data:
            cluster = Replicas(3, pg.new_database(), "none", Path(data))
            try:
                leader = cluster.leader()
                follower = [i for i in cluster.live() if i != leader][0]
                urls = (cluster.url(follower) + "/rollup/901", cluster.url(leader) + "/rollup/901")
                rows.append(("PostgreSQL via a follower", *throughput(urls, args.n)))
                delays, lags = lag_under_load(cluster, args.lag_seconds)
                times = failovers(cluster, args.rounds)
            finally:
                cluster.stop()
    finally:
        pg.stop()
    base = rows[0][1], rows[0][2]
    print(f"\nthroughput, plain transfers on 901 (n={args.n}), tx/s")
    print(f"{'log':<28}{'sequential':>12}{'ratio':>8}{'8 clients':>12}{'ratio':>8}")
    for name, seq, conc in rows:
        print(f"{name:<28}{seq:>12.1f}{seq / base[0]:>8.2f}{conc:>12.1f}{conc / base[1]:>8.2f}")
    print(f"\nfollower lag under load ({args.lag_seconds:g}s, 3 replicas, 4 load clients)")
    print(f"{'':<28}{'median':>10}{'p95':>10}{'max':>10}{'samples':>9}")
    ms = [d * 1000 for d in delays]
    print(
        f"{'receipt on follower, ms':<28}{statistics.median(ms):>10.1f}{pct(ms, 0.95):>10.1f}"
        f"{max(ms):>10.1f}{len(ms):>9}"
    )
    print(
        f"{'reported lag, slots':<28}{statistics.median(lags):>10.1f}{pct(lags, 0.95):>10.1f}"
        f"{max(lags):>10}{len(lags):>9}"
    )
    print(f"\nfailover (SIGKILL of the leader under load, --lease-ttl 2), {len(times)} rounds")
    print("kill -> first acknowledged write, s: " + ", ".join(f"{t:.2f}" for t in times))
    print(f"median {statistics.median(times):.2f}s, max {max(times):.2f}s")


if __name__ == "__main__":
    main()

"""Benchmark: 2-leg atomic bundles vs the same legs as plain transactions vs bare py-evm.

  bundles   xseq_sendBundle with one leg on 901 and one on 902 (instant mode), sequential;
            latency = time to the answer, which carries the signed order receipt
  plain     the same number of legs sent as eth_sendRawTransaction (two calls per pair)
  bare      py-evm MiningChain executing the same legs, one block per pair per rollup

xseqd runs as a subprocess with its durable log in a temp dir (as a user runs it).
Usage: .venv/bin/python bench/bundles.py [--n 200]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.rollup_rpc import KEYS, SINK, Rpc, free_port, pct, sign_for, start_xseqd  # noqa: E402


def pairs(n: int, offset: int) -> list[tuple[str, str]]:
    return [
        (
            sign_for(901, KEYS[1], offset + i, SINK, value=1),
            sign_for(902, KEYS[2], offset + i, SINK, value=1),
        )
        for i in range(n)
    ]


def measure(n: int, bare_too: bool = True) -> dict[str, Any]:
    """Bundles, plain legs and light-load bundles against xseqd, the same legs on bare
    py-evm: rates (legs/s) and latency lists (seconds)."""
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        proc = start_xseqd(port, ("--data-dir", data))
        try:
            root = Rpc(f"http://127.0.0.1:{port}/")
            a, b = (
                Rpc(f"http://127.0.0.1:{port}/rollup/901"),
                Rpc(f"http://127.0.0.1:{port}/rollup/902"),
            )
            bundles = pairs(n, 0)
            lat_b = []
            start_t = time.perf_counter()
            for leg_a, leg_b in bundles:
                t0 = time.perf_counter()
                result = root("xseq_sendBundle", {"txs": [leg_a, leg_b]})
                lat_b.append(time.perf_counter() - t0)
                assert result["status"] == "included", result
            rate_b = 2 * n / (time.perf_counter() - start_t)
            plain = pairs(n, n)
            lat_p = []
            start_t = time.perf_counter()
            for leg_a, leg_b in plain:
                t0 = time.perf_counter()
                a("eth_sendRawTransaction", leg_a)
                b("eth_sendRawTransaction", leg_b)
                lat_p.append(time.perf_counter() - t0)
            rate_p = 2 * n / (time.perf_counter() - start_t)
            lat_light: list[float] = []
            assert int(a("eth_getTransactionCount", KEYS[1].address, "latest"), 16) == 2 * n
            light = pairs(50, 2 * n)
            for leg_a, leg_b in light:  # light load: one bundle every 25 ms
                time.sleep(0.025)
                t0 = time.perf_counter()
                assert root("xseq_sendBundle", {"txs": [leg_a, leg_b]})["receipt"]
                lat_light.append(time.perf_counter() - t0)
        finally:
            proc.terminate()
            proc.wait(10)
    rate_bare = bare(pairs(n, 0)) if bare_too else 0.0
    return {
        "bundles": (rate_b, lat_b),
        "plain": (rate_p, lat_p),
        "light": lat_light,
        "bare": rate_bare,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    n = parser.parse_args().n
    r = measure(n)
    (rate_b, lat_b), (rate_p, lat_p), lat_light, rate_bare = (
        r["bundles"],
        r["plain"],
        r["light"],
        r["bare"],
    )
    print(f"\n2-leg bundles (n={n} bundles = {2 * n} legs), xseqd instant mode with durable log")
    print(f"{'target':<22} {'legs/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    print(f"{'xseqd bundles':<22} {rate_b:>8.1f} {pct(lat_b, 0.5):>8} {pct(lat_b, 0.99):>8}")
    print(
        f"{'xseqd plain (2 calls)':<22} {rate_p:>8.1f} {pct(lat_p, 0.5):>8} {pct(lat_p, 0.99):>8}"
    )
    print(
        f"{'xseqd bundles, light':<22} {'':>8} {pct(lat_light, 0.5):>8} {pct(lat_light, 0.99):>8}"
    )
    print(f"{'bare py-evm':<22} {rate_bare:>8.1f} {'-':>8} {'-':>8}")
    print(
        f"ratios  bundles/plain = {rate_b / rate_p:.2f}   bundles/bare = {rate_b / rate_bare:.2f}"
    )


def bare(legs: list[tuple[str, str]]) -> float:
    from eth.chains.base import MiningChain
    from eth.db.atomic import AtomicDB

    from xseqd.chains.genesis import devnet_genesis

    genesis = devnet_genesis([bytes.fromhex(k.address[2:]) for k in KEYS])
    chains = {}
    for cid in (901, 902):
        cls = MiningChain.configure(vm_configuration=genesis.vm_configuration, chain_id=cid)
        chains[cid] = cls.from_genesis(AtomicDB(), genesis.params, genesis.state)
    builder = chains[901].get_vm().get_transaction_builder()
    ts = int(time.time())
    start_t = time.perf_counter()
    for leg_a, leg_b in legs:
        ts += 1
        for cid, raw in ((901, leg_a), (902, leg_b)):
            chains[cid].mine_all([builder.decode(bytes.fromhex(raw[2:]))], timestamp=ts)
    return 2 * len(legs) / (time.perf_counter() - start_t)


if __name__ == "__main__":
    main()

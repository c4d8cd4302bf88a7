"""Every row of the speed table in one run (`make bench`): xseqd vs anvil vs bare py-evm
with ratios, bundles, cross-rollup transfers, order receipts, verifier vs sequencer, and
the scale rows (accounts, sustained run, RSS, restart). Ratios are taken within this one
run; the machine is shared, so compare ratios, not absolute numbers across runs.

Usage: .venv/bin/python bench/all.py [--quick]   (--quick: smaller n, 10k not 100k accounts)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import bundles, messaging, scale, settlement  # noqa: E402
from bench.rollup_rpc import (  # noqa: E402
    CHAIN_ID,
    free_port,
    pct,
    run_bare,
    run_rpc_target,
    start_anvil,
    start_xseqd,
)


def rollup_rows(n: int, per_client: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    port = free_port()
    proc = start_xseqd(port)
    try:
        url = f"http://127.0.0.1:{port}/rollup/{CHAIN_ID}"
        results["xseqd"] = run_rpc_target(url, n, per_client)
    finally:
        proc.terminate()
        proc.wait(10)
    port = free_port()
    proc = start_anvil(port)
    try:
        results["anvil"] = run_rpc_target(f"http://127.0.0.1:{port}", n, per_client)
    finally:
        proc.terminate()
        proc.wait(10)
    results["bare"] = run_bare(n, per_client)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    quick = parser.parse_args().quick
    n = 100 if quick else 300
    started = time.perf_counter()
    rpc = rollup_rows(n, 20 if quick else 50)
    bun = bundles.measure(n // 2 if quick else 200)
    msg = messaging.measure(n // 2 if quick else 200)
    st = settlement.measure(n // 2 if quick else 200)
    sc = scale.measure(quick)
    x, a, b = (rpc[t]["seq-eth"] for t in ("xseqd", "anvil", "bare"))
    ex, ea, eb = (rpc[t]["erc20-x8"] for t in ("xseqd", "anvil", "bare"))
    rows = [
        (
            "sequential send-and-wait ETH (tx/s)",
            f"{x[0]:.0f}",
            f"{a[0]:.0f}",
            f"{b[0]:.0f}",
            f"{x[0] / a[0]:.2f}",
            f"{x[0] / b[0]:.2f}",
            ">=0.5 anvil, >=0.8 bare",
        ),
        ("  p50 ms", pct(x[1], 0.5), pct(a[1], 0.5), pct(b[1], 0.5), "", "", "<= 3 ms"),
        (
            "8 clients ERC-20 send+receipt (tx/s)",
            f"{ex[0]:.0f}",
            f"{ea[0]:.0f}",
            f"{eb[0]:.0f}",
            f"{ex[0] / ea[0]:.2f}",
            f"{ex[0] / eb[0]:.2f}",
            ">=1.0 anvil, >=0.8 bare",
        ),
        (
            "2-leg bundles (legs/s)",
            f"{bun['bundles'][0]:.0f}",
            "-",
            f"{bun['bare']:.0f}",
            "",
            f"{bun['bundles'][0] / bun['bare']:.2f}",
            ">= 0.8 bare",
        ),
        (
            "cross-rollup transfer, both sides, p50 ms",
            pct(msg["cross"][1], 0.5),
            "-",
            "-",
            "",
            "",
            "<= 10 ms",
        ),
        ("order receipt p50 ms, light load", pct(bun["light"], 0.5), "-", "-", "", "", "<= 3 ms"),
        (
            "verifier / sequencer slots/s",
            f"{st['verifier']:.1f} / {st['sequencer']:.1f}",
            "-",
            "-",
            f"{st['verifier'] / st['sequencer']:.2f}",
            "",
            "keep >= 1.5",
        ),
    ]
    print(f"\nspeed table ({'quick' if quick else 'full'}), cpu={os.cpu_count()}")
    head = ("workload", "xseqd", "anvil", "bare", "x/anvil", "x/bare", "goal")
    widths = (42, 13, 7, 7, 8, 7, 24)
    print(
        " ".join(
            f"{h:<{w}}" if i == 0 else f"{h:>{w}}" for i, (h, w) in enumerate(zip(head, widths))
        )
    )
    for row in rows:
        print(
            " ".join(
                f"{c:<{w}}" if i == 0 else f"{c:>{w}}" for i, (c, w) in enumerate(zip(row, widths))
            )
        )
    scale.print_table(sc)
    print(f"\nbench finished in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()

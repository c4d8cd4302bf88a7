"""Benchmark: what the metrics instrumentation and the explorer's reads cost (issue 13).

  hooks      in-process, no server: one wrapped handler call against the bare handler, and
             Metrics.on_slot for a slot with one transfer (the per-slot cost)
  overhead   the same traffic against two in-process nodes running side by side, one as
             shipped (every RPC method counted and timed, every sealed slot counted, every
             log write timed) and one with the instrumentation taken out, in alternating
             batches so that load from elsewhere hits both alike: sequential transfers
             (send raw + receipt, each sealing a slot) and eth_blockNumber; medians, ratio
  reads      after the traffic: one /metrics scrape, one xseq_recentSlots of 25 rows (what
             the home page asks every 3 s and on every new slot), one xseq_slotItems

Usage: .venv/bin/python bench/explorer_metrics.py [--transfers 300] [--reads 2000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from xseqd.accounts import dev_accounts  # noqa: E402
from xseqd.config import Settings  # noqa: E402
from xseqd.node import NodeThread  # noqa: E402
from xseqd.rpc.app import build_app  # noqa: E402
from xseqd.rpc.metrics import TimedJournal  # noqa: E402


def start(instrumented: bool) -> NodeThread:
    thread = NodeThread(Settings.for_tests())
    node = thread.node
    metrics = node.services.metrics
    if not instrumented:  # undo Metrics.watch and the handler wrapping
        node.sequencer.listeners.on_slot.remove(metrics.on_slot)
        journal = node.sequencer.journal
        assert isinstance(journal, TimedJournal)
        node.sequencer.journal = journal.inner
        node.services.metrics = None
        node.app = build_app(node.services, node.settings.max_body_bytes)
    thread.start()
    return thread


def rpc(client: httpx.Client, url: str, method: str, *params: Any) -> Any:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    answer = client.post(url, json=body).json()
    assert "result" in answer, answer
    return answer["result"]


NONCES: dict[int, list[int]] = {}


def timed(fn: Any, reps: int) -> list[float]:
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def traffic(thread: NodeThread, transfers: int, reads: int) -> dict[str, list[float]]:
    assert thread.endpoints is not None
    url = thread.endpoints.rollup_url(901)
    key = dev_accounts(1)[0]
    nonce = NONCES.setdefault(id(thread), [0])
    with httpx.Client(timeout=30) as client:

        def transfer() -> None:
            tx = {"chainId": 901, "nonce": nonce[0], "to": "0x" + "11" * 20, "value": 1,
                  "gas": 21_000, "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 1}  # fmt: skip
            raw = "0x" + bytes(key.sign_transaction(tx).raw_transaction).hex()
            tx_hash = rpc(client, url, "eth_sendRawTransaction", raw)
            nonce[0] += 1
            while rpc(client, url, "eth_getTransactionReceipt", tx_hash) is None:
                pass

        return {
            "transfer + receipt": timed(transfer, transfers),
            "eth_blockNumber": timed(lambda: rpc(client, url, "eth_blockNumber"), reads),
        }


def reads(thread: NodeThread, reps: int) -> dict[str, list[float]]:
    assert thread.endpoints is not None
    base = thread.endpoints.base_url
    with httpx.Client(timeout=30) as client:
        return {
            "GET /metrics": timed(lambda: client.get(f"{base}/metrics").raise_for_status(), reps),
            "xseq_recentSlots (25)": timed(
                lambda: rpc(client, base, "xseq_recentSlots", {"count": 25}), reps
            ),
            "xseq_slotItems": timed(lambda: rpc(client, base, "xseq_slotItems", "0x1"), reps),
        }


def ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def hooks(reps: int) -> None:
    thread = start(True)
    try:
        metrics = thread.node.services.metrics
        traffic(thread, 3, 1)
        slot = next(s for s in reversed(thread.node.sequencer.slots) if s.items)

        def bare(ctx: Any, params: list[Any]) -> int:
            return 1

        wrapped = metrics._timed("eth_blockNumber", bare)
        t_bare = timed(lambda: bare(None, []), reps)
        t_wrapped = timed(lambda: wrapped(None, []), reps)
        t_slot = timed(lambda: metrics.on_slot(slot), reps)
    finally:
        thread.stop()

    def us(xs: list[float]) -> float:
        return statistics.median(xs) * 1e6

    print(f"\nhooks (in-process, medians of {reps})")
    print(f"{'handler call, bare':<32}{us(t_bare):>8.2f} us")
    print(f"{'handler call, counted + timed':<32}{us(t_wrapped):>8.2f} us")
    print(f"{'on_slot (1 transfer, 2 rollups)':<32}{us(t_slot):>8.2f} us")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transfers", type=int, default=300)
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--batches", type=int, default=10)
    args = parser.parse_args()
    results: dict[bool, dict[str, list[float]]] = {}
    nodes = {False: start(False), True: start(True)}
    try:
        for _ in range(args.batches):  # alternate: a plain batch, an instrumented batch
            for instrumented, thread in nodes.items():
                n_tx, n_reads = args.transfers // args.batches, args.reads // args.batches
                for name, samples in traffic(thread, n_tx, n_reads).items():
                    results.setdefault(instrumented, {}).setdefault(name, []).extend(samples)
        extra = reads(nodes[True], 200)
    finally:
        for thread in nodes.values():
            thread.stop()
    print(f"\nmetrics overhead (medians; {args.transfers} transfers, {args.reads} reads each)")
    print(f"{'':<22}{'plain ms':>10}{'metrics ms':>12}{'ratio':>8}")
    for name in results[True]:
        plain, metered = ms(results[False][name]), ms(results[True][name])
        print(f"{name:<22}{plain:>10.3f}{metered:>12.3f}{metered / plain:>8.2f}")
    print("\nexplorer and scrape reads (instrumented node, after the traffic; medians of 200)")
    for name, samples in extra.items():
        print(f"{name:<22}{ms(samples):>10.3f} ms")
    hooks(20_000)
    return 0


if __name__ == "__main__":
    sys.exit(main())

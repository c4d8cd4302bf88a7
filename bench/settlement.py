"""Benchmark: L1 cost of settlement and the verifier's speed, in one run.

  - L1 gas per slot and per included transaction (batches of up to 32 slots, calldata)
  - sequencer: slots/s while executing and sealing the workload (instant mode)
  - verifier: slots/s re-executing the same slots from L1 data alone (`xseqd verify` core)
Usage: .venv/bin/python bench/settlement.py [--n 200]
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.rollup_rpc import KEYS, SINK, Rpc, sign_for  # noqa: E402
from xseqd.config import Settings  # noqa: E402
from xseqd.l1.anvil import Anvil  # noqa: E402
from xseqd.l1.client import L1Client  # noqa: E402
from xseqd.node import NodeThread  # noqa: E402
from xseqd.verify.verifier import SLOTS_POSTED, verify  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measure(n: int) -> dict[str, float]:
    """L1 gas per slot and per transaction; sequencer and verifier slots/s."""
    args = argparse.Namespace(n=n)
    with tempfile.TemporaryDirectory() as tmp:
        anvil = Anvil(free_port(), 900, Path(tmp) / "l1.json")
        anvil.start()
        node = NodeThread(Settings.for_tests(l1_rpc=anvil.url))
        ep = node.start()
        try:
            rpc = Rpc(ep.rollup_url(901))
            raws = [sign_for(901, KEYS[5], i, SINK, value=1) for i in range(args.n)]
            first_slot = node.node.sequencer.head_slot
            start = time.perf_counter()
            for raw in raws:
                rpc.send_and_wait(raw)
            seq_elapsed = time.perf_counter() - start
            slots = node.node.sequencer.head_slot - first_slot
            poster = node.node.poster
            assert poster is not None
            while poster.safe_slot < node.node.sequencer.head_slot:
                time.sleep(0.05)
            client = L1Client(anvil.url)
            logs = client.call(
                "eth_getLogs",
                {"address": poster.address, "fromBlock": "0x0", "topics": [SLOTS_POSTED]},
            )
            gas = sum(
                int(client.call("eth_getTransactionReceipt", log["transactionHash"])["gasUsed"], 16)
                for log in logs
            )
            posted_slots = poster.safe_slot
        finally:
            node.stop()
        start = time.perf_counter()  # the genesis comes from L1, as `xseqd verify` does
        verdict = verify(L1Client(anvil.url))
        verify_elapsed = time.perf_counter() - start
        anvil.stop()
    assert verdict.ok, verdict
    return {
        "slots": posted_slots,
        "l1_txs": len(logs),
        "gas_per_slot": gas / posted_slots,
        "gas_per_tx": gas / n,
        "sequencer": slots / seq_elapsed,
        "verifier": verdict.checked / verify_elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args()
    r = measure(args.n)
    seq_rate, ver_rate, gas, posted_slots = (
        r["sequencer"],
        r["verifier"],
        r["gas_per_slot"] * r["slots"],
        int(r["slots"]),
    )
    logs = range(int(r["l1_txs"]))
    print(f"\nsettlement (n={args.n} transfers, {posted_slots} slots, {len(logs)} L1 transactions)")
    print(f"L1 gas per slot            {gas / posted_slots:>10,.0f}")
    print(f"L1 gas per included tx     {gas / args.n:>10,.0f}")
    print(f"sequencer slots/s          {seq_rate:>10.1f}   (execute + seal + answer, over RPC)")
    print(f"verifier slots/s           {ver_rate:>10.1f}   (L1 reads + re-execution)")
    print(f"ratio verifier/sequencer = {ver_rate / seq_rate:.2f}")


if __name__ == "__main__":
    main()

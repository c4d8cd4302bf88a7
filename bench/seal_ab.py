"""Benchmark: the busy block's seal, in process, py-evm's steps vs chains/busy.py.

Two sequencers get the same ERC-20 transfers, ``--batch`` per slot; one seals through
py-evm's set-transactions / post-processing / pack / finalize, the other through
``busy.finish_block``, alternated slot by slot; their block hashes are asserted equal.
Prints the seal time per transaction of each (no HTTP, no client: the steadiest view of the
seal on a busy machine).

Usage: .venv/bin/python bench/seal_ab.py [--per-client 40] [--batch 1 8 32]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.rollup_rpc import KEYS, token_setup  # noqa: E402
from xseqd.chains import busy  # noqa: E402
from xseqd.chains.genesis import load_rollups  # noqa: E402
from xseqd.chains.rollup import Rollup  # noqa: E402
from xseqd.config import DEFAULT_ROLLUPS_DIR  # noqa: E402
from xseqd.sequencer.sequencer import Sequencer  # noqa: E402


def measure(per_client: int, batch: int) -> tuple[float, float]:
    """Seconds per transaction: (py-evm steps, finish_block)."""
    specs = load_rollups(DEFAULT_ROLLUPS_DIR, [bytes.fromhex(k.address[2:]) for k in KEYS])
    seqs = [
        Sequencer([Rollup(s) for s in specs], key=b"\x01" * 32, clock=lambda: 1_800_000_000)
        for _ in range(2)
    ]
    fast = busy._plain_prague
    setup, clients = token_setup(per_client)
    transfers = [clients[i][k] for k in range(per_client) for i in clients]
    spent = [0.0, 0.0]

    def run(batches: list[list[str]]) -> None:
        for raws in batches:
            for side, seq in enumerate(seqs):
                seq.open_slot()
                ob = seq.rollups[901].open
                assert ob is not None
                builder = ob.vm.get_transaction_builder()
                for raw in raws:
                    seq.submit(901, builder.decode(bytes.fromhex(raw[2:])))
                busy._plain_prague = fast if side == 1 else (lambda vm: False)  # type: ignore[assignment]
                t0 = time.perf_counter()
                seq.seal_slot()
                spent[side] += time.perf_counter() - t0
            assert seqs[0].rollups[901].head.hash == seqs[1].rollups[901].head.hash
        busy._plain_prague = fast  # type: ignore[assignment]

    run([setup])
    spent[:] = [0.0, 0.0]
    run([transfers[i : i + batch] for i in range(0, len(transfers), batch)])
    return spent[0] / len(transfers), spent[1] / len(transfers)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-client", type=int, default=40, help="transfers per client (8)")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 8, 32])
    args = parser.parse_args()
    print(f"{'txs/block':>9} {'py-evm ms/tx':>13} {'busy ms/tx':>11} {'ratio':>6}")
    for batch in args.batch:
        old, new = measure(args.per_client, batch)
        print(f"{batch:>9} {old * 1000:>13.3f} {new * 1000:>11.3f} {new / old:>6.2f}")
    print("block hashes equal on both sides")


if __name__ == "__main__":
    main()

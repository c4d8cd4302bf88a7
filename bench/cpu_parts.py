"""Where the per-transaction CPU goes: the same sustained load against several variants of
the daemon (another checkout, other flags), alternated in rounds in one sitting, printing
the server's CPU milliseconds per transaction in chunks of transactions.

Each run starts a fresh daemon with a durable log in a new data dir (snapshots are
written only with a data dir), 8 clients send-and-wait ETH transfers (``--total`` in all),
and the server's CPU time is read from /proc every ``--chunk`` transactions. Rounds
alternate the variants (A, B, C, A, B, C, ...) so that all see the same machine load; the
table prints the median over rounds of each chunk and of the whole run, and the max
latency a client saw.

A variant is ``label=code:flags``: ``code`` a checkout (``git archive <commit> | tar -x
-C /tmp/x``; empty = this one), ``flags`` extra ``xseqd devnet`` flags. Examples:

  .venv/bin/python bench/cpu_parts.py --total 2000 --chunk 500 --rounds 3 \\
      --variant old=/tmp/base: --variant new=: \\
      --variant nosnap=:'--snapshot-every 0' --variant noprune=:'--state-history 0' \\
      --variant neither=:'--snapshot-every 0 --state-history 0'
  .venv/bin/python bench/cpu_parts.py --accounts 100000 --variant new=:   # a large genesis
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.rollup_rpc import CHAIN_ID, KEYS, Rpc, free_port, sign, wait_up  # noqa: E402


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(code: str, flags: list[str], total: int, chunk: int, accounts: int) -> dict[str, Any]:
    """One fresh daemon, ``total`` transfers by 8 clients: CPU ms/tx per chunk."""
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        if code:
            run_as = [sys.executable, "-c", "from xseqd.cli import main; main()"]
            env: dict[str, str] | None = {**os.environ, "PYTHONPATH": code}
        else:
            run_as, env = [str(ROOT / ".venv" / "bin" / "xseqd")], None
        args = [*run_as, "devnet", "--port", str(port), "--data-dir", tmp]
        args += ["--accounts", str(accounts), "--log-level", "warning", "--l1-rpc", "none"]
        cache = ROOT / "bench" / ".cache" / f"accounts-{accounts}"
        for path in cache.glob("genesis-*.bin"):  # bench/scale.py's cached genesis
            os.link(path, Path(tmp) / path.name)
        proc = subprocess.Popen(
            [*args, *flags],
            env=env,
            cwd=code or None,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}/rollup/{CHAIN_ID}"
            wait_up(url, timeout=300)
            lock = threading.Lock()
            marks: list[tuple[int, float]] = []
            done = [0]
            worst = [0.0]

            def client(k: int) -> None:
                rpc = Rpc(url)
                for nonce in range(total // 8):
                    took = rpc.send_and_wait(sign(KEYS[k], nonce, KEYS[0].address, value=1))
                    with lock:
                        done[0] += 1
                        worst[0] = max(worst[0], took)
                        if done[0] % chunk == 0:
                            marks.append((done[0], cpu_seconds(proc.pid)))

            marks.append((0, cpu_seconds(proc.pid)))
            threads = [threading.Thread(target=client, args=(k,)) for k in range(1, 9)]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - t0
            chunks = [(c1 - c0) * 1000 / (n1 - n0) for (n0, c0), (n1, c1) in zip(marks, marks[1:])]
            whole = (marks[-1][1] - marks[0][1]) * 1000 / marks[-1][0]
            return {"chunks": chunks, "whole": whole, "rate": done[0] / elapsed, "max": worst[0]}
        finally:
            proc.terminate()
            proc.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variant", action="append", required=True, help="label=code:flags")
    parser.add_argument("--total", type=int, default=2000)
    parser.add_argument("--chunk", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--accounts", type=int, default=10)
    args = parser.parse_args()
    variants = []
    for spec in args.variant:
        label, rest = spec.split("=", 1)
        code, _, flags = rest.partition(":")
        variants.append((label, code, shlex.split(flags)))
    results: dict[str, list[dict[str, Any]]] = {label: [] for label, _, _ in variants}
    for r in range(args.rounds):
        for label, code, flags in variants:
            out = run(code, flags, args.total, args.chunk, args.accounts)
            results[label].append(out)
            chunks = " ".join(f"{c:5.2f}" for c in out["chunks"])
            print(
                f"round {r + 1} {label:<10} cpu ms/tx {out['whole']:5.2f} [{chunks}] "
                f"{out['rate']:6.1f} tx/s max {out['max'] * 1000:5.0f} ms",
                flush=True,
            )
    print(f"\nmedian of {args.rounds} alternated rounds, {args.total} tx by 8 clients each run")
    head = " ".join(
        f"{'<' + str((i + 1) * args.chunk):>6}" for i in range(args.total // args.chunk)
    )
    print(f"{'variant':<10} {'ms/tx':>6} {head} {'tx/s':>6} {'max ms':>7}")
    for label, outs in results.items():
        per_chunk = [
            statistics.median(o["chunks"][i] for o in outs) for i in range(len(outs[0]["chunks"]))
        ]
        cells = " ".join(f"{c:6.2f}" for c in per_chunk)
        whole = statistics.median(o["whole"] for o in outs)
        rate = statistics.median(o["rate"] for o in outs)
        worst = max(o["max"] for o in outs) * 1000
        print(f"{label:<10} {whole:6.2f} {cells} {rate:6.1f} {worst:7.0f}")


if __name__ == "__main__":
    main()

"""Benchmark: restart time against history length, and memory against transactions.

For each history length (slots) the bench builds a data dir: it starts xseqd (durable log,
no L1), sends ``--tx`` ETH transfers from 4 clients (RSS read every 1,000), mines empty
slots up to the length with ``anvil_mine``, stops, and times the restart (process start
until it answers, with the head checked). A fresh data dir's restart is the floor (Python
imports, genesis). With ``--base DIR`` (another checkout, e.g. ``git archive main``) the
same is done with that code first, so before and after come from one run.

Usage:
  .venv/bin/python bench/restart.py                       # 1k, 10k, 30k slots
  .venv/bin/python bench/restart.py --base /tmp/base --slots 1000 10000
"""

from __future__ import annotations

import argparse
import os
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


def start(data: Path, code: str | None) -> tuple[subprocess.Popen[bytes], str, float]:
    """xseqd (this checkout, or ``code``) on ``data``; returns the process, the rollup URL
    and the seconds until it answered."""
    port = free_port()
    exe = ROOT / ".venv" / "bin" / "xseqd"
    run = [sys.executable, "-c", "from xseqd.cli import main; main()"] if code else [str(exe)]
    env = {**os.environ, "PYTHONPATH": code} if code else None
    args = [*run, "devnet", "--port", str(port), "--data-dir", str(data)]
    args += ["--log-level", "warning", "--l1-rpc", "none"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=code or None
    )
    url = f"http://127.0.0.1:{port}/rollup/{CHAIN_ID}"
    wait_up(url, timeout=600)
    return proc, url, time.perf_counter() - t0


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the process has used: steadier than wall time on a
    machine other work shares."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(120)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def send(url: str, pid: int, total: int, nonce0: int) -> list[tuple[int, float]]:
    """``total`` transfers by 4 clients (keys 1-4); RSS after every 1,000."""
    done = [0]
    rss: list[tuple[int, float]] = [(0, rss_mb(pid))]
    lock = threading.Lock()

    def client(k: int) -> None:
        rpc = Rpc(url)
        for i in range(total // 4):
            rpc.send_and_wait(sign(KEYS[k], nonce0 + i, KEYS[0].address, value=1))
            with lock:
                done[0] += 1
                if done[0] % 1000 == 0:
                    rss.append((done[0], rss_mb(pid)))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(1, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return rss


def history(code: str | None, lengths: list[int], tx: int) -> dict[str, Any]:
    """One data dir grown through ``lengths`` slots; restart timed at each length."""
    out: dict[str, Any] = {"restart": {}, "cpu": {}, "rss_after_restart": {}, "slots": {}}
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "fresh"
        proc, _, _ = start(fresh, code)
        stop(proc)
        proc, _, out["fresh"] = start(fresh, code)
        out["fresh_cpu"] = cpu_s(proc.pid)
        stop(proc)
        data = Path(tmp) / "long"
        proc, url, _ = start(data, code)
        rss = send(url, proc.pid, tx, 0)
        n0, r0 = rss[1] if len(rss) > 2 else rss[0]
        n1, r1 = rss[-1]
        out["rss"] = r1
        out["growth"] = (r1 - r0) / max(1, (n1 - n0) / 1000)
        out["tx"] = n1
        for length in lengths:
            rpc = Rpc(url)
            while (head := int(rpc("eth_blockNumber"), 16)) < length:
                rpc("anvil_mine", hex(min(5_000, length - head)))
            slots = int(rpc("eth_blockNumber"), 16)
            stop(proc)
            proc, url, took = start(data, code)
            if int(Rpc(url)("eth_blockNumber"), 16) != slots:
                raise RuntimeError("restart lost slots")
            out["restart"][length] = took
            out["cpu"][length] = cpu_s(proc.pid)
            out["slots"][length] = slots
            out["rss_after_restart"][length] = rss_mb(proc.pid)
        stop(proc)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", help="another checkout's source tree (before)")
    parser.add_argument("--slots", type=int, nargs="+", default=[1000, 10_000, 30_000])
    parser.add_argument("--tx", type=int, default=4000, help="transfers before mining")
    args = parser.parse_args()
    runs: list[tuple[str, dict[str, Any]]] = []
    if args.base:
        runs.append(("before", history(args.base, args.slots, args.tx)))
    runs.append(("after" if args.base else "this", history(None, args.slots, args.tx)))
    print("\nrestart (durable log in a data dir, no L1); seconds from start until answering")
    print(f"{'':<40}" + "".join(f"{name:>12}" for name, _ in runs))
    print(f"{'fresh data dir':<40}" + "".join(f"{r['fresh']:>12.2f}" for _, r in runs))
    for length in runs[0][1]["restart"]:
        slots = max(r["slots"][length] for _, r in runs)
        cells = "".join(f"{r['restart'][length]:>12.2f}" for _, r in runs)
        print(f"{f'after {slots} slots':<40}" + cells)
    print(
        f"{'CPU s until answering, fresh data dir':<40}"
        + "".join(f"{r['fresh_cpu']:>12.2f}" for _, r in runs)
    )
    for length in runs[0][1]["restart"]:
        slots = max(r["slots"][length] for _, r in runs)
        cells = "".join(f"{r['cpu'][length]:>12.2f}" for _, r in runs)
        print(f"{f'CPU s until answering, {slots} slots':<40}" + cells)
    for length in runs[0][1]["restart"]:
        slots = max(r["slots"][length] for _, r in runs)
        cells = "".join(f"{r['rss_after_restart'][length]:>12.0f}" for _, r in runs)
        print(f"{f'RSS MB after restart, {slots} slots':<40}" + cells)
    tx = runs[0][1]["tx"]
    print(f"{f'RSS MB after {tx} tx':<40}" + "".join(f"{r['rss']:>12.0f}" for _, r in runs))
    print(f"{'RSS growth MB per 1k tx':<40}" + "".join(f"{r['growth']:>12.1f}" for _, r in runs))
    if args.base:
        last = list(runs[0][1]["restart"])[-1]
        for key in ("restart", "cpu"):
            ratio = runs[1][1][key][last] / runs[0][1][key][last]
            print(f"ratio after/before, {key} at the longest history: {ratio:.2f}")


if __name__ == "__main__":
    main()

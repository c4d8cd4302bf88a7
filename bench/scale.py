"""Benchmark: xseqd at scale, one run.

  accounts   sequential send-and-wait ETH transfers to funded accounts spread over the
             whole genesis, with 1,000 and with 100,000 funded accounts, both daemons up at
             once and alternated in rounds, with the server's CPU per transaction (startup
             time too: a large genesis is built in bulk once, then loaded from the data dir)
  sustained  8 clients send-and-wait ETH transfers, 20,000 in all: throughput of the first
             and the last 10%, RSS of the process every 1,000 transactions
  restart    after the sustained run and `anvil_mine` to 10,000+ slots, the time from
             starting the process until it answers (vs a fresh data dir, same machine)

xseqd runs as a subprocess with its durable log in a data dir, without L1. The 100k-account
genesis is kept in bench/.cache between runs (the first run builds it).
Usage: .venv/bin/python bench/scale.py [--quick]
       .venv/bin/python bench/scale.py --accounts-only [--n 300] [--rounds 5] [--quick]
       .venv/bin/python bench/scale.py --accounts-only --code /tmp/base   # another checkout
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.rollup_rpc import CHAIN_ID, KEYS, Rpc, free_port, pct, sign, wait_up  # noqa: E402
from xseqd.accounts import DevKeyring  # noqa: E402

CACHE = ROOT / "bench" / ".cache"


CODE = os.environ.get("XSEQD_BENCH_CODE")  # another checkout's xseqd (--code)


def start(data: Path, accounts: int) -> tuple[subprocess.Popen[bytes], str, float]:
    """xseqd (this checkout, or ``--code``'s) on a free port with ``data`` as data dir;
    returns the process, the rollup URL and the seconds from start until it answered."""
    port = free_port()
    exe = ROOT / ".venv" / "bin" / "xseqd"
    run = [sys.executable, "-c", "from xseqd.cli import main; main()"] if CODE else [str(exe)]
    env = {**os.environ, "PYTHONPATH": CODE} if CODE else None
    args = [*run, "devnet", "--port", str(port), "--data-dir", str(data)]
    args += ["--accounts", str(accounts), "--log-level", "warning", "--l1-rpc", "none"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=CODE
    )
    url = f"http://127.0.0.1:{port}/rollup/{CHAIN_ID}"
    wait_up(url, timeout=300)
    return proc, url, time.perf_counter() - t0


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(60)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def accounts_rounds(sizes: tuple[int, int], n: int, rounds: int) -> list[dict[str, Any]]:
    """Both daemons up at once; ``rounds`` rounds alternate between them (small, large,
    small, ...), ``n`` sequential transfers in all to each, so that both see the same
    machine load. Per daemon: tx/s, latencies, server CPU ms per transaction, startup."""
    out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        procs = []
        try:
            for accounts in sizes:
                data = Path(tmp) / str(accounts)
                data.mkdir()
                cached = CACHE / f"accounts-{accounts}"
                for path in cached.glob("genesis-*.bin"):  # a genesis built by an earlier run
                    shutil.copy(path, data / path.name)
                proc, url, startup = start(data, accounts)
                procs.append(proc)
                for path in data.glob("genesis-*.bin"):
                    cached.mkdir(parents=True, exist_ok=True)
                    if not (cached / path.name).exists():
                        shutil.copy(path, cached / path.name)
                ring = DevKeyring(accounts)
                stride = max(1, accounts // n)
                to = ["0x" + ring.addresses[(i * stride) % accounts].hex() for i in range(n + 5)]
                raws = [sign(KEYS[9], i, to[i], value=1) for i in range(n + 5)]
                rpc = Rpc(url)
                for raw in raws[:5]:
                    rpc.send_and_wait(raw)
                out.append({"rpc": rpc, "raws": raws[5:], "pid": proc.pid, "lat": [], "time": 0.0})
                out[-1].update({"cpu": 0.0, "startup": startup, "accounts": accounts})
            per_round = max(1, n // rounds)
            for r in range(rounds):
                for d in out:
                    batch = d["raws"][r * per_round : (r + 1) * per_round]
                    c0, t0 = cpu_seconds(d["pid"]), time.perf_counter()
                    for raw in batch:
                        d["lat"].append(d["rpc"].send_and_wait(raw))
                    d["time"] += time.perf_counter() - t0
                    d["cpu"] += cpu_seconds(d["pid"]) - c0
        finally:
            for proc in procs:
                stop(proc)
    for d in out:
        done = len(d["lat"])
        d.update({"rate": done / d["time"], "cpu_ms": d["cpu"] / done * 1000})
        del d["rpc"], d["raws"]
    return out


def sustained_run(total: int, mine_to: int) -> dict[str, Any]:
    """8 clients, ``total`` transfers; RSS per 1,000; then restart with a long history."""
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "long"
        proc, url, _ = start(data, 10)
        per = total // 8
        done: list[float] = []
        rss: list[tuple[int, float]] = [(0, rss_mb(proc.pid))]
        lock = threading.Lock()

        def client(k: int) -> None:
            rpc = Rpc(url)
            for nonce in range(per):
                rpc.send_and_wait(sign(KEYS[k], nonce, KEYS[0].address, value=1))
                with lock:
                    done.append(time.perf_counter())
                    if len(done) % 1000 == 0:
                        rss.append((len(done), rss_mb(proc.pid)))

        threads = [threading.Thread(target=client, args=(k,)) for k in range(1, 9)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        tenth = len(done) // 10
        first = tenth / (done[tenth - 1] - t0)
        last = tenth / (done[-1] - done[-tenth - 1])
        rpc = Rpc(url)
        while int(rpc("eth_blockNumber"), 16) < mine_to:
            rpc("anvil_mine", hex(min(10_000, mine_to - int(rpc("eth_blockNumber"), 16))))
        slots = int(rpc("eth_blockNumber"), 16)
        stop(proc)
        proc, url, restart = start(data, 10)
        try:
            assert int(Rpc(url)("eth_blockNumber"), 16) == slots, "restart lost slots"
        finally:
            stop(proc)
        fresh = Path(tmp) / "fresh"
        proc, url, _ = start(fresh, 10)
        stop(proc)
        proc, url, restart_fresh = start(fresh, 10)
        stop(proc)
    n0, r0 = rss[1] if len(rss) > 2 else rss[0]
    n1, r1 = rss[-1]
    growth = (r1 - r0) / max(1, (n1 - n0) / 1000)
    return {
        "total": len(done),
        "first": first,
        "last": last,
        "rss": r1,
        "growth": growth,
        "slots": slots,
        "restart": restart,
        "restart_fresh": restart_fresh,
    }


def measure(quick: bool) -> dict[str, Any]:
    n = 100 if quick else 300
    small, large = accounts_rounds((1000, 10_000 if quick else 100_000), n, 5)
    sustained = sustained_run(2000 if quick else 20_000, 2000 if quick else 10_000)
    return {"small": small, "large": large, "sustained": sustained, "quick": quick}


def print_table(r: dict[str, Any]) -> None:
    small, large, s = r["small"], r["large"], r["sustained"]
    big = "10k" if r["quick"] else "100k"
    total, slots = s["total"], s["slots"]
    rows = [
        ("seq ETH tx/s, 1k accounts", f"{small['rate']:.1f}"),
        (f"seq ETH tx/s, {big} accounts", f"{large['rate']:.1f}"),
        (f"ratio {big}/1k (goal >= 0.9)", f"{large['rate'] / small['rate']:.2f}"),
        (
            f"server CPU ms/tx, 1k / {big} accounts",
            f"{small['cpu_ms']:.2f} / {large['cpu_ms']:.2f}",
        ),
        (f"p50 ms, 1k / {big} accounts", f"{pct(small['lat'], 0.5)} / {pct(large['lat'], 0.5)}"),
        (
            f"max ms, 1k / {big} (a state snapshot)",
            f"{max(small['lat']) * 1000:.0f} / {max(large['lat']) * 1000:.0f}",
        ),
        (f"startup s, 1k / {big} accounts", f"{small['startup']:.1f} / {large['startup']:.1f}"),
        (f"sustained {total} tx (8 clients): first 10% tx/s", f"{s['first']:.1f}"),
        ("sustained: last 10% tx/s", f"{s['last']:.1f}"),
        ("ratio last/first (goal >= 0.9)", f"{s['last'] / s['first']:.2f}"),
        ("RSS MB after the sustained run", f"{s['rss']:.0f}"),
        ("RSS growth MB per 1k tx", f"{s['growth']:.1f}"),
        (f"restart s after {slots} slots (goal <= 2)", f"{s['restart']:.2f}"),
        ("restart s, fresh data dir (same machine)", f"{s['restart_fresh']:.2f}"),
    ]
    print("\nscale (durable log in a data dir, no L1)")
    for label, value in rows:
        print(f"{label:<48} {value:>14}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--accounts-only", action="store_true", help="only the 1k vs 100k (10k: --quick) row"
    )
    parser.add_argument("--n", type=int, default=300, help="transfers per daemon (--accounts-only)")
    parser.add_argument("--rounds", type=int, default=5, help="alternations (--accounts-only)")
    parser.add_argument("--code", help="run another checkout's xseqd (git archive ... | tar -x)")
    args = parser.parse_args()
    if args.code:
        global CODE
        CODE = args.code
    if not args.accounts_only:
        print_table(measure(args.quick))
        return
    sizes = (1000, 10_000 if args.quick else 100_000)
    small, large = accounts_rounds(sizes, args.n, args.rounds)
    print(f"accounts, {args.n} sequential transfers each, {args.rounds} alternated rounds")
    for d in (small, large):
        print(
            f"{d['accounts']:>7} accounts: {d['rate']:.1f} tx/s  p50 {pct(d['lat'], 0.5)} ms  "
            f"p99 {pct(d['lat'], 0.99)} ms  max {max(d['lat']) * 1000:.0f} ms  "
            f"server CPU {d['cpu_ms']:.2f} ms/tx  startup {d['startup']:.1f} s"
        )
    print(f"ratio large/small: tx/s {large['rate'] / small['rate']:.2f}, ", end="")
    print(f"CPU per tx {large['cpu_ms'] / small['cpu_ms']:.2f}")


if __name__ == "__main__":
    main()

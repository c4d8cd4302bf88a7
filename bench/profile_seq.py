"""Profile of the sequential send-and-wait path: where each millisecond of one ETH transfer
goes inside the xseqd process (cProfile around `xseqd devnet`, driven over HTTP).

Prints, per transaction, the time spent in the main stages (cumulative, so nested stages
overlap: "seal slot" includes "seal blocks") and the top functions by own time.
Usage: .venv/bin/python bench/profile_seq.py [--n 300] [--durable] [--top 25] [--sort cum]
       [--code /tmp/base]   (another checkout, e.g. `git archive main | tar -x -C /tmp/base`)
       [--erc20]            (instead: 8 concurrent clients sending ERC-20 transfers, n in all)
"""

from __future__ import annotations

import argparse
import os
import pstats
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.rollup_rpc import (  # noqa: E402
    CHAIN_ID,
    KEYS,
    SINK,
    Rpc,
    free_port,
    sign,
    token_setup,
    wait_up,
)

# runs `xseqd devnet` in a process whose profiler SIGUSR1 turns on and SIGUSR2 turns off
# (writing the stats), so that start-up and warm-up are not in the numbers
WRAPPER = """
import cProfile, signal, sys
from xseqd.cli import main
out = sys.argv[1]
prof = cProfile.Profile()
signal.signal(signal.SIGUSR1, lambda *a: prof.enable())
def stop(*a):
    prof.disable()
    prof.dump_stats(out)
signal.signal(signal.SIGUSR2, stop)
sys.argv = ["xseqd"] + sys.argv[2:]
sys.exit(main())
"""

# (label, file suffix, function name): cumulative time of these, per transaction
STAGES = (
    ("HTTP requests, all (Starlette app)", "starlette/applications.py", "__call__"),
    ("HTTP requests, all (lean ASGI path)", "xseqd/rpc/lean.py", "lean"),
    ("JSON-RPC envelope (handle_body)", "xseqd/rpc/envelope.py", "handle_body"),
    ("eth_sendRawTransaction", "xseqd/rpc/eth.py", "send_raw_transaction"),
    ("  sender recovery", "eth/_utils/transactions.py", "extract_transaction_sender"),
    ("  Sequencer.submit", "xseqd/sequencer/sequencer.py", "submit"),
    ("    apply item (execute)", "xseqd/core/transition.py", "apply_item"),
    ("    journal.item (log)", "xseqd/storage/journal.py", "item"),
    ("eth_getTransactionReceipt", "xseqd/rpc/eth.py", "get_transaction_receipt"),
    ("seal slot (after answer)", "xseqd/sequencer/sequencer.py", "seal_slot"),
    ("  seal blocks (all rollups)", "xseqd/core/transition.py", "seal_slot"),
    ("  journal.sealed (log)", "xseqd/storage/journal.py", "sealed"),
    ("open next slot", "xseqd/sequencer/sequencer.py", "prepare_next_slot"),
    ("  open blocks (all rollups)", "xseqd/core/transition.py", "open_slot"),
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--durable", action="store_true", help="SQLite log in a temp dir")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sort", choices=("own", "cum"), default="own")
    parser.add_argument("--code", help="profile another checkout's xseqd (e.g. /tmp/base)")
    parser.add_argument("--erc20", action="store_true", help="8 clients, ERC-20 transfers")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "xseqd.prof"
        port = free_port()
        storage = ["--data-dir", tmp] if args.durable else ["--db", "memory"]
        cmd = [sys.executable, "-c", WRAPPER, str(out), "devnet"]
        cmd += ["--port", str(port), *storage, "--log-level", "warning", "--l1-rpc", "none"]
        env = {**os.environ, "PYTHONPATH": args.code} if args.code else None
        out_ = subprocess.DEVNULL
        proc = subprocess.Popen(cmd, stdout=out_, stderr=out_, env=env, cwd=args.code or None)
        url = f"http://127.0.0.1:{port}/rollup/{CHAIN_ID}"
        wait_up(url)
        rpc = Rpc(url)
        raws = [sign(KEYS[9], i, SINK, value=1) for i in range(args.n + 20)]
        for raw in raws[:20]:  # warm-up, not profiled
            rpc.send_and_wait(raw)
        raws = raws[20:]
        clients: dict[int, list[str]] = {}
        if args.erc20:
            setup, clients = token_setup(max(args.n // 8, 1))
            for raw in setup:
                rpc.send_and_wait(raw)
        proc.send_signal(signal.SIGUSR1)  # profiler on
        time.sleep(0.2)
        lat: list[float] = []
        start = time.perf_counter()
        if args.erc20:
            lat = run_clients(url, clients)
            args.n = len(lat)
        else:
            for raw in raws:
                lat.append(rpc.send_and_wait(raw))
        elapsed = time.perf_counter() - start
        proc.send_signal(signal.SIGUSR2)  # profiler off, stats written
        while not out.exists():
            time.sleep(0.05)
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
        stats = pstats.Stats(str(out))
    lat.sort()
    n = args.n
    what = "8 clients ERC-20 send+receipt" if args.erc20 else "sequential send-and-wait ETH"
    print(f"\n{what}, n={n}, {'durable log' if args.durable else 'memory'}")
    print(f"client: {n / elapsed:.1f} tx/s, p50 {lat[n // 2] * 1000:.2f} ms, cpu={os.cpu_count()}")
    print(f"{'stage (cumulative, per tx)':<36} {'ms':>7} {'calls/tx':>9}")
    raw_stats = stats.stats  # type: ignore[attr-defined]
    for label, suffix, name in STAGES:
        cum, calls = 0.0, 0
        for (file, _line, func), (_cc, nc, _tt, ct, _callers) in raw_stats.items():
            if func == name and file.endswith(suffix):
                cum += ct
                calls += nc
        print(f"{label:<36} {cum / n * 1000:>7.3f} {calls / n:>9.2f}")
    print(f"\ntop {args.top} functions by {args.sort} time (ms per tx: own, cumulative)")
    col = 2 if args.sort == "own" else 3
    rows = sorted(raw_stats.items(), key=lambda kv: kv[1][col], reverse=True)[: args.top]
    for (file, line, func), (_cc, _nc, tt, ct, _callers) in rows:
        where = "/".join(Path(file).parts[-2:])
        print(f"{tt / n * 1000:>7.3f} {ct / n * 1000:>7.3f}  {where}:{line} {func}")


def run_clients(url: str, clients: dict[int, list[str]]) -> list[float]:
    """Each client in its own thread sends its transactions one after the other, waiting
    for each receipt; the latencies of all."""
    import threading

    lat: list[float] = []
    lock = threading.Lock()

    def client(raws: list[str]) -> None:
        mine = Rpc(url)
        local = [mine.send_and_wait(raw) for raw in raws]
        with lock:
            lat.extend(local)

    threads = [threading.Thread(target=client, args=(raws,)) for raws in clients.values()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return lat


if __name__ == "__main__":
    main()

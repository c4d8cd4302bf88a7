"""Profile of the sequential send-and-wait path: where each millisecond of one ETH transfer
goes inside the xseqd process (cProfile around `xseqd devnet`, driven over HTTP).

Prints, per transaction, the time spent in the main stages (cumulative, so nested stages
overlap: "seal slot" includes "seal blocks") and the top functions by own time.
With ``--spy`` the daemon runs unprofiled and py-spy samples it instead (1,000 samples a
second, not pausing it): the stage times are then close to the real ones (cProfile roughly
doubles py-evm's), and the client's side is split into the send and the receipt request.
Usage: .venv/bin/python bench/profile_seq.py [--n 300] [--durable] [--top 25] [--sort cum]
       [--code /tmp/base]   (another checkout, e.g. `git archive main | tar -x -C /tmp/base`)
       [--erc20]            (instead: 8 concurrent clients sending ERC-20 transfers, n in all)
       [--bundle]           (instead: 2-leg xseq_sendBundle, one every 25 ms, durable log:
                             the "order receipt, light load" row of make bench)
       [--cross]            (instead: cross-rollup transfers 901 -> 902, until both receipts:
                             the "cross-rollup transfer" row of make bench)
       [--encrypted]        (instead: encrypted 2-leg bundles, 3-of-5 keypers, durable log,
                             sent and awaited with xseq_waitBundle: bench/encryption.py)
       [--spy]              (sample with py-spy instead of cProfile)
"""

from __future__ import annotations

import argparse
import os
import pstats
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
    ("  sender recovery (py-evm's)", "eth/_utils/transactions.py", "extract_transaction_sender"),
    ("  signature + sender (recover.py)", "xseqd/rpc/recover.py", "check_and_recover"),
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
    parser.add_argument("--bundle", action="store_true", help="2-leg bundles, light load")
    parser.add_argument("--cross", action="store_true", help="cross-rollup transfers")
    parser.add_argument("--encrypted", action="store_true", help="encrypted 2-leg bundles")
    parser.add_argument("--spy", action="store_true", help="sample with py-spy, not cProfile")
    parser.add_argument("--depth", type=int, default=7, help="--spy: depth of the call tree")
    parser.add_argument("--min-ms", type=float, default=0.04, help="--spy: smallest node shown")
    parser.add_argument("--focus", help="--spy: the tree from the frames whose name has this")
    args = parser.parse_args()
    args.durable = args.durable or args.bundle or args.encrypted  # as the benches run it
    if args.spy:
        return run_spy(args)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "xseqd.prof"
        port = free_port()
        cmd = [sys.executable, "-c", WRAPPER, str(out), *devnet_args(args, tmp, port)]
        proc = start(cmd, args)
        url = f"http://127.0.0.1:{port}/rollup/{CHAIN_ID}"
        rpc, raws, clients = warm_up(url, args)
        proc.send_signal(signal.SIGUSR1)  # profiler on
        time.sleep(0.2)
        lat, elapsed, _split = drive(url, rpc, raws, clients, args)
        proc.send_signal(signal.SIGUSR2)  # profiler off, stats written
        while not out.exists():
            time.sleep(0.05)
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
        stats = pstats.Stats(str(out))
    n = len(lat)
    print_header(args, lat, elapsed)
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


def devnet_args(args: argparse.Namespace, tmp: str, port: int) -> list[str]:
    storage = ["--data-dir", tmp] if args.durable else ["--db", "memory"]
    return ["devnet", "--port", str(port), *storage, "--log-level", "warning", "--l1-rpc", "none"]


def start(cmd: list[str], args: argparse.Namespace) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": args.code} if args.code else None
    out = subprocess.DEVNULL
    return subprocess.Popen(cmd, stdout=out, stderr=out, env=env, cwd=args.code or None)


def warm_up(url: str, args: argparse.Namespace) -> tuple[Rpc, list[str], dict[int, list[str]]]:
    """Waits for the daemon, sends 20 transfers (not measured); the timed transfers, and
    with ``--erc20`` the token deployed and the clients' transfers."""
    wait_up(url)
    rpc = Rpc(url)
    raws = [sign(KEYS[9], i, SINK, value=1) for i in range(args.n + 20)]
    for raw in raws[:20]:  # warm-up, not profiled
        rpc.send_and_wait(raw)
    clients: dict[int, list[str]] = {}
    if args.erc20:
        setup, clients = token_setup(max(args.n // 8, 1))
        for raw in setup:
            rpc.send_and_wait(raw)
    return rpc, raws[20:], clients


def drive(
    url: str, rpc: Rpc, raws: list[str], clients: dict[int, list[str]], args: argparse.Namespace
) -> tuple[list[float], float, tuple[list[float], list[float], int]]:
    """Runs the workload: latencies, elapsed seconds, and for the sequential workloads the
    client's split (first request's times, the rest's times, requests after the first)."""
    sends: list[float] = []
    receipts: list[float] = []
    polls = 0
    lat: list[float] = []
    steps = {"bundle": bundle_steps, "cross": cross_steps, "encrypted": encrypted_steps}
    kind = next((k for k in steps if getattr(args, k)), "seq")
    work = steps[kind](url, args.n) if kind in steps else None
    start_t = time.perf_counter()
    if args.erc20:
        lat = run_clients(url, clients)
    elif work is not None:
        for first, rest, pause in work:
            time.sleep(pause)
            t0 = time.perf_counter()
            first()
            t1 = time.perf_counter()
            polls += rest()
            t2 = time.perf_counter()
            sends.append(t1 - t0)
            receipts.append(t2 - t1)
            lat.append(t2 - t0)
    else:
        for raw in raws:
            t0 = time.perf_counter()
            tx_hash = rpc("eth_sendRawTransaction", raw)
            t1 = time.perf_counter()
            while True:
                polls += 1
                if rpc("eth_getTransactionReceipt", tx_hash) is not None:
                    break
            t2 = time.perf_counter()
            sends.append(t1 - t0)
            receipts.append(t2 - t1)
            lat.append(t2 - t0)
    return lat, time.perf_counter() - start_t, (sends, receipts, polls)


# one step of a workload: (first request, the rest -> how many requests, pause before)
Step = tuple[Callable[[], None], Callable[[], int], float]


def bundle_steps(url: str, n: int) -> list[Step]:
    """bench/bundles.py's light load: a 2-leg bundle every 25 ms, timed to its answer
    (which carries the order receipt)."""
    from bench.bundles import pairs

    root = Rpc(url.rsplit("/rollup/", 1)[0] + "/")

    def step(a: str, b: str) -> Step:
        def first() -> None:
            assert root("xseq_sendBundle", {"txs": [a, b]})["receipt"]

        return first, lambda: 0, 0.025

    return [step(a, b) for a, b in pairs(n, 0)]


def cross_steps(url: str, n: int) -> list[Step]:
    """bench/messaging.py's cross-rollup transfer: the send, then until both receipts
    are there (source receipt, the message, the delivery's receipt on 902)."""
    from bench.messaging import cross_transfer

    base = url.rsplit("/rollup/", 1)[0]
    a, b, root = Rpc(base + "/rollup/901"), Rpc(base + "/rollup/902"), Rpc(base + "/")
    out: list[Step] = []
    for send, both_sides in cross_transfer(a, b, root, n):
        out.append((send, both_sides, 0.0))
    return out


def encrypted_steps(url: str, n: int) -> list[Step]:
    """bench/encryption.py's encrypted row: an encrypted 2-leg bundle (encrypted before
    the timed span), then xseq_waitBundle until it is executed; 20 ms idle before each."""
    from bench.rollup_rpc import KEYS as keys
    from bench.rollup_rpc import sign_for
    from xseqd.client import encrypt_bundle

    root = Rpc(url.rsplit("/rollup/", 1)[0] + "/")
    key_info = root("xseq_encryptionKey")

    def step(i: int) -> Step:
        legs = [sign_for(901, keys[1], i, SINK, value=1), sign_for(902, keys[2], i, SINK, value=1)]
        envelope = "0x" + encrypt_bundle(key_info, legs).hex()
        sent: dict[str, Any] = {}

        def first() -> None:
            sent.update(root("xseq_sendEncryptedBundle", {"ciphertext": envelope}))

        def rest() -> int:
            assert root("xseq_waitBundle", sent["bundleHash"], 30)["status"] == "included"
            return 1

        return first, rest, 0.02

    return [step(i) for i in range(n)]


def print_header(args: argparse.Namespace, lat: list[float], elapsed: float) -> None:
    n = len(lat)
    lat = sorted(lat)
    what = "sequential send-and-wait ETH"
    if args.erc20:
        what = "8 clients ERC-20 send+receipt"
    elif args.bundle:
        what = "2-leg bundles, one every 25 ms, to the answer (order receipt)"
    elif args.cross:
        what = "cross-rollup transfer 901 -> 902, both receipts"
    elif args.encrypted:
        what = "encrypted 2-leg bundles, 20 ms apart, until executed (xseq_waitBundle)"
    print(f"\n{what}, n={n}, {'durable log' if args.durable else 'memory'}")
    print(f"client: {n / elapsed:.1f} tx/s, p50 {lat[n // 2] * 1000:.2f} ms, cpu={os.cpu_count()}")


def py_spy() -> str:
    for candidate in (ROOT / ".venv" / "bin" / "py-spy", shutil.which("py-spy")):
        if candidate and Path(candidate).exists():
            return str(candidate)
    raise SystemExit("py-spy not found: .venv/bin/pip install py-spy")


def run_spy(args: argparse.Namespace) -> None:
    """The daemon unprofiled, sampled by py-spy; prints the client's split and the
    daemon's main thread as a call tree in ms per transaction."""
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        exe = [sys.executable, "-c", "from xseqd.cli import main; main()"]
        proc = start([*exe, *devnet_args(args, tmp, port)], args)
        url = f"http://127.0.0.1:{port}/rollup/{CHAIN_ID}"
        try:
            rpc, raws, clients = warm_up(url, args)
            out = Path(tmp) / "spy.txt"
            spy_cmd = [py_spy(), "record", "-p", str(proc.pid), "-r", str(SPY_RATE)]
            spy_cmd += ["--nonblocking", "--idle", "--threads", "-f", "raw", "-o", str(out)]
            spy = subprocess.Popen(spy_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(1.0)  # py-spy attached
            lat, elapsed, (sends, receipts, polls) = drive(url, rpc, raws, clients, args)
            spy.send_signal(signal.SIGINT)
            _, err = spy.communicate(timeout=60)
            if not out.exists():
                raise SystemExit(f"py-spy wrote nothing: {err.decode()[-500:]}")
            stacks = out.read_text()
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(60)
    n = len(lat)
    print_header(args, lat, elapsed)
    if sends:
        sends.sort()
        receipts.sort()
        print(
            f"client split, p50: first request {sends[n // 2] * 1000:.2f} ms, "
            f"the rest {receipts[n // 2] * 1000:.2f} ms, "
            f"requests after the first per tx {polls / n:.2f}"
        )
    print_tree(stacks, n, args.depth, args.min_ms, args.focus)


SPY_RATE = 1000  # samples per second
# frames above the work of one event-loop callback (the loop itself, uvicorn's wrappers)
PLUMBING = (
    "<module> ",
    "main (",
    "run (asyncio",
    "Runner.run ",
    "BaseEventLoop.",
    "Handle._run ",
    "RequestResponseCycle.run_asgi ",
    "ProxyHeadersMiddleware.__call__ ",
)


def print_tree(stacks: str, n: int, depth: int, min_ms: float, focus: str | None) -> None:
    """The main thread's samples as a tree of calls (ms per transaction, inclusive).
    Waiting in epoll and writing to sockets are shown apart: the first is idle time,
    the second mostly the kernel handing the CPU to the client. With ``focus``, the tree
    starts at the first frame whose name contains it."""
    tree: dict[str, Any] = {}
    total = 0
    for line in stacks.splitlines():
        stack, _, count_s = line.rpartition(" ")
        if "MainThread" not in stack or not count_s.isdigit():
            continue
        count = int(count_s)
        total += count
        frames = [f.rsplit(":", 1)[0] + ")" for f in stack.split(";")[1:]]
        frames = [f for f in frames if not f.startswith(PLUMBING)]
        if focus is not None:
            at = next((i for i, f in enumerate(frames) if focus in f), None)
            if at is None:
                continue
            frames = frames[at:]
        if frames and frames[-1].startswith("EpollSelector.select"):
            frames = ["(idle: waiting in epoll)"]
        elif frames and "_SelectorSocketTransport.write" in frames[-1]:
            frames = ["(socket write: the kernel, often running the client)"]
        node = tree
        for frame in frames[:depth] or ["(event loop itself)"]:
            entry = node.setdefault(frame, [0, {}])
            entry[0] += count
            node = entry[1]
    per_tx = 1000 / SPY_RATE / n
    print(f"\ndaemon main thread: {total * per_tx:.2f} ms per tx sampled (inclusive, ms/tx)")

    def show(node: dict[str, Any], indent: int) -> None:
        for frame, (count, children) in sorted(node.items(), key=lambda kv: -kv[1][0]):
            if count * per_tx < min_ms:
                continue
            print(f"{count * per_tx:>7.2f}  {'  ' * indent}{frame}")
            show(children, indent + 1)

    show(tree, 0)


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

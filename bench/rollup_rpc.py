"""Benchmark: one rollup endpoint of xseqd vs anvil vs bare py-evm, same workloads, one run.

Workloads (transactions are pre-signed, so signing is not measured):
  seq-eth    sequential send-and-wait ETH transfers (send, then poll for the receipt)
  erc20-x8   8 concurrent clients, each sending ERC-20 transfers and waiting for receipts
Targets:
  xseqd      `xseqd devnet` as a subprocess (instant slots, 2 rollups), JSON-RPC over HTTP
  anvil      the npm anvil binary (automine), same client code
  bare       py-evm MiningChain in-process: seq-eth = one block per tx (like automine),
             erc20-x8 = blocks of 100 via mine_all (no RPC, no client)

Usage: .venv/bin/python bench/rollup_rpc.py [--n 200] [--per-client 40]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import requests
from eth_account import Account

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from xseqd.accounts import dev_accounts  # noqa: E402

TOKEN = json.loads((ROOT / "xseqd" / "contracts" / "artifacts" / "MyXToken.json").read_text())
CHAIN_ID = 901
KEYS = dev_accounts(10)
SINK = "0x000000000000000000000000000000000000beef"
FEES = {"maxFeePerGas": 100 * 10**9, "maxPriorityFeePerGas": 10**9}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Rpc:
    """A minimal keep-alive JSON-RPC client (the same one for every target)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()
        self.ids = 0

    def __call__(self, method: str, *params: Any) -> Any:
        self.ids += 1
        body = {"jsonrpc": "2.0", "id": self.ids, "method": method, "params": list(params)}
        reply = self.session.post(self.url, json=body, timeout=60).json()
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def send_and_wait(self, raw: str) -> float:
        start = time.perf_counter()
        tx_hash = self("eth_sendRawTransaction", raw)
        while self("eth_getTransactionReceipt", tx_hash) is None:
            pass
        return time.perf_counter() - start


def sign(
    key: Any, nonce: int, to: str | None, data: bytes = b"", value: int = 0, gas: int = 21_000
) -> str:
    return sign_for(CHAIN_ID, key, nonce, to, data, value, gas)


def sign_for(
    chain_id: int,
    key: Any,
    nonce: int,
    to: str | None,
    data: bytes = b"",
    value: int = 0,
    gas: int = 21_000,
) -> str:
    fields = {"chainId": chain_id, "nonce": nonce, "gas": gas, "value": value, "data": data, **FEES}
    if to is not None:
        fields["to"] = bytes.fromhex(to[2:])
    return "0x" + bytes(Account.sign_transaction(fields, key.key).raw_transaction).hex()


def transfer_data(to: str, amount: int) -> bytes:
    selector = bytes.fromhex("a9059cbb")
    return selector + bytes.fromhex(to[2:]).rjust(32, b"\0") + amount.to_bytes(32, "big")


def token_setup(per_client: int) -> tuple[list[str], dict[int, list[str]]]:
    """Deploy tx (key 0, nonce 0), funding txs (key 0 -> keys 1..8), then per-client transfers."""
    deployer = KEYS[0]
    from eth_abi import encode

    code = bytes.fromhex(TOKEN["bytecode"][2:]) + encode(["uint256"], [10**30])
    setup = [sign(deployer, 0, None, code, gas=2_000_000)]
    token = (
        "0x"
        + __import__("eth_utils")
        .keccak(__import__("rlp").encode([bytes.fromhex(deployer.address[2:]), 0]))[12:]
        .hex()
    )
    for i in range(1, 9):
        setup.append(sign(deployer, i, token, transfer_data(KEYS[i].address, 10**24), gas=100_000))
    clients = {
        i: [sign(KEYS[i], n, token, transfer_data(SINK, 1), gas=100_000) for n in range(per_client)]
        for i in range(1, 9)
    }
    return setup, clients


def run_rpc_target(url: str, n: int, per_client: int) -> dict[str, Any]:
    rpc = Rpc(url)
    key = KEYS[9]
    base = int(rpc("eth_getTransactionCount", key.address, "pending"), 16)
    raws = [sign(key, base + i, SINK, value=1) for i in range(n)]
    for raw in raws[:5]:  # warm-up
        rpc.send_and_wait(raw)
    lat = []
    start = time.perf_counter()
    for raw in raws[5:]:
        lat.append(rpc.send_and_wait(raw))
    seq_elapsed = time.perf_counter() - start
    setup, clients = token_setup(per_client)
    for raw in setup:
        rpc.send_and_wait(raw)
    latencies: list[float] = []
    lock = threading.Lock()

    def client(i: int) -> None:
        mine = Rpc(url)
        local = [mine.send_and_wait(raw) for raw in clients[i]]
        with lock:
            latencies.extend(local)

    threads = [threading.Thread(target=client, args=(i,)) for i in clients]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    erc_elapsed = time.perf_counter() - start
    total = sum(len(v) for v in clients.values())
    sink_balance = rpc(
        "eth_call", {"to": _token_address(), "data": "0x70a08231" + "00" * 12 + SINK[2:]}, "latest"
    )
    assert int(sink_balance, 16) == total, "not every transfer landed"
    return {
        "seq-eth": (len(lat) / seq_elapsed, lat),
        "erc20-x8": (total / erc_elapsed, latencies),
    }


def _token_address() -> str:
    import rlp
    from eth_utils import keccak

    return "0x" + keccak(rlp.encode([bytes.fromhex(KEYS[0].address[2:]), 0]))[12:].hex()


def run_bare(n: int, per_client: int) -> dict[str, Any]:
    """py-evm alone: the same transactions, executed and sealed with MiningChain."""
    from eth.chains.base import MiningChain
    from eth.db.atomic import AtomicDB

    from xseqd.chains.genesis import devnet_genesis

    genesis = devnet_genesis([bytes.fromhex(k.address[2:]) for k in KEYS])
    chain_class = MiningChain.configure(
        vm_configuration=genesis.vm_configuration, chain_id=CHAIN_ID
    )
    chain = chain_class.from_genesis(AtomicDB(), genesis.params, genesis.state)
    builder = chain.get_vm().get_transaction_builder()
    ts = [int(time.time())]

    def mine(raws: list[str]) -> None:
        ts[0] += 1
        txs = [builder.decode(bytes.fromhex(r[2:])) for r in raws]
        chain.mine_all(txs, timestamp=ts[0])

    raws = [sign(KEYS[9], i, SINK, value=1) for i in range(n)]
    for raw in raws[:5]:
        mine([raw])
    lat = []
    start = time.perf_counter()
    for raw in raws[5:]:
        t0 = time.perf_counter()
        mine([raw])
        lat.append(time.perf_counter() - t0)
    seq_elapsed = time.perf_counter() - start
    setup, clients = token_setup(per_client)
    mine(setup)
    interleaved = [clients[i][k] for k in range(per_client) for i in clients]
    start = time.perf_counter()
    blocks = [interleaved[i : i + 100] for i in range(0, len(interleaved), 100)]
    for block in blocks:
        mine(block)
    erc_elapsed = time.perf_counter() - start
    return {
        "seq-eth": (len(lat) / seq_elapsed, lat),
        "erc20-x8": (len(interleaved) / erc_elapsed, []),
    }


def start_xseqd(
    port: int, storage: tuple[str, ...] = ("--db", "memory")
) -> subprocess.Popen[bytes]:
    """xseqd as a user runs it, without L1; by default with an in-memory log, like anvil
    (bench/bundles.py passes a data dir to measure with the durable log)."""
    code = os.environ.get("XSEQD_BENCH_CODE")  # another checkout's xseqd (bench/ab.py)
    exe = ROOT / ".venv" / "bin" / "xseqd"
    run = [sys.executable, "-c", "from xseqd.cli import main; main()"] if code else [str(exe)]
    env = {**os.environ, "PYTHONPATH": code} if code else None
    args = [
        *run,
        "devnet",
        "--port",
        str(port),
        *storage,
        "--log-level",
        "warning",
        "--l1-rpc",
        "none",
    ]
    out = subprocess.DEVNULL
    proc = subprocess.Popen(args, stdout=out, stderr=out, env=env, cwd=code or None)
    wait_up(f"http://127.0.0.1:{port}/rollup/{CHAIN_ID}")
    return proc


def start_anvil(port: int) -> subprocess.Popen[bytes]:
    exe = ROOT / "node_modules" / ".bin" / "anvil"
    proc = subprocess.Popen(
        [str(exe), "--port", str(port), "--chain-id", str(CHAIN_ID), "--silent"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_up(f"http://127.0.0.1:{port}")
    return proc


def wait_up(url: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            Rpc(url)("eth_chainId")
            return
        except Exception:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def pct(values: list[float], q: float) -> str:
    if not values:
        return "-"
    values = sorted(values)
    return f"{values[min(len(values) - 1, int(q * len(values)))] * 1000:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--per-client", type=int, default=40)
    args = parser.parse_args()
    results: dict[str, dict[str, Any]] = {}
    port = free_port()
    proc = start_xseqd(port)
    try:
        results["xseqd"] = run_rpc_target(
            f"http://127.0.0.1:{port}/rollup/{CHAIN_ID}", args.n, args.per_client
        )
    finally:
        proc.terminate()
        proc.wait(10)
    port = free_port()
    proc = start_anvil(port)
    try:
        results["anvil"] = run_rpc_target(f"http://127.0.0.1:{port}", args.n, args.per_client)
    finally:
        proc.terminate()
        proc.wait(10)
    results["bare"] = run_bare(args.n, args.per_client)
    print(
        f"\nrollup RPC benchmark (n={args.n}, 8 clients x {args.per_client}), cpu={os.cpu_count()}"
    )
    print(f"{'workload':<10} {'target':<7} {'tx/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for workload in ("seq-eth", "erc20-x8"):
        for target in ("xseqd", "anvil", "bare"):
            rate, lat = results[target][workload]
            print(f"{workload:<10} {target:<7} {rate:>8.1f} {pct(lat, 0.5):>8} {pct(lat, 0.99):>8}")
        x, a, b = (results[t][workload][0] for t in ("xseqd", "anvil", "bare"))
        print(f"{workload:<10} ratios  xseqd/anvil = {x / a:.2f}   xseqd/bare = {x / b:.2f}")


if __name__ == "__main__":
    main()

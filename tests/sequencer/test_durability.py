"""Restart from the sequencer log: same block hashes, statuses, receipts; nothing lost,
nothing applied twice — after a clean stop and after kill -9 under load."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from web3 import Web3

from xseqd.accounts import dev_accounts
from xseqd.client import SequencerClient
from xseqd.config import Settings
from xseqd.node import NodeThread
from xseqd.storage.log import SequencerLog

KEYS = dev_accounts(10)
SINK = Web3.to_checksum_address("0x00000000000000000000000000000000000d0d0d")
EXE = Path(sys.executable).parent / "xseqd"


def sign(
    chain_id: int,
    key: Any,
    nonce: int,
    value: int = 1,
    to: str = SINK,
    gas: int = 21_000,
    data: bytes = b"",
) -> str:
    tx = {
        "chainId": chain_id,
        "nonce": nonce,
        "to": to,
        "value": value,
        "gas": gas,
        "data": data,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 1,
    }
    return "0x" + bytes(Account.sign_transaction(tx, key.key).raw_transaction).hex()


def chain_view(url: str) -> dict[str, Any]:
    """Everything that must survive a restart, read over RPC."""
    w3 = Web3(Web3.HTTPProvider(url))
    head = w3.eth.block_number
    blocks = batch(url, [("eth_getBlockByNumber", [hex(n), False]) for n in range(head + 1)])
    return {
        "hashes": [b["hash"] for b in blocks],
        "pending": [w3.eth.get_transaction_count(k.address, "pending") for k in KEYS[:4]],
    }


def test_clean_restart_resumes_everything(tmp_path: Path) -> None:
    settings = Settings.for_tests(db=f"sqlite:///{tmp_path / 'log.db'}")
    node = NodeThread(settings)
    ep = node.start()
    seq = SequencerClient(ep.base_url)
    a = Web3(Web3.HTTPProvider(ep.rollup_url(901)))
    a.eth.send_raw_transaction(sign(901, KEYS[0], 0))
    ok = seq.send_bundle([sign(901, KEYS[1], 0), sign(902, KEYS[2], 0)])
    bad = seq.send_bundle([sign(901, KEYS[1], 1), sign(902, KEYS[2], 5)])  # nonce too high
    assert ok["status"] == "included" and bad["status"] == "aborted"
    a.provider.make_request("anvil_setBalance", [SINK, "0x1234"])  # type: ignore[arg-type]
    queued = a.eth.send_raw_transaction(sign(901, KEYS[3], 1))  # future nonce: queued
    held = seq.send_bundle([sign(902, KEYS[3], 0)], min_slot=10_000, replacement_uuid="later")
    a.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    open_tx = a.eth.send_raw_transaction(sign(901, KEYS[0], 1))  # in the open, unsealed slot
    before = {cid: chain_view(ep.rollup_url(cid)) for cid in (901, 902)}
    bundles_before = {
        h: seq.get_bundle(h)
        for h in (ok["bundleHash"], bad["bundleHash"], held["bundleHash"], open_tx.to_0x_hex())
    }
    node.stop()

    node = NodeThread(settings)
    ep = node.start()
    try:
        seq = SequencerClient(ep.base_url)
        assert node.node.resumed_slots >= 4
        after = {cid: chain_view(ep.rollup_url(cid)) for cid in (901, 902)}
        for cid in (901, 902):
            # sealed blocks are identical; the slot left open is sealed at start (instant mode)
            assert after[cid]["hashes"][:-1] == before[cid]["hashes"]
            assert after[cid]["pending"] == before[cid]["pending"]
        for h, item in bundles_before.items():
            assert seq.get_bundle(h) == item
        a = Web3(Web3.HTTPProvider(ep.rollup_url(901)))
        assert a.eth.get_transaction_receipt(open_tx).blockNumber == len(before[901]["hashes"])
        assert a.eth.get_balance(SINK) == 0x1234 + 1  # setBalance, then open_tx
        assert seq.cancel_bundle("later") is True  # the held bundle came back
        a.eth.send_raw_transaction(sign(901, KEYS[3], 0))  # fills the gap: queued one runs
        assert a.eth.get_transaction_receipt(queued).status == 1
    finally:
        node.stop()


def batch(url: str, calls: list[tuple[str, list[Any]]]) -> list[Any]:
    """Results of a JSON-RPC batch, in call order."""
    out: list[Any] = []
    for start in range(0, len(calls), 500):
        body = [
            {"jsonrpc": "2.0", "id": start + i, "method": m, "params": p}
            for i, (m, p) in enumerate(calls[start : start + 500])
        ]
        replies = {r["id"]: r for r in httpx.post(url, json=body, timeout=60).json()}
        out.extend(replies[start + i].get("result") for i in range(len(body)))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            str(EXE),
            "devnet",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--log-level",
            "warning",
            "--l1-rpc",
            "none",  # a SIGKILLed xseqd cannot stop its anvil child
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            httpx.post(
                f"http://127.0.0.1:{port}/",
                json={"jsonrpc": "2.0", "id": 1, "method": "xseq_slotNumber"},
                timeout=2,
            )
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("xseqd did not start")


def test_kill_9_under_load_loses_nothing_acknowledged(tmp_path: Path) -> None:
    port = free_port()
    proc = start(tmp_path / "data", port)
    base = f"http://127.0.0.1:{port}"
    acked: list[tuple[str, str, int]] = []  # (kind, hash, chain)
    acked_by_key: list[tuple[str, str, int, int]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def plain_client(i: int) -> None:
        key, cid = KEYS[i], 901 + (i % 2)
        with httpx.Client(timeout=5) as http:
            for nonce in range(10_000):
                if stop.is_set():
                    return
                body = {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "eth_sendRawTransaction",
                    "params": [sign(cid, key, nonce)],
                }
                try:
                    reply = http.post(f"{base}/rollup/{cid}", json=body).json()
                except httpx.HTTPError:
                    return
                with lock:
                    acked.append(("tx", reply["result"], cid))
                    acked_by_key.append(("tx", reply["result"], cid, i))

    def bundle_client() -> None:
        with httpx.Client(timeout=5) as http:
            for nonce in range(10_000):
                if stop.is_set():
                    return
                legs = [sign(901, KEYS[8], nonce), sign(902, KEYS[9], nonce)]
                body = {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "xseq_sendBundle",
                    "params": [{"txs": legs}],
                }
                try:
                    reply = http.post(f"{base}/", json=body).json()
                except httpx.HTTPError:
                    return
                assert reply["result"]["status"] == "included", reply
                with lock:
                    acked.append(("bundle", reply["result"]["bundleHash"], 0))

    threads = [threading.Thread(target=plain_client, args=(i,)) for i in range(4)]
    threads.append(threading.Thread(target=bundle_client))
    for t in threads:
        t.start()
    time.sleep(1.5)
    with lock:
        seen = len(acked)
    snapshot_hashes = {cid: chain_view(f"{base}/rollup/{cid}")["hashes"] for cid in (901, 902)}
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    stop.set()
    for t in threads:
        t.join(10)
    assert seen > 20, "the load did not get going"

    port = free_port()
    t0 = time.perf_counter()
    proc = start(tmp_path / "data", port)
    print(f"restart after kill -9: {time.perf_counter() - t0:.2f}s for {len(acked)} acked items")
    try:
        base = f"http://127.0.0.1:{port}"
        w3 = {cid: Web3(Web3.HTTPProvider(f"{base}/rollup/{cid}")) for cid in (901, 902)}
        for cid in (901, 902):  # blocks seen before the kill are unchanged
            now = chain_view(f"{base}/rollup/{cid}")["hashes"]
            assert now[: len(snapshot_hashes[cid])] == snapshot_hashes[cid]
        items = batch(f"{base}/", [("xseq_getBundle", [h]) for _, h, _ in acked])
        legs_by_chain: dict[int, list[str]] = {901: [], 902: []}
        for (kind, h, _), item in zip(acked, items, strict=True):
            assert item is not None, f"acknowledged {kind} {h} lost"
            assert item["status"] == "included"
            for leg in item["legs"]:
                legs_by_chain[leg["chainId"]].append(leg["txHash"])
        for cid, hashes in legs_by_chain.items():
            receipts = batch(
                f"{base}/rollup/{cid}", [("eth_getTransactionReceipt", [h]) for h in hashes]
            )
            assert all(r is not None and r["status"] == "0x1" for r in receipts)
        # nothing applied twice: every tx hash appears once across all blocks
        for cid in (901, 902):
            head = w3[cid].eth.block_number
            blocks = batch(
                f"{base}/rollup/{cid}",
                [("eth_getBlockByNumber", [hex(n), False]) for n in range(head + 1)],
            )
            txs = [t for b in blocks for t in b["transactions"]]
            assert len(txs) == len(set(txs))
            assert set(legs_by_chain[cid]) <= set(txs)
        # each plain sender's nonce is at least its number of acknowledged transactions
        for i in range(4):
            cid = 901 + (i % 2)
            count = sum(1 for kind, _, c, who in acked_by_key if who == i)
            assert w3[cid].eth.get_transaction_count(KEYS[i].address) >= count
    finally:
        proc.kill()
        proc.wait(10)


def test_restart_from_a_state_snapshot_replays_only_the_tail(tmp_path: Path) -> None:
    """With a snapshot every 4 slots, a restart loads the snapshot and re-executes only
    the later slots — and the result is identical to the full history."""
    db = f"sqlite:///{tmp_path / 'log.db'}"
    node = NodeThread(Settings.for_tests(db=db, snapshot_every=4))
    ep = node.start()
    a = Web3(Web3.HTTPProvider(ep.rollup_url(901)))
    seq = SequencerClient(ep.base_url)
    hashes = []
    for nonce in range(10):
        hashes.append(a.eth.send_raw_transaction(sign(901, KEYS[0], nonce)))
    bundle = seq.send_bundle([sign(901, KEYS[1], 0), sign(902, KEYS[2], 0)])
    before = {cid: chain_view(ep.rollup_url(cid)) for cid in (901, 902)}
    slot_before = seq.get_slot(3)
    node.stop()

    contents = SequencerLog(db)
    snapshot = contents.load().snapshot
    contents.close()
    assert snapshot is not None and snapshot[0] == 8  # slots 4 and 8 were snapshotted

    node = NodeThread(Settings.for_tests(db=db, snapshot_every=4))
    ep = node.start()
    try:
        seq = SequencerClient(ep.base_url)
        assert {cid: chain_view(ep.rollup_url(cid)) for cid in (901, 902)} == before
        assert seq.get_slot(3) == slot_before  # slots under the snapshot keep their items
        assert seq.get_bundle(bundle["bundleHash"]) == bundle | {"kind": "bundle"}
        a = Web3(Web3.HTTPProvider(ep.rollup_url(901)))
        assert [a.eth.get_transaction_receipt(h).status for h in hashes] == [1] * 10
        a.eth.send_raw_transaction(sign(901, KEYS[0], 10))  # and the chain goes on
        assert a.eth.get_transaction_count(KEYS[0].address) == 11
    finally:
        node.stop()

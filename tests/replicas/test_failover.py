"""Three replicas on one PostgreSQL over HTTP, under a load of plain transactions and
bundles sent to any replica, with the leader SIGKILLed mid-load, round after round.

After every round: every acknowledged item is in the order exactly once (included),
every replica has the same head hash, follower reads agree with the leader's, and at the
end ``xseqd verify`` re-executes what the leaders posted on L1 and finds it OK. Rounds:
2 in ``make test`` (to keep the suite's time down), 10 with XSEQD_LONG=1 (``make fuzz``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from websockets.sync.client import connect

from tests.procs import EXE, Devnet, free_port
from tests.replicas.cluster import Load, Replicas, call, result
from xseqd.accounts import dev_accounts
from xseqd.l1.anvil import Anvil

ROUNDS = 10 if os.environ.get("XSEQD_LONG") else 2


@pytest.fixture
def l1() -> Iterator[str]:
    anvil = Anvil(free_port(), 900, None, block_time=1.0)
    url = anvil.start()
    try:
        yield url
    finally:
        anvil.stop()


def order_counts(url: str) -> tuple[Counter[str], Counter[str]]:
    """How often each item hash and each leg tx hash is in an included item, over every
    sealed slot (as ``url``'s replica has them)."""
    items: Counter[str] = Counter()
    txs: Counter[str] = Counter()
    head = int(result(url + "/", "xseq_slotNumber"), 16)
    replies: list[Any] = []
    for start in range(1, head + 1, 500):  # batches of at most 500 (the limit is 1,000)
        batch = [
            {"jsonrpc": "2.0", "id": n, "method": "xseq_getSlot", "params": [hex(n)]}
            for n in range(start, min(head, start + 499) + 1)
        ]
        replies += httpx.post(url + "/", json=batch, timeout=120).json()
    assert len(replies) == head
    for reply in replies:
        for item in reply["result"]["items"]:
            if item["status"] == "included":
                items[item["itemHash"]] += 1
                for leg in item["legs"]:
                    txs[leg["txHash"]] += 1
    return items, txs


def check_follower_reads(cluster: Replicas, leader: int) -> None:
    """Mid-load, a follower's blocks are the leader's blocks, its head is never ahead of
    the leader's, its reported lag is what separates them, and it catches up."""
    for i in cluster.live():
        if i == leader:
            continue
        rollup = cluster.url(i) + "/rollup/902"
        head = int(result(rollup, "eth_blockNumber"), 16)
        mine = result(rollup, "eth_getBlockByNumber", hex(head), False)
        leader_rollup = cluster.url(leader) + "/rollup/902"
        leader_head = int(result(leader_rollup, "eth_blockNumber"), 16)
        theirs = result(leader_rollup, "eth_getBlockByNumber", hex(head), False)
        assert head <= leader_head
        assert mine["hash"] == theirs["hash"]
        report = {r["id"]: r for r in cluster.info(leader)["replication"]["replicas"]}
        lag = report[f"r{i}"]["lagSlots"]
        assert lag >= 0 and lag == max(
            0, report[f"r{leader}"]["headSlot"] - report[f"r{i}"]["headSlot"]
        )
        deadline = time.time() + 15
        while int(result(rollup, "eth_blockNumber"), 16) < leader_head:
            assert time.time() < deadline, "follower does not catch up"
            time.sleep(0.02)


def test_leader_killed_under_load_loses_nothing(pg_url: str, l1: str, tmp_path: Path) -> None:
    cluster = Replicas(3, pg_url, l1, tmp_path)
    load = Load(cluster)
    try:
        first = cluster.leader()
        assert [cluster.info(i)["replication"]["role"] for i in range(3)].count("leader") == 1
        load.start()
        failovers = []
        for _ in range(ROUNDS):
            time.sleep(1.5)
            old = cluster.leader()
            sent_before = load.sent
            check_follower_reads(cluster, old)
            cluster.kill(old)
            killed_at = time.time()
            new = cluster.leader()
            assert new != old
            while load.sent == sent_before:  # an acknowledged write after the kill
                assert time.time() - killed_at < 30, "no write acknowledged after the kill"
                time.sleep(0.02)
            failovers.append(time.time() - killed_at)
            cluster.start(old)  # comes back as a follower
            assert cluster.info(old)["replication"]["role"] == "follower"
        time.sleep(1.0)
        load.stop()
        leader = cluster.leader()
        head_hash = cluster.wait_converged()  # rollup 901; and 902:
        heads = {
            result(cluster.url(i) + "/rollup/902", "eth_getBlockByNumber", "latest", False)["hash"]
            for i in cluster.live()
        }
        assert head_hash and len(heads) == 1
        assert load.acked.txs and load.acked.bundles
        for i in cluster.live():
            items, txs = order_counts(cluster.url(i))
            for tx in load.acked.txs:
                assert txs[tx] == 1, (i, tx)
            for bundle, legs in load.acked.bundles.items():
                assert items[bundle] == 1, (i, bundle)
                assert all(txs[leg] == 1 for leg in legs)
            info = cluster.info(i)["replication"]
            assert info["leader"] == f"r{leader}"
        assert max(failovers) < 10, failovers
        # every slot reaches L1 (posted by whichever replica led), and verifies
        head = int(result(cluster.url(leader) + "/", "xseq_slotNumber"), 16)
        deadline = time.time() + 60
        while cluster.info(leader)["l1"]["postedThrough"] < head and time.time() < deadline:
            time.sleep(0.2)
        settlement = cluster.info(leader)["l1"]["settlement"]
        done = subprocess.run(
            [str(EXE), "verify", "--l1-rpc", l1, "--settlement", settlement,
             "--data-dir", str(tmp_path / "none")],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert "OK" in done.stdout
        print(f"\n{ROUNDS} failovers: {[round(f, 2) for f in failovers]} s; first leader r{first}")
    except BaseException:
        print(cluster.logs())
        raise
    finally:
        load.stop()
        cluster.stop()


def _info(cluster: Replicas, i: int) -> dict[str, Any]:
    return cluster.info(i)["replication"]


def test_a_paused_leader_wakes_up_deposed_and_follows(pg_url: str, l1: str, tmp_path: Path) -> None:
    cluster = Replicas(2, pg_url, l1, tmp_path)
    try:
        old = cluster.leader()
        other = 1 - old
        proc = cluster.procs[old]
        assert proc is not None
        proc.proc.send_signal(signal.SIGSTOP)  # alive, holding its lease, but not renewing
        try:
            deadline = time.time() + 15
            while cluster.info(other)["replication"]["role"] != "leader":
                assert time.time() < deadline, "no takeover"
                time.sleep(0.05)
            tx = Load(cluster)._tx(Account.from_key(dev_accounts(2)[1].key), 901, 0)
            sent = result(cluster.url(other) + "/rollup/901", "eth_sendRawTransaction", tx)
        finally:
            proc.proc.send_signal(signal.SIGCONT)
        deadline = time.time() + 60
        while "restarting as a follower" not in proc.output:
            assert time.time() < deadline, proc.output[-3000:]
            time.sleep(0.1)
        info = cluster.info(old)["replication"]  # waits for the restart
        assert info["role"] == "follower" and info["leader"] == f"r{other}"
        assert info["token"] >= 2  # taken over at least once
        cluster.wait_converged()
        receipt = result(cluster.url(old) + "/rollup/901", "eth_getTransactionReceipt", sent)
        assert receipt is not None and receipt["status"] == "0x1"
        # writes through the old leader are now forwarded to the new one, and its own
        # WebSocket subscriptions see the blocks it replays
        ws_url = f"ws://127.0.0.1:{cluster.ports[old]}/rollup/901"
        with connect(ws_url) as ws:
            ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe",
                                "params": ["newHeads"]}))  # fmt: skip
            assert "result" in json.loads(ws.recv(timeout=10))
            tx2 = Load(cluster)._tx(Account.from_key(dev_accounts(2)[1].key), 901, 1)
            sent2 = result(cluster.url(old) + "/rollup/901", "eth_sendRawTransaction", tx2)
            head = json.loads(ws.recv(timeout=10))["params"]["result"]
        on_leader = result(cluster.url(other) + "/rollup/901", "eth_getTransactionReceipt", sent2)
        assert on_leader["blockHash"] == head["hash"]
        # bad input through a follower: the leader's error, code and all; nothing changes
        before = cluster.wait_converged()
        bad = call(cluster.url(old) + "/rollup/901", "eth_sendRawTransaction", "0x1234")
        direct = call(cluster.url(other) + "/rollup/901", "eth_sendRawTransaction", "0x1234")
        assert "error" in direct and bad["error"] == direct["error"]
        assert cluster.wait_converged() == before
    except BaseException:
        print(cluster.logs())
        raise
    finally:
        cluster.stop()


def test_replicas_started_together_on_a_fresh_log_elect_one_leader(
    pg_url: str, tmp_path: Path
) -> None:
    """As `docker compose --profile replicas up` does: all at once, nothing in the log."""
    ports = [free_port() for _ in range(3)]
    procs = [
        Devnet(
            "--db",
            pg_url,
            "--replica-id",
            f"r{i}",
            "--port",
            str(p),
            "--l1-rpc",
            "none",
            "--data-dir",
            str(tmp_path / f"r{i}"),
            "--log-level",
            "warning",
        )  # fmt: skip
        for i, p in enumerate(ports)
    ]
    try:
        assert all(d.wait_ready(90) for d in procs), [d.output[-2000:] for d in procs]
        infos = [result(f"http://127.0.0.1:{p}/", "xseq_sequencer") for p in ports]
        roles = [i["replication"]["role"] for i in infos]
        assert sorted(roles) == ["follower", "follower", "leader"]
        assert len({i["address"] for i in infos}) == 1  # one sequencer key, from the log
        assert len({i["replication"]["leader"] for i in infos}) == 1
    finally:
        for d in procs:
            d.stop()

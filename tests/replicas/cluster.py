"""Replicas as a user runs them: ``xseqd devnet --db postgresql://... --replica-id N``
processes on free ports, one shared anvil L1, and a load of plain transactions and
bundles sent to any replica with retries (used by the tests and bench/replicas.py)."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account

from tests.procs import Devnet, free_port
from xseqd.accounts import dev_accounts


def call(url: str, method: str, *params: Any, timeout: float = 10.0) -> dict[str, Any]:
    """The whole JSON-RPC reply (result or error)."""
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    return dict(httpx.post(url, json=body, timeout=timeout).json())


def result(url: str, method: str, *params: Any, wait: float = 60.0) -> Any:
    """The result; a replica that is restarting (deposed, it comes back as a follower)
    is waited for."""
    deadline = time.time() + wait
    while True:
        try:
            reply = call(url, method, *params)
            break
        except httpx.TransportError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)
    assert "error" not in reply, reply
    return reply["result"]


class Replicas:
    """``count`` replicas of one devnet sharing ``db_url`` and the L1 at ``l1_url``."""

    def __init__(
        self, count: int, db_url: str, l1_url: str, data: Path, lease_ttl: float = 2.0
    ) -> None:
        self.db_url, self.l1_url, self.data, self.lease_ttl = db_url, l1_url, data, lease_ttl
        self.ports = [free_port() for _ in range(count)]
        self.procs: list[Devnet | None] = [None] * count
        for i in range(count):
            self.start(i)

    def url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.ports[i]}"

    def start(self, i: int) -> None:
        d = Devnet(
            "--db", self.db_url, "--replica-id", f"r{i}", "--port", str(self.ports[i]),
            "--l1-rpc", self.l1_url, "--data-dir", str(self.data / f"r{i}"),
            "--lease-ttl", str(self.lease_ttl), "--log-level", "warning",
            "--snapshot-every", "32",  # a restarted replica replays at most 32 slots
        )  # fmt: skip
        assert d.wait_ready(90), d.output
        self.procs[i] = d

    def kill(self, i: int) -> None:
        d = self.procs[i]
        assert d is not None
        d.proc.kill()
        d.proc.wait(10)
        self.procs[i] = None

    def live(self) -> list[int]:
        return [i for i, d in enumerate(self.procs) if d is not None]

    def info(self, i: int, wait: float = 60.0) -> dict[str, Any]:
        return dict(result(self.url(i) + "/", "xseq_sequencer", wait=wait))

    def leader(self, timeout: float = 15.0) -> int:
        """The replica that leads (waits for one)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            for i in self.live():
                try:
                    if self.info(i, wait=0)["replication"]["role"] == "leader":
                        return i
                except httpx.HTTPError:
                    pass
            time.sleep(0.05)
        raise AssertionError("no leader")

    def wait_converged(self, timeout: float = 30.0) -> str:
        """Wait until every live replica has the same head; the head block hash on 901."""
        deadline = time.time() + timeout
        heads: list[Any] = []
        while time.time() < deadline:
            heads = [
                result(self.url(i) + "/rollup/901", "eth_getBlockByNumber", "latest", False)
                for i in self.live()
            ]
            if len({(h["number"], h["hash"]) for h in heads}) == 1:
                return str(heads[0]["hash"])
            time.sleep(0.1)
        raise AssertionError(f"replicas did not converge: {heads}")

    def stop(self) -> None:
        for d in self.procs:
            if d is not None:
                d.stop()

    def logs(self) -> str:
        """The replicas' output after their banners (for a failing test's report)."""
        return "\n".join(
            f"--- r{i}\n" + d.output.split("Listening on", 1)[-1][-4000:]
            for i, d in enumerate(self.procs)
            if d is not None
        )


@dataclass
class Acked:
    """What the load got acknowledged: plain tx hashes and bundles (hash -> leg hashes)."""

    txs: set[str] = field(default_factory=set)
    bundles: dict[str, list[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # answers that were retried


RETRYABLE = (-38031, -38032, -32603)  # deposed, no leader, leader died mid-request


class Load:
    """Worker threads, each with its own dev account, sending to random live replicas:
    plain transfers on 901/902, or two-leg bundles (901 + 902). A submission is retried
    (the same signed bytes) until acknowledged; a nonce is used only once acknowledged."""

    def __init__(self, cluster: Replicas, plain: int = 2, bundles: int = 2) -> None:
        self.cluster = cluster
        self.acked = Acked()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        keys = dev_accounts(1 + plain + bundles)[1:]
        self.sent = 0
        self._threads = [
            threading.Thread(
                target=self._run, args=(Account.from_key(k.key), i < plain), daemon=True
            )
            for i, k in enumerate(keys)
        ]
        self.nonces: dict[tuple[str, int], int] = {}

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(60)

    def _nonce(self, acct: Any, chain: int) -> int:
        key = (acct.address, chain)
        if key not in self.nonces:
            leader = self.cluster.leader()
            url = self.cluster.url(leader) + f"/rollup/{chain}"
            self.nonces[key] = int(
                result(url, "eth_getTransactionCount", acct.address, "latest"), 16
            )
        return self.nonces[key]

    def _tx(self, acct: Any, chain: int, nonce: int) -> str:
        tx = {
            "to": "0x000000000000000000000000000000000000bEEF",
            "value": random.randint(1, 10**6),
            "gas": 21000,
            "maxFeePerGas": 10**10,
            "maxPriorityFeePerGas": 1,
            "nonce": nonce,
            "chainId": chain,
        }
        return "0x" + bytes(acct.sign_transaction(tx).raw_transaction).hex()

    def _send(self, path: str, method: str, param: Any) -> dict[str, Any]:
        """Send until some replica acknowledges (or answers a non-retryable error)."""
        while True:
            live = self.cluster.live()
            i = random.choice(live) if live else 0
            try:
                reply = call(self.cluster.url(i) + path, method, param)
            except (httpx.HTTPError, ValueError) as exc:
                with self._lock:
                    self.acked.errors.append(f"{method}: {exc!r}")
                time.sleep(0.05)
                continue
            error = reply.get("error")
            if error is not None and error.get("code") in RETRYABLE:
                with self._lock:
                    self.acked.errors.append(f"{method}: {error}")
                time.sleep(0.05)
                continue
            return reply

    def _run(self, acct: Any, plain: bool) -> None:
        chain_turn = 0
        while not self._stop.is_set():
            if plain:
                chain = (901, 902)[chain_turn % 2]
                chain_turn += 1
                raw = self._tx(acct, chain, self._nonce(acct, chain))
                reply = self._send(f"/rollup/{chain}", "eth_sendRawTransaction", raw)
                assert "error" not in reply, reply
                with self._lock:
                    self.acked.txs.add(reply["result"])
                    self.nonces[(acct.address, chain)] += 1
                    self.sent += 1
                continue
            legs = [self._tx(acct, c, self._nonce(acct, c)) for c in (901, 902)]
            reply = self._send("/", "xseq_sendBundle", {"txs": legs})
            if "error" in reply:
                # -38004 "already known": the first try was ordered (logged) but its answer
                # was lost with the leader; it counts like an acknowledged one
                assert reply["error"]["code"] == -38004, reply
                bundle_hash = self._bundle_hash_of(legs)
            else:
                assert reply["result"]["status"] == "included", reply
                bundle_hash = reply["result"]["bundleHash"]
            with self._lock:
                self.acked.bundles[bundle_hash] = [tx_hash(r) for r in legs]
                for c in (901, 902):
                    self.nonces[(acct.address, c)] += 1
                self.sent += 1

    def _bundle_hash_of(self, legs: list[str]) -> str:
        leader = self.cluster.leader()
        receipt = result(
            self.cluster.url(leader) + "/rollup/901", "eth_getTransactionReceipt", tx_hash(legs[0])
        )
        assert receipt is not None
        for n in range(1, int(result(self.cluster.url(leader) + "/", "xseq_slotNumber"), 16) + 1):
            slot = result(self.cluster.url(leader) + "/", "xseq_getSlot", hex(n))
            for item in slot["items"]:
                if item["legs"] and item["legs"][0]["txHash"] == tx_hash(legs[0]):
                    return str(item["itemHash"])
        raise AssertionError("bundle not found")


def tx_hash(raw: str) -> str:
    from eth_utils import keccak

    return "0x" + keccak(bytes.fromhex(raw[2:])).hex()

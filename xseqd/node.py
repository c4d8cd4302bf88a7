"""The one place that builds xseqd's parts and starts and stops them in order.

``Node`` = rollups (chains/) -> sequencer -> slot driver -> RPC app -> HTTP server.
With ``--db postgresql://...`` the node is one replica of several
(sequencer/replication.py): it leads or follows, and a follower forwards writes.
``NodeThread`` runs a node on its own event loop in a background thread, which is how
tests and benchmarks embed a real server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import uvicorn
from eth_utils import to_checksum_address

from xseqd.accounts import DevKeyring
from xseqd.chains.backing import genesis_backing
from xseqd.chains.genesis import genesis_commitment, genesis_description, load_rollups
from xseqd.chains.limits import CallLimits
from xseqd.chains.rollup import Rollup
from xseqd.config import Settings
from xseqd.core.order import ReceiptDomain
from xseqd.encryption import Encryption
from xseqd.errors import XseqError
from xseqd.keyper import KeyperSet
from xseqd.keys import DevnetKeys, devnet_keys, new_key
from xseqd.l1.anvil import Anvil
from xseqd.l1.client import L1Client
from xseqd.l1.parties import GenesisCommitment, settlement_for
from xseqd.l1.portal import DepositWatcher, find_portal, portal_for, portal_token
from xseqd.l1.poster import Poster
from xseqd.rpc import format as fmt
from xseqd.rpc.app import build_app
from xseqd.rpc.context import Services
from xseqd.rpc.filters import FilterHub
from xseqd.rpc.metrics import Metrics
from xseqd.sequencer.decryption import Decryptor
from xseqd.sequencer.deposits import applied_deposits, include_deposits
from xseqd.sequencer.driver import SlotDriver
from xseqd.sequencer.recovery import restore
from xseqd.sequencer.replication import Replication
from xseqd.sequencer.sequencer import Sequencer
from xseqd.sequencer.slotline import slot_fields, slot_line
from xseqd.storage.journal import LogJournal
from xseqd.storage.lease import Lease, default_replica_id, shared_keys
from xseqd.storage.log import SequencerLog

log = logging.getLogger("xseqd")
slots_log = logging.getLogger("xseqd.slots")


@dataclass
class Endpoints:
    """Where a started node listens."""

    host: str
    port: int

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def rollup_url(self, chain_id: int) -> str:
        return f"{self.base_url}/rollup/{chain_id}"

    def rollup_ws(self, chain_id: int) -> str:
        return f"ws://{self.host}:{self.port}/rollup/{chain_id}"


SWITCH_INTERVAL = 0.001


class Node:
    """A configured xseqd: build with settings, then ``await start()`` / ``await stop()``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        accounts = DevKeyring(settings.accounts)
        addresses = accounts.addresses
        specs = load_rollups(settings.rollups_dir, addresses)
        self.genesis_description = genesis_description(specs, addresses)
        cache = settings.data_dir if not settings.db else None  # large genesis kept there
        self.rollups = [Rollup(spec, cache) for spec in specs]
        if (settings.replica_id or settings.replica_url) and not settings.replicated:
            raise XseqError("--replica-id/--replica-url need a shared log: --db postgresql://...")
        if settings.replicated and settings.lease_ttl <= 0:
            raise XseqError("--lease-ttl must be more than 0 seconds")
        if settings.deposit_window <= settings.l1_confirmations:
            raise XseqError("--deposit-window must be more than --l1-confirmations")
        if settings.data_dir is not None and not settings.db:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.log = SequencerLog(settings.db_url)
        self.keys = self._keys()
        self.sequencer = Sequencer(self.rollups, key=self.keys.sequencer)
        self.sequencer.retention.history = settings.state_history  # sequencer/retention.py
        self.replication: Replication | None = None
        self.resumed_slots = self._recover()
        self.driver = SlotDriver(self.sequencer, settings.slot_time)
        self.filters = {r.chain_id: FilterHub() for r in self.rollups}
        self.services = Services(
            sequencer=self.sequencer,
            driver=self.driver,
            accounts=accounts,
            filters=self.filters,
            client_version=settings.client_version,
            limits=CallLimits(settings.rpc_gas_cap, settings.rpc_evm_timeout),
            replica=self.replication,
        )
        self.encryption = Encryption(
            settings, self.sequencer, self.keys.sequencer, self.services, self.driver
        )
        wire_events(self.sequencer, self.filters, self.services)
        self.services.metrics = Metrics()
        self.services.metrics.watch(self.services)
        self.app = build_app(self.services, settings.max_body_bytes, not settings.no_cheats)
        self._server: uvicorn.Server | None = None
        self._serve_task: asyncio.Task[Any] | None = None
        self.endpoints: Endpoints | None = None
        self.anvil: Anvil | None = None
        self.poster: Poster | None = None
        self.watcher: DepositWatcher | None = None
        self.l1_url: str | None = None
        self.l1_chain_id: int | None = None

    def _recover(self) -> int:
        """Replay the log (if any) and from then on journal every decision to it."""
        fingerprint = json.dumps({str(r.chain_id): r.blocks[0].hash.hex() for r in self.rollups})
        contents = self.log.load(sealed_only=self.settings.replicated)
        known = contents.meta.get("genesis")
        if known is not None and known != fingerprint:
            raise XseqError(
                f"the log at {self.settings.db_url} belongs to other rollups/genesis; "
                "use another --data-dir or --db"
            )
        resumed = restore(self.sequencer, contents)
        if known is None:
            self.log.set_meta("genesis", fingerprint)
        self.sequencer.journal = LogJournal(self.log, self.settings.snapshot_every)
        if self.settings.replicated:  # a follower until it takes the lease (start)
            replica_id = self.settings.replica_id or default_replica_id(self.settings.port)
            lease = Lease(self.log.engine, replica_id, "", self.settings.lease_ttl)
            self.replication = Replication(
                self.sequencer, self.log, lease, self.settings.snapshot_every
            )
            self.replication.on_lead.append(self._lead)
        return resumed

    @property
    def keypers(self) -> KeyperSet | None:
        return self.encryption.keypers

    @property
    def decryptor(self) -> Decryptor | None:
        return self.encryption.decryptor

    def _keys(self) -> DevnetKeys:
        """Replicas share one sequencer and verifier key: supplied, else kept in the log."""
        s = self.settings
        if not s.replicated or (s.sequencer_key and s.verifier_key):
            return devnet_keys(s)
        sequencer, verifier = shared_keys(self.log.engine, new_key)
        return DevnetKeys(sequencer, verifier)

    async def _lead(self) -> None:
        """This replica took the lease: post to L1 and seal slots from now on."""
        if self.poster is not None:
            self.poster.active = True
        self.driver.start()
        self.encryption.start()
        if self.watcher is not None:
            self.watcher.start()

    async def start(self) -> Endpoints:
        """Bind the port (0 = any free port), start the L1 side, then serve and start
        slot timers: the port answers only once everything is up."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted sockets inherit this: without it, the response body waits for the
        # client's delayed ACK of the headers (~40 ms per request).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((self.settings.host, self.settings.port))
        host, port = sock.getsockname()[:2]
        self.endpoints = Endpoints(host, port)
        self.services.base_url = self.endpoints.base_url
        self.encryption.spawn()  # the keypers start while the L1 does
        if self.replication is not None:
            if self.settings.l1_rpc == "":
                sock.close()
                raise XseqError(
                    "replicas settle on one shared L1: pass --l1-rpc URL (or --l1-rpc none)"
                )
            self.replication.lease.url = self.settings.replica_url or self.endpoints.base_url
            self.replication.elect()
        if self.settings.l1_rpc != "none":  # ready means ready: L1 first, then the port
            try:
                await self._start_l1()
            except BaseException:
                sock.close()
                await self.stop()  # never leave an anvil child behind
                raise
        try:
            await self.encryption.connect()
        except BaseException:
            sock.close()
            await self.stop()  # never leave an anvil child behind
            raise
        if self.replication is None or self.replication.is_leader:
            self.driver.seal_shown_order()  # before anything is served
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            # larger messages than the setting get a JSON-RPC error, far larger ones a close
            ws_max_size=max(16 * 1024 * 1024, 2 * self.settings.max_body_bytes),
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        # Calls run on worker threads (rpc/envelope.py OffLoop); when one holds the GIL, the
        # loop thread waits up to the switch interval for each turn (5 ms by default, several
        # turns per request). 1 ms keeps other requests' latency low while a call runs.
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))
        self._server.install_signal_handlers = lambda: None  # type: ignore[attr-defined]
        self._serve_task = asyncio.get_running_loop().create_task(
            self._server.serve(sockets=[sock])
        )
        while not self._server.started:
            if self._serve_task.done():
                self._serve_task.result()
            await asyncio.sleep(0.01)
        if self.replication is None or self.replication.is_leader:
            self.driver.start()
            self.encryption.start()
            if self.watcher is not None:
                self.watcher.start()
        if self.replication is not None:
            self.replication.start()
        if self.settings.data_dir is not None:
            write_endpoints_file(self)
        return self.endpoints

    async def _start_l1(self) -> None:
        """Start (or attach to) the L1, find or deploy Settlement, start the poster."""
        url = self.settings.l1_rpc
        if not url:
            state = None
            if self.settings.data_dir is not None:
                state = self.settings.data_dir.resolve() / "l1-state.json"
            self.anvil = Anvil(
                self.settings.l1_port,
                900,
                state,
                block_time=self.settings.l1_block_time,
                binary=self.settings.anvil,
            )
            url = await asyncio.to_thread(self.anvil.start)
        self.l1_url = url
        client = L1Client(url)
        self.l1_chain_id = await asyncio.to_thread(client.chain_id)
        known = await self._known_settlement()
        window = self.settings.challenge_window
        address = await asyncio.to_thread(
            settlement_for, client, self.keys, known, window, self._genesis_commitment()
        )
        if address != known:
            self.log.set_meta("l1", json.dumps({"url": url, "settlement": address}))
        domain = ReceiptDomain(self.l1_chain_id, bytes.fromhex(address[2:]))
        self.sequencer.book.bind(domain)
        self.poster = Poster.for_key(
            self.sequencer, client, self.keys.sequencer, address, self.settings.challenge_window
        )
        self.poster.fault = self.settings.fault
        poster = self.poster  # a challenge rolls back to the last posted slot: keep its state
        self.sequencer.retention.floors.append(lambda: poster.safe_slot)
        self.poster.active = self.replication is None or self.replication.is_leader
        # L1 XRT for the dev accounts (the first 100: a 100k-account devnet stays quick)
        holders = [str(to_checksum_address(a)) for a, _ in zip(self.services.accounts, range(100))]
        if self.replication is None or self.replication.is_leader:
            backing = genesis_backing([r.spec for r in self.rollups])  # funds the Portal
            portal = await asyncio.to_thread(
                portal_for,
                client,
                self.poster.key,
                address,
                holders,
                self.settings.deposit_window,
                backing,
            )
        else:  # a follower never deploys: the leader's Portal
            portal = await _leaders("Portal", lambda: find_portal(client, address))
        self.poster.portal = portal
        self.poster.portal_token = await asyncio.to_thread(portal_token, client, portal)
        self.watcher = DepositWatcher(
            L1Client(url),
            portal,
            self._include_deposits,
            lambda chain_id: applied_deposits(self.sequencer, chain_id),
            self.settings.l1_confirmations,
            censor=self.settings.fault == "censor-deposits",
        )
        self.sequencer.rewind_guard = self.poster.guard_rewind
        await self.poster.start()
        self.services.l1 = self.poster

    def _include_deposits(self, deposits: list[Any]) -> int:
        """Order L1 deposits (the watcher, on the loop thread) and seal like a submission;
        none while reveals are being released (sequencer/gate.py): the next poll does."""
        gate = self.services.order_gate
        if gate is not None and gate.closed:
            return 0
        done = include_deposits(self.sequencer, deposits)
        # one that did not fit (a full block) waits for the next slot: seal this one
        if done or self.sequencer.open_slot_needs_seal:
            self.driver.submitted()
            self.driver.flush()
        return done

    async def _known_settlement(self) -> str | None:
        """The Settlement this log settles on; a follower waits for its leader to deploy
        it (a follower never deploys)."""

        def known() -> str | None:
            meta = self.log.load(after=self.sequencer.head_slot, sealed_only=True).meta
            address: str | None = json.loads(meta.get("l1", "{}")).get("settlement")
            return address

        if self.replication is None or self.replication.is_leader:
            return known()
        return await _leaders("Settlement", known)

    def _genesis_commitment(self) -> GenesisCommitment:
        ids = sorted(r.chain_id for r in self.rollups)
        by_id = {r.chain_id: r for r in self.rollups}
        genesis = genesis_commitment(ids, [by_id[c].blocks[0].hash for c in ids])
        return GenesisCommitment(ids, genesis, self.genesis_description)

    async def stop(self) -> None:
        self.services.limits.abort_all()  # running calls end now, not at their deadline
        if self.replication is not None:
            await self.replication.stop()  # a leader lets the lease go: a quick takeover
        if self.watcher is not None:
            await self.watcher.stop()
        if self.poster is not None:
            await self.poster.stop()
        if self.anvil is not None:
            await asyncio.to_thread(self.anvil.stop)
        await self.driver.stop()
        await self.encryption.stop()
        if self._server is not None:
            self._server.should_exit = True
        if self._serve_task is not None:
            await self._serve_task
        self.log.close()


def wire_events(sequencer: Sequencer, filters: dict[int, FilterHub], services: Services) -> None:
    """Sequencer events to subscriptions and filters, and the slot line to the log."""

    def on_block(chain_id: int, record: Any) -> None:
        filters[chain_id].on_block(record)

    def on_pending(chain_id: int, tx_hash: bytes) -> None:
        rollup = sequencer.rollups[chain_id]

        def tx_json() -> Any:
            ob = rollup.open
            if ob is not None:
                for tx, sender in zip(ob.txs, ob.senders):
                    if bytes(tx.hash) == tx_hash:
                        return fmt.pending_tx_json(tx, sender)
            return fmt.h(tx_hash)

        filters[chain_id].on_pending(tx_hash, tx_json)

    def on_slot(slot: Any) -> None:
        if slots_log.isEnabledFor(logging.INFO):
            poster = services.l1
            slots_log.info(
                slot_line(slot, None if poster is None else poster.safe_slot),
                extra=slot_fields(slot),
            )

    sequencer.listeners.on_block.append(on_block)
    sequencer.listeners.on_pending.append(on_pending)
    sequencer.listeners.on_slot.append(on_slot)


def write_endpoints_file(node: Node) -> None:
    """``<data-dir>/endpoints.json``: where the devnet answers, and what `xseqd verify
    --data-dir` checks."""
    assert node.settings.data_dir is not None and node.endpoints is not None
    node.settings.data_dir.mkdir(parents=True, exist_ok=True)
    info: dict[str, Any] = {
        "rpc": node.endpoints.base_url,
        "rollups": {str(r.chain_id): node.endpoints.rollup_url(r.chain_id) for r in node.rollups},
        "accounts": [to_checksum_address(a) for a in node.services.accounts],
        "l1": None,  # no settlement; else what `xseqd verify --data-dir` checks
    }
    if node.poster is not None:
        info["l1"] = {
            "rpc": node.l1_url,
            "chainId": node.l1_chain_id,
            "settlement": node.poster.address,
            "portal": node.poster.portal,
        }
    (node.settings.data_dir / "endpoints.json").write_text(json.dumps(info, indent=2))


async def _leaders(what: str, find: Callable[[], str | None]) -> str:
    """What the leader deployed on L1 (``find`` on a worker thread): a follower waits."""
    waited = 0.0
    while (found := await asyncio.to_thread(find)) is None:
        if waited > 60:
            raise XseqError(f"no leader has deployed the {what} contract in 60s")
        await asyncio.sleep(0.2)
        waited += 0.2
    return found


class NodeThread:
    """Run a ``Node`` in a background thread (for tests and benchmarks)."""

    def __init__(self, settings: Settings) -> None:
        self.node = Node(settings)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.endpoints: Endpoints | None = None

    def start(self) -> Endpoints:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self.node.start(), self.loop)
        self.endpoints = future.result(timeout=30)
        return self.endpoints

    def call(self, fn: Any, *args: Any) -> Any:
        """Run ``fn(*args)`` on the node's loop thread and return its result."""

        async def run() -> Any:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout=60)

    def stop(self) -> None:
        future = asyncio.run_coroutine_threadsafe(self.node.stop(), self.loop)
        future.result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)

"""The node's encrypted-submission side, built and run in one place: the dealt keyset, the
keyper processes, the encrypted desk, the decryptor and the order gate (``--keypers N``).

``Node`` (node.py) creates one ``Encryption``, spawns the keypers while the L1 starts,
connects once they answer, starts the decryptor on the leader, and stops it all."""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from xseqd import cpus
from xseqd.config import Settings
from xseqd.keyper import KeyperSet, deal_files
from xseqd.sequencer.decryption import Decryptor
from xseqd.sequencer.driver import SlotDriver
from xseqd.sequencer.encrypted import EncryptedDesk
from xseqd.sequencer.frontrun import Frontrunner, own_transaction
from xseqd.sequencer.gate import OrderGate
from xseqd.sequencer.sequencer import Sequencer

log = logging.getLogger("xseqd")


class Encryption:
    """Deals (or reloads) the keyset and prepares the keyper processes and the decryptor;
    with ``--keypers 0`` (or on replicas) only the desk, which refuses encrypted items."""

    def __init__(
        self, s: Settings, sequencer: Sequencer, key: Any, services: Any, driver: SlotDriver
    ) -> None:
        self.sequencer = sequencer
        self.keypers: KeyperSet | None = None
        self.decryptor: Decryptor | None = None
        self._tmp: str | None = None
        self._cpus: tuple[int, set[int]] | None = None  # (the sequencer's, the keypers')
        keyset = None
        if s.keypers > 0 and s.replicated:
            log.warning(
                "encrypted submission is off on replicas (one keyset per devnet, not per replica)"
            )
        elif s.keypers > 0:
            if s.data_dir is not None:
                directory = s.data_dir / "keypers"
            else:
                self._tmp = tempfile.mkdtemp(prefix="xseqd-keypers-")
                directory = Path(self._tmp)
            keyset = deal_files(directory, s.keypers, s.keyper_threshold)
            self.keypers = KeyperSet(directory, keyset, sequencer.address, s.host)
            self.keypers.fsync = s.keyper_fsync
            self._cpus = None if s.no_cpu_pinning else cpus.split()
            if self._cpus is not None:
                self.keypers.cpus = self._cpus[1]
        if s.fault == "frontrun":
            sequencer.bundles.searcher = Frontrunner(sequencer.submit)
        desk = EncryptedDesk(sequencer, key, keyset)
        services.encrypted = desk
        if self.keypers is None:
            return

        def revealed() -> None:
            if services.bundle_waits is not None:  # answer xseq_waitBundle first
                services.bundle_waits.changed()
            driver.submitted()
            driver.flush()

        gate = OrderGate()
        services.order_gate = driver.gate = gate
        self.decryptor = Decryptor(desk, [], revealed, gate)
        services.decryptor = self.decryptor
        self._services = services
        if s.fault in ("withhold", "readvoid", "splitread", "crash-early-ask"):  # DEV ONLY
            self.decryptor.fault = s.fault
            self.decryptor.withhold = lambda: own_transaction(sequencer)

    def spawn(self) -> None:
        """Start the keyper processes (they start while the L1 does)."""
        if self.keypers is not None:
            self.keypers.spawn_all()

    async def connect(self) -> None:
        """Wait for every keyper to answer; the decryptor then wakes on every sealed block."""
        if self.keypers is None or self.decryptor is None:
            return
        await asyncio.to_thread(self.keypers.await_all)
        self.decryptor.urls = self._services.keyper_urls = self.keypers.urls
        decryptor = self.decryptor
        self.sequencer.listeners.on_block.append(lambda cid, record: decryptor.kick())
        self.sequencer.listeners.on_order.append(decryptor.order_final)

    def pin_event_loop(self) -> None:
        """While a decryption round is out with the keypers (the order gate closed), keep
        the calling thread (``xseqd devnet``'s event loop) on the CPU the keypers were kept
        off (xseqd/cpus.py); between rounds it runs anywhere. Nothing with
        ``--no-cpu-pinning``, without keypers or on one CPU. Only the CLI calls it: a node
        embedded in another program (the tests' threads) leaves its threads alone.
        ``asyncio.to_thread`` work runs on a pool whose threads start unpinned (as does
        rpc/envelope.py's), whenever they are started."""
        gate = self._services.order_gate if self.decryptor is not None else None
        if self._cpus is not None and gate is not None:
            loop = asyncio.get_running_loop()
            loop.set_default_executor(ThreadPoolExecutor(initializer=cpus.unpin_thread))
            mine = self._cpus[0]
            gate.on_close = lambda: cpus.pin_thread(mine)
            gate.on_open = cpus.unpin_thread

    def start(self) -> None:
        """Start revealing (the leader only)."""
        if self.decryptor is not None:
            self.decryptor.start()

    async def stop(self) -> None:
        if self.decryptor is not None:
            await self.decryptor.stop()
        if self.keypers is not None:
            await asyncio.to_thread(self.keypers.stop_all)
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)

"""When slots are sealed: the slot modes, and the only timers of the sequencer.

``instant`` seals as soon as the intake is idle: a submission schedules a seal on the next
turn of the event loop, so a lone user gets a receipt at once and requests that arrive
together share a slot. ``interval`` seals every ``slot_time`` seconds (empty slots too).
``manual`` seals only on ``evm_mine``. ``evm_setAutomine`` / ``evm_setIntervalMining``
switch between them at run time.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from typing import Any

from xseqd.sequencer.sequencer import Sequencer, Slot

log = logging.getLogger("xseqd.slots")


class SlotMode(enum.Enum):
    """How slots are sealed."""

    INSTANT = "instant"
    INTERVAL = "interval"
    MANUAL = "manual"


class SlotDriver:
    """Seals the sequencer's slots according to the current mode."""

    def __init__(self, sequencer: Sequencer, slot_time: float = 0.0) -> None:
        self.sequencer = sequencer
        self.slot_time = slot_time
        self.mode = SlotMode.INTERVAL if slot_time > 0 else SlotMode.INSTANT
        self._seal_scheduled = False
        self._flush_pending = False
        self._timer: asyncio.Task[None] | None = None
        self.gate: Any = None  # sequencer/gate.py OrderGate: no seal while reveals go out

    def start(self) -> None:
        if self.mode is SlotMode.INTERVAL:
            self._start_timer()
        self.seal_now_if_instant()  # a slot left open by a crash is sealed at once

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            try:
                await self._timer
            except asyncio.CancelledError:
                pass
            self._timer = None

    def submitted(self) -> None:
        """Called after anything changed the open slot. In instant mode the slot is sealed
        by ``flush``, which transports call once the answer has been written, so that the
        submitter's latency does not include sealing."""
        self._seal_scheduled = True

    def flush(self) -> None:
        """Seal the open slot if a submission is waiting for it (instant mode) — on the
        next turn of the event loop, so that requests already waiting share the slot."""
        if not self._seal_scheduled or self._flush_pending:
            return
        self._flush_pending = True
        asyncio.get_running_loop().call_soon(self._seal_if_pending)

    def _seal_if_pending(self) -> None:
        self._flush_pending = False
        if not self._seal_scheduled:
            return
        self._seal_scheduled = False
        if self.mode is SlotMode.INSTANT and self.sequencer.open_slot_needs_seal:
            self.seal()

    def seal(self, timestamp: int | None = None) -> Slot:
        slot = self.sequencer.seal_slot(timestamp)
        if self.mode is SlotMode.INSTANT:
            asyncio.get_running_loop().call_soon(self._prepare)
        return slot  # its log line: node.py (sequencer/slotline.py), for every sealed slot

    def _prepare(self) -> None:
        """Open the next slot ahead of time — unless a decryption round has just closed
        the order gate: it opens the slot itself once its keyper requests are out, so
        that the keypers' work and this overlap (sequencer/decryption.py)."""
        if self.gate is None or not self.gate.closed:
            self.sequencer.prepare_next_slot()

    def seal_now_if_instant(self) -> None:
        """Seal synchronously (used where a caller must observe the sealed block)."""
        if self.mode is SlotMode.INSTANT and self.sequencer.open_slot_needs_seal:
            self.seal()

    def set_automine(self, enabled: bool) -> None:
        self._cancel_timer()
        self.mode = SlotMode.INSTANT if enabled else SlotMode.MANUAL
        if enabled:
            self.seal_now_if_instant()

    def set_interval(self, seconds: float) -> None:
        self._cancel_timer()
        self.slot_time = seconds
        if seconds > 0:
            self.mode = SlotMode.INTERVAL
            self._start_timer()
        else:
            self.mode = SlotMode.MANUAL

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _start_timer(self) -> None:
        self._timer = asyncio.get_running_loop().create_task(self._interval_loop())

    async def _interval_loop(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time() + self.slot_time
        while True:
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            next_at += self.slot_time
            if self.gate is not None:
                await self.gate.wait()
            try:
                self.seal()
            except Exception:  # a failed seal must not stop the clock
                log.exception("sealing a slot failed")

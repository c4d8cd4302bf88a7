"""When slots are sealed: the slot modes, and the only timers of the sequencer.

``instant`` seals as soon as the intake is idle: a submission schedules a seal on the next
turn of the event loop, so a lone user gets a receipt at once and requests that arrive
together share a slot. ``interval`` seals every ``slot_time`` seconds (empty slots too).
``manual`` seals only on ``evm_mine``. ``evm_setAutomine`` / ``evm_setIntervalMining``
switch between them at run time.

Under load an instant slot grows with the backlog (docs/slots-and-rpc.md, "Instant slots
under load"), so that one seal (state roots, the next slot's blocks, the log row) serves
many items. While new requests keep starting, the seal waits a turn for them. With
submissions from more than one connection (in the open slot or the last one), it also
waits past an idle turn, until the first of: the next request on a connection whose
submission is in the open slot (sealed *before* that request is served, so a client always
reads what it sent); any request that reads chain state, on any connection
(``seal_before_read``, called by rpc/envelope.py: every reader sees every answered
submission; reads at ``pending`` and stateless methods excepted); a receipt looked up for
a transaction in the open slot; ``max_wait`` seconds. A lone submitter is sealed at the
first idle turn.

After an instant seal, the next slot is opened ahead of time (``prepare_next_slot``), but
only once the requests already received are answered (``_after_requests``): the receipt
request of a client that waited for its slot is typically in the socket while the slot is
sealed, and it is served first, so that opening the next slot's blocks overlaps the
client's turn instead of delaying its answer. A submission that arrives before that opens
the slot itself, as it always could.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable, Hashable
from contextvars import ContextVar
from typing import Any

from xseqd.core.items import ItemKind
from xseqd.sequencer.sequencer import Sequencer, Slot

log = logging.getLogger("xseqd.slots")

MAX_WAIT = 0.02  # seconds an instant slot may stay open under load, at most
# loop turns without a new request after which the requests already received are served:
# a request read in turn t has its task started in turn t+1 (``request_started``)
QUIET_TURNS = 3
QUIET_MAX_TURNS = 12  # deferred work runs after this many turns whatever arrives
# per request (set by ``request_started``): whether the request submitted something
_SUBMITTED: ContextVar[list[bool] | None] = ContextVar("xseqd_submitted", default=None)


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
        self.max_wait = MAX_WAIT
        self._started = 0  # requests started so far (a new one = a backlog)
        self._seen = 0  # ``_started`` when the pending seal last looked
        self._turn: asyncio.Handle | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self._waiting: dict[Hashable, int] = {}  # connection -> open slot it submitted to
        self._submitters: set[Hashable] = set()  # connections that submitted to the open slot
        self._last_submitters = 0  # how many submitted to the last sealed slot
        self._deferred: list[Callable[[], None]] = []  # see ``_after_requests``
        self._quiet = (0, 0, 0)  # (requests started, quiet turns, turns) while deferring

    def seal_shown_order(self) -> None:
        """Seal at once, in every mode, an open slot left by a crash that holds encrypted
        commits (before anything is served): keypers may have been asked about its order
        already (the early ask, sequencer/collect.py), so nothing may join it."""
        book = self.sequencer.book
        if self.sequencer.has_open_slot and any(
            i.kind is ItemKind.ENCRYPTED for i in book.open_items
        ):
            self.sequencer.seal_slot()

    def start(self) -> None:
        if self.mode is SlotMode.INTERVAL:
            self._start_timer()
        self.seal_now_if_instant()  # a slot left open by a crash is sealed at once

    async def stop(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
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
        mark = _SUBMITTED.get()
        if mark is not None:
            mark[0] = True

    def request_started(self, connection: Hashable) -> list[bool]:
        """A request arrived on ``connection`` (transports call this before serving it).
        If that connection's submission is still in the open slot, the slot is sealed
        first: a client reads its own writes as if every submission were sealed at once.
        Returns the mark to hand back to ``request_done``."""
        self._started += 1
        if self._waiting.pop(connection, None) == self.sequencer.head_slot + 1:
            self.seal_now_if_instant()
        mark = [False]
        _SUBMITTED.set(mark)
        return mark

    def request_done(self, connection: Hashable, mark: list[bool]) -> None:
        """The answer to a request on ``connection`` has been written."""
        if mark[0] and self.sequencer.has_open_slot:
            self._waiting[connection] = self.sequencer.head_slot + 1
            self._submitters.add(connection)
        self.flush()

    def seal_for_read(self, chain_id: int, tx_hash: bytes) -> None:
        """Someone looks for the receipt of ``tx_hash``: if it is in the open slot, seal
        it now (instant mode), as if it had been sealed at once."""
        rollup = self.sequencer.rollups[chain_id]
        ob = rollup.open
        if tx_hash in rollup.txs or ob is None or not ob.txs:
            return
        if any(bytes(tx.hash) == tx_hash for tx in ob.txs):
            self.seal_now_if_instant()

    def seal_before_read(self) -> None:
        """A request that reads chain state is about to be served (any connection): an
        instant slot still open for its backlog is sealed first, so every reader sees
        every answered submission, as if it had been sealed at once (anvil's automine).
        Not while the order gate is closed: the open slot then holds only reveals."""
        if self.gate is not None and self.gate.closed:
            return
        self.seal_now_if_instant()

    @property
    def concurrent(self) -> bool:
        """Whether submissions come from more than one connection at a time (this slot's
        or the last one's): then an instant slot waits for its submitters to come back."""
        return max(len(self._submitters), self._last_submitters) >= 2

    def flush(self) -> None:
        """Seal the open slot if a submission is waiting for it (instant mode) — on the
        next turn of the event loop, so that requests already waiting share the slot,
        and later under load (see the module docstring)."""
        if not self._seal_scheduled or self._flush_pending:
            return
        self._flush_pending = True
        self._seen = self._started
        self._turn = asyncio.get_running_loop().call_soon(self._seal_if_pending)

    def _seal_if_pending(self) -> None:
        self._turn = None
        backlog = self._started != self._seen  # requests started since the last look
        if self._seal_scheduled and self.mode is SlotMode.INSTANT and (backlog or self.concurrent):
            loop = asyncio.get_running_loop()
            if self._deadline is None:
                self._deadline = loop.call_later(self.max_wait, self._seal_on_deadline)
            if backlog:  # look again after the next turn
                self._seen = self._started
                self._turn = loop.call_soon(self._seal_if_pending)
            return  # otherwise: a submitter back, a receipt read or the deadline seals
        self._seal_pending_now()

    def _seal_on_deadline(self) -> None:
        self._deadline = None
        self._seal_pending_now()

    def _seal_pending_now(self) -> None:
        scheduled = self._seal_scheduled
        self._stop_pending()
        if scheduled and self.mode is SlotMode.INSTANT and self.sequencer.open_slot_needs_seal:
            self.seal(announce=True)

    def _stop_pending(self) -> None:
        """No seal pending any more (the slot was sealed, or had nothing to seal)."""
        self._seal_scheduled = False
        self._flush_pending = False
        for handle in (self._turn, self._deadline):
            if handle is not None:
                handle.cancel()
        self._turn = self._deadline = None

    def seal(self, timestamp: int | None = None, announce: bool = False) -> Slot:
        """Seal the open slot. ``announce`` (the instant flush and the interval tick, each
        its own turn of the event loop: nothing is ordered or sealed after it in the same
        call) lets the decryption loop ask the keypers as soon as the order is final
        (``Sequencer.seal_slot``); never for seals in the middle of a request."""
        kept = (self._waiting, self._submitters, self._last_submitters, self._seal_scheduled)
        self._waiting, self._submitters = {}, set()
        self._last_submitters = len(kept[1])
        self._stop_pending()
        try:
            slot = self.sequencer.seal_slot(timestamp, announce)
        except Exception:  # refused (evm_mine(ts)): the slot stays open, and so does its wait
            self._waiting, self._submitters, self._last_submitters = kept[:3]
            if kept[3]:
                self._seal_scheduled = True
                self.flush()
            raise
        if self.mode is SlotMode.INSTANT:
            self._after_requests(self._prepare)
        return slot  # its log line: node.py (sequencer/slotline.py), for every sealed slot

    def _after_requests(self, work: Callable[[], None]) -> None:
        """Run ``work`` once the requests already received have been served: after
        ``QUIET_TURNS`` turns of the event loop in which no request started (a request's
        bytes read in one turn start its task in the next), at most ``QUIET_MAX_TURNS``
        turns from now. Nothing waits on a timer, and nothing spins for long."""
        if work in self._deferred:  # seals in a row: open the next slot once
            return
        self._deferred.append(work)
        if len(self._deferred) == 1:
            self._quiet = (self._started, 0, 0)
            asyncio.get_running_loop().call_soon(self._quiet_turn)

    def _quiet_turn(self) -> None:
        started, quiet, turns = self._quiet
        quiet = quiet + 1 if self._started == started else 0
        turns += 1
        if quiet < QUIET_TURNS and turns < QUIET_MAX_TURNS:
            self._quiet = (self._started, quiet, turns)
            asyncio.get_running_loop().call_soon(self._quiet_turn)
            return
        work, self._deferred = self._deferred, []
        for job in work:
            job()

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
                self.seal(announce=True)
            except Exception:  # a failed seal must not stop the clock
                log.exception("sealing a slot failed")

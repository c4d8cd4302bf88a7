"""The sequencer: one global order of submissions, and the open slot across every rollup.

Synchronous and single-threaded by design: every method runs to completion, so one
submission is ordered, checked and executed before the next is looked at. Executing an
item and opening/sealing a slot is core/transition.py's job (the same code the verifier
and restart run); this class decides *what* is ordered and *when*. Timers and "seal when
idle" live in ``driver.py``, admission checks in ``intake.py``, devnet time and
snapshots in ``devtime.py``, restart in ``recovery.py`` (through the public
``open_slot_at`` / ``replay_item`` / ``adopt_snapshot`` / ``restore_*`` methods).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from eth.abc import SignedTransactionAPI
from eth_keys import keys
from eth_typing import Address

from xseqd.chains.records import BlockRecord
from xseqd.chains.rollup import Rollup
from xseqd.chains.snapshot import export_rollups, import_rollups
from xseqd.core import checks, transition
from xseqd.core.atomic import BundleOutcome, Leg
from xseqd.core.checks import Admission
from xseqd.core.devchange import DevChange
from xseqd.core.items import Item, ItemKind
from xseqd.core.order import ReceiptDomain
from xseqd.core.transition import Slot
from xseqd.core.txpool import NonceQueue, Queued
from xseqd.errors import InvalidParams, TxRejected, XseqError
from xseqd.sequencer.devtime import DevControls, TimeControl
from xseqd.sequencer.intake import (
    BundleRejected,
    MessageFailed,
    admit,
    check_bundle_shape,
    fits,
)
from xseqd.sequencer.journal import Journal, NullJournal
from xseqd.sequencer.ordering import OrderBook

Clock = Callable[[], float]


@dataclass(frozen=True)
class Pending:
    """A future-nonce transaction waiting in the queue."""

    tx: SignedTransactionAPI
    sender: bytes


@dataclass
class Listeners:
    """Callbacks the RPC layer registers for new blocks and new pending transactions."""

    on_block: list[Callable[[int, BlockRecord], None]] = field(default_factory=list)
    on_pending: list[Callable[[int, bytes], None]] = field(default_factory=list)


class Sequencer:
    """Orders submissions for all rollups and seals slots."""

    def __init__(
        self,
        rollups: list[Rollup],
        key: bytes | None = None,
        domain: ReceiptDomain | None = None,
        clock: Clock = time.time,
    ) -> None:
        if len({r.head.number for r in rollups}) != 1:
            raise XseqError("rollups must start at the same height")
        self.rollups = {r.chain_id: r for r in rollups}
        self.clock = clock
        self.time = TimeControl()
        self.dev = DevControls(self)
        self.queues: dict[int, NonceQueue[Pending]] = {cid: NonceQueue() for cid in self.rollups}
        self.listeners = Listeners()
        self.slots: list[Slot] = []
        key = key or secrets.token_bytes(32)  # a fresh key unless one is supplied
        self.book = OrderBook(key, domain or ReceiptDomain(0))
        self.journal: Journal = NullJournal()
        self.address = keys.PrivateKey(key).public_key.to_checksum_address()
        # settlement refuses rewinds below what it has posted (set by the node)
        self.rewind_guard: Callable[[int], None] = lambda slot: None
        self._open_timestamp: int | None = None
        self._speculative = False

    # -- slots ------------------------------------------------------------------------

    @property
    def head_slot(self) -> int:
        return next(iter(self.rollups.values())).head.number

    @property
    def head_timestamp(self) -> int:
        return int(next(iter(self.rollups.values())).head.block.header.timestamp)

    @property
    def has_open_slot(self) -> bool:
        return self._open_timestamp is not None

    @property
    def open_slot_has_items(self) -> bool:
        return any(
            r.open is not None and (r.open.txs or r.open.dirty) for r in self.rollups.values()
        )

    def next_timestamp(self) -> int:
        """The timestamp the next slot gets: pinned, or wall clock + offset, > parent."""
        if self.time.next_timestamp is not None:
            return self.time.next_timestamp
        return max(int(self.clock()) + self.time.offset, self.head_timestamp + 1)

    def prepare_next_slot(self) -> None:
        """Open the next slot ahead of time, while idle after a seal, so that the first
        submission does not pay for it. It is reopened if its timestamp has gone stale."""
        if self._open_timestamp is None and not self.book.held:
            self.open_slot()
            self._speculative = True

    def open_slot(self) -> int:
        """Open the next slot on every rollup (idempotent); returns its timestamp."""
        if self._speculative and not self.open_slot_has_items:
            if self.next_timestamp() != self._open_timestamp:
                self._drop_open()
        self._speculative = False
        if self._open_timestamp is None:
            self._open_timestamp = self.next_timestamp()
            transition.open_slot(self.rollups, self._open_timestamp)
            self.book.begin_slot(self.head_slot + 1)
            for item in self.book.due(self.head_slot + 1):
                self._run_held(item)
        return self._open_timestamp

    def open_slot_at(self, timestamp: int) -> None:
        """Open the next slot with exactly this timestamp (restart, replicas)."""
        self.time.next_timestamp = timestamp
        self.open_slot()

    def _drop_open(self) -> None:
        for rollup in self.rollups.values():
            rollup.discard_open()
        self._open_timestamp = None
        self.book.end_slot()

    def seal_slot(self, timestamp: int | None = None) -> Slot:
        """Seal one block on every rollup (empty where nothing happened)."""
        if timestamp is not None:
            pinned = self.time.next_timestamp
            self.dev.set_next_timestamp(timestamp)
            if self._open_timestamp is not None:  # evm_mine(ts): re-run under the new time
                try:
                    self._retime_open(self._open_timestamp, timestamp)
                except InvalidParams:
                    self.time.next_timestamp = pinned
                    raise
                self.journal.retime(self.head_slot + 1, timestamp)
        ts = self.open_slot()
        blocks = transition.seal_slot(self.rollups)
        items, root = self.book.end_slot()
        self._open_timestamp = None
        self.time.next_timestamp = None
        slot = Slot(self.head_slot, ts, blocks, items, root, self.book.epoch)
        self.journal.sealed(slot.number, ts, root, slot.epoch)
        if self.journal.wants_snapshot(slot.number):
            self.journal.snapshot(slot.number, export_rollups(self.rollups))
        self.slots.append(slot)
        for cid, record in blocks.items():
            for callback in self.listeners.on_block:
                callback(cid, record)
        return slot

    def _retime_open(self, old: int, new: int) -> None:
        """Re-run the open slot's items under timestamp ``new`` through the transition, as
        restart and the verifier will. Refused (``InvalidParams``), leaving the slot as it
        was, if an item would no longer end as it was ordered: its receipt commits to that."""
        try:
            self._rerun_open(new)
        except transition.TransitionFault as exc:
            self._rerun_open(old)
            raise InvalidParams(f"cannot mine the open slot at {new}: {exc.reason}") from None
        self._open_timestamp = new

    def _rerun_open(self, timestamp: int) -> None:
        for rollup in self.rollups.values():
            rollup.discard_open()
        transition.open_slot(self.rollups, timestamp)
        for item in self.book.open_items:
            transition.reapply(self.rollups, item)

    # -- submissions ------------------------------------------------------------------

    def rollup(self, chain_id: int) -> Rollup:
        try:
            return self.rollups[chain_id]
        except KeyError:
            raise InvalidParams(f"unknown chain id {chain_id}") from None

    def knows(self, chain_id: int, tx_hash: bytes) -> bool:
        """Whether ``tx_hash`` is included, in the open block or queued on this rollup."""
        rollup = self.rollup(chain_id)
        if tx_hash in rollup.txs:
            return True
        if rollup.open is not None and any(bytes(t.hash) == tx_hash for t in rollup.open.txs):
            return True
        return self.queues[chain_id].contains(tx_hash)

    def submit(self, chain_id: int, tx: SignedTransactionAPI, sender: bytes | None = None) -> bytes:
        """Order and execute one transaction now (or queue it for a nonce gap).

        Returns the transaction hash; an identical resubmission returns the same hash
        and changes nothing. Raises ``TxRejected`` with geth's wording if invalid.
        """
        checks.refuse_system_account([(tx, sender)])
        tx_hash = bytes(tx.hash)
        if self.knows(chain_id, tx_hash):
            return tx_hash
        rollup = self.rollup(chain_id)
        sender = bytes(tx.sender) if sender is None else sender
        self.open_slot()
        admission = admit(rollup, tx, sender)
        if admission is Admission.NEXT_SLOT:
            if not self.open_slot_has_items:
                raise TxRejected("exceeds block gas limit")
            self.seal_slot()
            self.open_slot()
            admission = admit(rollup, tx, sender)
        if admission is Admission.QUEUE:
            fee_cap = int(getattr(tx, "max_fee_per_gas", None) or tx.gas_price)
            self.queues[chain_id].add(
                sender, int(tx.nonce), Queued(tx_hash, fee_cap, Pending(tx, sender))
            )
            self.journal.queued(chain_id, tx, sender)
        else:
            self._execute_single(chain_id, tx, sender)
            self._promote(chain_id, sender)
        for callback in self.listeners.on_pending:
            callback(chain_id, tx_hash)
        return tx_hash

    def _execute_single(self, chain_id: int, tx: SignedTransactionAPI, sender: bytes) -> None:
        """Run one plain transaction (and the actions it triggers), and order it. Raises
        ``TxRejected`` if invalid, ``MessageFailed`` if an action failed."""
        leg = Leg(chain_id, tx, bytes(tx.hash), None if sender == tx.sender else sender)
        item = Item(ItemKind.TRANSACTION, (leg,), status="included")
        outcome = transition.apply_item(self.rollups, item.kind, item.legs, b"")
        if outcome.abort is not None:
            if outcome.abort.kind == "message":
                raise MessageFailed(outcome.abort, chain_id)
            raise TxRejected(outcome.abort.reason)
        item.outcome = outcome
        self._ordered(item)

    def _ordered(self, item: Item) -> None:
        """Give ``item`` its place and receipt, and make it durable before anyone hears."""
        self.book.order(item)
        self.journal.item(item, self._open_timestamp)

    def submit_bundle(
        self,
        legs: list[Leg],
        min_slot: int | None = None,
        max_slot: int | None = None,
        replacement_uuid: str | None = None,
    ) -> Item:
        """Order a bundle: run it atomically now, or hold it until ``min_slot``.

        Raises ``BundleRejected`` for structural problems (nothing is ordered then);
        execution failures are an ordered, ``aborted`` item.
        """
        checks.refuse_system_account([(leg.tx, leg.sender) for leg in legs])
        check_bundle_shape(legs, self.rollups)
        held = {leg.tx_hash for item in self.book.held for leg in item.legs}
        for leg in legs:
            if self.knows(leg.chain_id, leg.tx_hash) or leg.tx_hash in held:
                raise BundleRejected(-38004, f"transaction {leg.tx_hash.hex()} is already known")
        next_slot = self.head_slot + 1
        if max_slot is not None and max_slot < next_slot:
            raise BundleRejected(-38005, f"maxSlot {max_slot} has passed (next slot {next_slot})")
        if min_slot is not None and max_slot is not None and min_slot > max_slot:
            raise BundleRejected(-38005, "minSlot is after maxSlot")
        item = Item(ItemKind.BUNDLE, tuple(legs), b"", "ordered", None, None, None, None,
                    min_slot, max_slot, replacement_uuid)  # fmt: skip
        existing = self.book.items.get(item.item_hash)
        if existing is not None and existing.status in ("included", "ordered"):
            raise BundleRejected(-38004, "bundle is already known")
        if min_slot is not None and min_slot > next_slot:
            self.book.hold(item)
            self.journal.item(item, None)
            return item
        self._run_bundle(item)
        return item

    def _run_held(self, item: Item) -> None:
        slot = self.head_slot + 1
        if item.max_slot is not None and item.max_slot < slot:
            item.status = "expired"
        elif any(self.knows(leg.chain_id, leg.tx_hash) for leg in item.legs):
            item.status = "aborted"
        else:
            return self._run_bundle(item)
        self.journal.item(item, None)

    def _run_bundle(self, item: Item) -> None:
        self.open_slot()
        if not fits(self.rollups, item.legs) and self.open_slot_has_items:
            self.seal_slot()
            self.open_slot()
        item.outcome = transition.apply_item(self.rollups, item.kind, item.legs, b"")
        item.status = "included" if item.outcome.included else "aborted"
        self._ordered(item)
        if item.outcome.included:
            for leg in item.legs:
                self._promote(leg.chain_id, bytes(leg.tx.sender))
                for callback in self.listeners.on_pending:
                    callback(leg.chain_id, leg.tx_hash)

    def simulate_bundle(self, legs: list[Leg]) -> BundleOutcome:
        """Run a bundle on the open slot's state and undo it (xseq_callBundle)."""
        check_bundle_shape(legs, self.rollups)
        was_open = self.has_open_slot
        self.open_slot()
        try:
            return transition.apply_item(self.rollups, ItemKind.BUNDLE, legs, b"", keep=False)
        finally:
            if not was_open and not self.open_slot_has_items:
                self._drop_open()

    def cancel_bundle(self, uuid: str) -> bool:
        cancelled = self.book.cancel(uuid)
        for item in cancelled:
            self.journal.item(item, None)
        return bool(cancelled)

    def _promote(self, chain_id: int, sender: bytes) -> None:
        """Execute queued transactions of ``sender`` whose nonce is now next."""
        rollup, queue = self.rollups[chain_id], self.queues[chain_id]
        while True:
            assert rollup.open is not None
            nonce = rollup.open.workspace.state.get_nonce(Address(sender))
            for stale in queue.drop_stale(sender, nonce):
                self.journal.dequeued(stale.tx_hash)
            ready = queue.pop_ready(sender, nonce)
            if ready is None:
                return
            self.journal.dequeued(ready.tx_hash)
            try:
                if admit(rollup, ready.payload.tx, sender) is Admission.NEXT_SLOT:
                    self.seal_slot()
                    self.open_slot()
                self._execute_single(chain_id, ready.payload.tx, sender)
            except TxRejected:
                return

    def apply_dev_change(self, change: DevChange) -> None:
        """Apply a devnet state change (anvil_setBalance, ...) to the open slot, as an item
        of the order (so that it is logged and replayed like a transaction)."""
        self.rollup(change.chain_id)
        self.open_slot()
        item = Item.devchange(change)
        transition.apply_item(self.rollups, item.kind, (), item.payload)
        self._ordered(item)

    # -- history: rewinds, and restoring from the log -------------------------------------

    def rewind_to(self, slot: int, invalidated: bool = False) -> None:
        """Make ``slot`` the head again on every rollup, forgetting every later slot and
        item (evm_revert; or an L1 challenge invalidated them: shared fate). Receipts
        given for the forgotten slots belong to the old epoch."""
        if not invalidated:
            self.rewind_guard(slot)
        for rollup in self.rollups.values():
            rollup.rewind(slot)
        for queue in self.queues.values():
            queue.clear()
        self._open_timestamp = None
        self._speculative = False
        self.book.forget_after(slot, invalidated)
        self.book.epoch += 1
        self.journal.rewound(slot, self.book.epoch)
        self.slots = [s for s in self.slots if s.number <= slot]
        self.dev.forget_after(slot)

    def replay_item(self, item: Item) -> None:
        """Re-execute a logged item in the open slot and put it back in its place."""
        outcome = transition.reapply(self.rollups, item)
        if item.outcome is None:
            item.outcome = outcome
        self.book.replay(item)

    def set_receipt_domain(self, domain: ReceiptDomain) -> None:
        """Receipts from now on are valid for this settlement deployment."""
        self.book.domain = domain

    @property
    def epoch(self) -> int:
        return self.book.epoch

    def set_epoch(self, epoch: int) -> None:
        """Receipts from now on are given in ``epoch`` (restart; L1 invalidations)."""
        self.book.epoch = epoch

    def load_snapshot(self, payload: bytes) -> None:
        """Replace every rollup's state by a snapshot's (taken between slots)."""
        import_rollups(self.rollups, payload)

    def adopt_slots(self, slots: list[Slot]) -> None:
        """Take sealed slots whose state is already loaded (from a snapshot)."""
        for slot in slots:
            for item in slot.items:
                self.book.remember(item)
        self.slots.extend(slots)

    def restore_held(self, item: Item) -> None:
        self.book.remember(item)
        if item.status == "ordered":
            self.book.held.append(item)

    def restore_queued(self, chain_id: int, tx: SignedTransactionAPI, sender: bytes) -> None:
        fee_cap = int(getattr(tx, "max_fee_per_gas", 0) or tx.gas_price)
        self.queues[chain_id].add(
            sender, int(tx.nonce), Queued(bytes(tx.hash), fee_cap, Pending(tx, sender))
        )

"""The sequencer: one global order of submissions, and the open slot across every rollup.

Synchronous and single-threaded by design: every method runs to completion, so one
submission is ordered, checked and executed before the next is looked at. Executing an
item and opening/sealing a slot is core/transition.py's job (the same code restart, the
verifier and the poster run); this class decides *what* is ordered and *when*. Around it:
``driver.py`` (slot modes, the only timers), ``intake.py`` (admission checks and
rejection errors), ``bundles.py`` (held and simulated bundles), ``pending.py``
(future-nonce queue), ``devtime.py`` (devnet time, snapshots, rewinds), ``ordering.py``
(the order book and receipts) and ``recovery.py`` (restart through ``open_slot_at``,
``seal_slot``, ``adopt_slots`` and the book's public methods).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from eth.abc import SignedTransactionAPI
from eth_keys import keys
from eth_typing import Address

from xseqd.chains.limits import CallLimits
from xseqd.chains.records import BlockRecord
from xseqd.chains.rollup import Rollup
from xseqd.core import checks, transition
from xseqd.core.atomic import BundleOutcome, Leg
from xseqd.core.checks import Admission
from xseqd.core.devchange import DevChange
from xseqd.core.items import Item, ItemKind
from xseqd.core.order import ReceiptDomain
from xseqd.core.transition import Slot
from xseqd.errors import InvalidParams, TxRejected, XseqError
from xseqd.sequencer.bundles import BundleDesk
from xseqd.sequencer.devtime import DevControls
from xseqd.sequencer.devtime_types import TimeControl
from xseqd.sequencer.intake import (
    MessageFailed,
    admit,
)
from xseqd.sequencer.journal import Journal, NullJournal
from xseqd.sequencer.ordering import OrderBook
from xseqd.sequencer.pending import PendingPool
from xseqd.sequencer.retention import Retention, checkpoint

Clock = Callable[[], float]


@dataclass
class Listeners:
    """Callbacks the RPC layer registers for new blocks, new pending transactions and
    sealed slots (the slot log line and metrics)."""

    on_block: list[Callable[[int, BlockRecord], None]] = field(default_factory=list)
    on_pending: list[Callable[[int, bytes], None]] = field(default_factory=list)
    on_slot: list[Callable[[Slot], None]] = field(default_factory=list)  # after its blocks
    on_rewind: list[Callable[[int], None]] = field(default_factory=list)  # head again: slot
    # a slot's order is final, its blocks not built yet: (slot, items, order root); only
    # for seals nothing else follows in the same call (seal_slot's ``announce``)
    on_order: list[Callable[[int, tuple[Item, ...], bytes], None]] = field(default_factory=list)


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
        self.bundles = BundleDesk(self)
        self.pending = PendingPool(list(self.rollups))
        self.listeners = Listeners()
        self.retention = Retention()
        self.listeners.on_rewind.append(self.retention.rewound)
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
        """Whether the open slot's blocks hold transactions or state changes."""
        return any(
            r.open is not None and (r.open.txs or r.open.dirty) for r in self.rollups.values()
        )

    @property
    def open_slot_needs_seal(self) -> bool:
        """Whether the open slot holds anything a seal must commit: transactions, state
        changes, or ordered items (an aborted bundle changes no block, but its receipt
        names this slot)."""
        return self.open_slot_has_items or bool(self.book.open_items)

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
                self.discard_open_slot()
        self._speculative = False
        if self._open_timestamp is None:
            self._open_timestamp = self.next_timestamp()
            transition.open_slot(self.rollups, self._open_timestamp)
            self.book.begin_slot(self.head_slot + 1)
            for item in self.book.due(self.head_slot + 1):
                self.bundles.run_held(item)
        return self._open_timestamp

    def open_slot_at(self, timestamp: int) -> None:
        """Open the next slot with exactly this timestamp (restart, replicas)."""
        self.time.next_timestamp = timestamp
        self.open_slot()

    def discard_open_slot(self) -> None:
        """Forget the open slot and everything applied to it."""
        for rollup in self.rollups.values():
            rollup.discard_open()
        self._open_timestamp = None
        self.book.end_slot()

    def seal_slot(self, timestamp: int | None = None, announce: bool = False) -> Slot:
        """Seal one block on every rollup (empty where nothing happened). ``announce``:
        nothing is ordered or sealed after this in the same call (the driver's own
        seals), so ``on_order`` listeners hear of the final order before the blocks."""
        if timestamp is not None:  # evm_mine(ts)
            self.dev.retime_open_slot(timestamp)
        ts = self.open_slot()
        for on_order in self.listeners.on_order if announce else ():
            on_order(self.head_slot + 1, tuple(self.book.open_items), self.book.chain)
        blocks = transition.seal_slot(self.rollups)
        items, root = self.book.end_slot()
        self._open_timestamp = None
        self.time.next_timestamp = None
        slot = Slot(self.head_slot, ts, blocks, items, root, self.book.epoch)
        self.journal.sealed(slot.number, ts, root, slot.epoch)
        self.slots.append(slot)
        checkpoint(self, slot.number)  # prune old states, snapshot (retention.py)
        for cid, record in blocks.items():
            for callback in self.listeners.on_block:
                callback(cid, record)
        for on_slot in self.listeners.on_slot:
            on_slot(slot)
        return slot

    @property
    def open_timestamp(self) -> int | None:
        return self._open_timestamp

    def reopened_at(self, timestamp: int) -> None:
        """The open slot was re-run under ``timestamp`` (evm_mine(ts), devtime.py); its
        items' outcomes are those of the re-run."""
        self._open_timestamp = timestamp
        self.journal.retime(self.head_slot + 1, timestamp, self.book.open_items)

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
        return self.pending.contains(chain_id, tx_hash)

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
            self.pending.add(chain_id, tx, sender)
            self.journal.queued(chain_id, tx, sender)
        else:
            self._execute_single(chain_id, tx, sender)
            self.promote(chain_id, sender)
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
        self.order(item)

    def order(self, item: Item) -> None:
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
        """Order a bundle now, or hold it until ``min_slot`` (see bundles.py)."""
        return self.bundles.submit(legs, min_slot, max_slot, replacement_uuid)

    def simulate_bundle(self, legs: list[Leg], limits: CallLimits | None = None) -> BundleOutcome:
        return self.bundles.simulate(legs, limits)

    def cancel_bundle(self, uuid: str) -> bool:
        return self.bundles.cancel(uuid)

    def promote(self, chain_id: int, sender: bytes) -> None:
        """Execute queued transactions of ``sender`` whose nonce is now next."""
        rollup = self.rollups[chain_id]
        while rollup.open is not None:
            nonce = rollup.open.workspace.state.get_nonce(Address(sender))
            ready = self.pending.next_ready(chain_id, sender, nonce, self.journal)
            if ready is None:
                return
            try:
                if admit(rollup, ready.tx, sender) is Admission.NEXT_SLOT:
                    self.seal_slot()
                    self.open_slot()
                self._execute_single(chain_id, ready.tx, sender)
            except (TxRejected, MessageFailed):  # dropped; the gap stays until resubmitted
                return

    def apply_dev_change(self, change: DevChange) -> None:
        """Apply a devnet state change (anvil_setBalance, ...) to the open slot, as an item
        of the order (so that it is logged and replayed like a transaction)."""
        self.rollup(change.chain_id)
        self.open_slot()
        item = Item.devchange(change)
        transition.apply_item(self.rollups, item.kind, (), item.payload)
        self.order(item)

    # -- history (rewinds are in devtime.py, restart in recovery.py) -----------------------

    def truncate(self, slot: int) -> None:
        """Forget sealed slots after ``slot`` (their blocks are rewound by the caller)."""
        self.slots = [s for s in self.slots if s.number <= slot]

    def adopt_slots(self, slots: list[Slot]) -> None:
        """Take sealed slots whose state is already loaded (from a snapshot)."""
        for slot in slots:
            for item in slot.items:
                self.book.remember(item)
        self.slots.extend(slots)

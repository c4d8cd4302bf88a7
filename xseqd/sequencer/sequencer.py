"""The sequencer: one global order of submissions, slots sealed across every rollup.

Synchronous and single-threaded by design: every method runs to completion, so one
submission is ordered, checked and executed before the next is looked at. Timers and
"seal when idle" live in ``sequencer/driver.py``; the RPC layer calls in here.

A slot opens when its first submission arrives (or when it is sealed empty), with one
timestamp for all rollups; sealing it seals exactly one block on every rollup, so block n
of every rollup belongs to slot n.
"""

from __future__ import annotations

import pickle
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from eth.abc import SignedTransactionAPI
from eth_hash.auto import keccak
from eth_keys import keys
from eth_typing import Address

from xseqd.chains.predeploys import MAILBOX
from xseqd.chains.records import BlockRecord
from xseqd.chains.rollup import Rollup
from xseqd.core import checks
from xseqd.core.atomic import Abort, BundleOutcome, Leg, execute_bundle
from xseqd.core.checks import AccountFacts, Admission, BlockFacts, TxFacts, check_admission
from xseqd.core.devchange import DevChange
from xseqd.core.messages import root_slot
from xseqd.core.order import item_hash
from xseqd.core.txpool import NonceQueue, Queued
from xseqd.errors import InvalidParams, TxRejected, XseqError
from xseqd.sequencer.journal import Journal, NullJournal
from xseqd.sequencer.ordering import Item, OrderBook

Clock = Callable[[], float]

# The devnet sequencer key signs order receipts (override with --sequencer-key).
DEFAULT_SEQUENCER_KEY = keccak(b"xseqd devnet sequencer key")
DEFAULT_DOMAIN_CHAIN_ID = 900  # the settlement L1's chain id


@dataclass(frozen=True)
class Slot:
    """A sealed slot: number, timestamp, the block it sealed on each rollup, its ordered
    items and the order root committing to them."""

    number: int
    timestamp: int
    blocks: dict[int, BlockRecord]
    items: tuple[Item, ...] = ()
    order_root: bytes = b""


@dataclass
class TimeControl:
    """Devnet time: an offset added to the wall clock, and a pinned next timestamp."""

    offset: int = 0
    next_timestamp: int | None = None


@dataclass(frozen=True)
class DevSnapshot:
    """What ``evm_snapshot`` saves: the head slot and the time settings."""

    slot: int
    time: TimeControl


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
        clock: Clock = time.time,
        key: bytes = DEFAULT_SEQUENCER_KEY,
        domain_chain_id: int = DEFAULT_DOMAIN_CHAIN_ID,
    ) -> None:
        heights = {r.head.number for r in rollups}
        if len(heights) != 1:
            raise XseqError(f"rollups must start at the same height, got {sorted(heights)}")
        self.rollups = {r.chain_id: r for r in rollups}
        self.clock = clock
        self.time = TimeControl()
        self.queues: dict[int, NonceQueue[Pending]] = {cid: NonceQueue() for cid in self.rollups}
        self.listeners = Listeners()
        self.slots: list[Slot] = []
        self._open_timestamp: int | None = None
        self._speculative = False
        self._snapshots: dict[int, DevSnapshot] = {}
        self._next_snapshot = 1
        self.book = OrderBook(key, domain_chain_id)
        self.journal: Journal = NullJournal()
        self.address = keys.PrivateKey(key).public_key.to_checksum_address()

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
        if (
            self._speculative
            and not self.open_slot_has_items
            and self.next_timestamp() != self._open_timestamp
        ):
            for rollup in self.rollups.values():
                rollup.discard_open()
            self._open_timestamp = None
            self.book.end_slot()
        self._speculative = False
        if self._open_timestamp is None:
            timestamp = self.next_timestamp()
            for rollup in self.rollups.values():
                rollup.ensure_open(timestamp)
            self._open_timestamp = timestamp
            self.book.begin_slot(self.head_slot + 1)
            for item in self.book.due(self.head_slot + 1):
                self._run_held(item)
        return self._open_timestamp

    def seal_slot(self, timestamp: int | None = None) -> Slot:
        """Seal one block on every rollup (empty where nothing happened)."""
        if timestamp is not None:
            self.set_next_timestamp(timestamp)
        if self._open_timestamp is not None and timestamp is not None:
            self._reopen_with(timestamp)
        ts = self.open_slot()
        blocks = {cid: r.seal() for cid, r in self.rollups.items()}
        items, root = self.book.end_slot()
        self._open_timestamp = None
        self.time.next_timestamp = None
        slot = Slot(self.head_slot, ts, blocks, items, root)
        self.journal.sealed(slot.number, ts, root)
        if self.journal.wants_snapshot(slot.number):
            self.journal.snapshot(slot.number, self.export_state())
        self.slots.append(slot)
        for cid, record in blocks.items():
            for callback in self.listeners.on_block:
                callback(cid, record)
        return slot

    def _reopen_with(self, timestamp: int) -> None:
        """Re-execute the open slot's transactions under a new timestamp (evm_mine(ts))."""
        for rollup in self.rollups.values():
            if rollup.open is not None:
                rollup.retime(timestamp)
        self._open_timestamp = timestamp
        self.journal.retime(self.head_slot + 1, timestamp)

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
        admission = self._admit(rollup, tx, sender)
        if admission is Admission.NEXT_SLOT:
            if not self.open_slot_has_items:
                raise TxRejected("exceeds block gas limit")
            self.seal_slot()
            admission = self._admit(rollup, tx, sender)
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
        """Run one plain transaction with the cross-rollup actions it triggers, and order it.

        A revert is included (status 0). Raises ``TxRejected`` if it is invalid and
        ``MessageFailed`` if an action it triggered failed (then nothing is included).
        """
        tx_hash = bytes(tx.hash)
        leg = Leg(chain_id, tx, tx_hash, None if sender == tx.sender else sender)
        outcome = execute_bundle(dict(self.rollups), [leg], abort_on_revert=False)
        if outcome.abort is not None:
            if outcome.abort.kind == "message":
                raise MessageFailed(outcome.abort, chain_id)
            raise TxRejected(outcome.abort.reason)
        item = Item(item_hash([tx_hash], bundle=False), False, (leg,), "included")
        item.outcome = outcome
        self._ordered(item)

    def _ordered(self, item: Item) -> None:
        """Give ``item`` its place and receipt, and make it durable before anyone hears."""
        self.book.order(item)
        self.journal.item(item, self._open_timestamp)

    # -- bundles ----------------------------------------------------------------------

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
        bundle_hash = item_hash([leg.tx_hash for leg in legs], bundle=True)
        existing = self.book.items.get(bundle_hash)
        if existing is not None and existing.status in ("included", "ordered"):
            raise BundleRejected(-38004, "bundle is already known")
        item = Item(
            bundle_hash,
            True,
            tuple(legs),
            min_slot=min_slot,
            max_slot=max_slot,
            replacement_uuid=replacement_uuid,
        )
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
            self.journal.item(item, None)
            return
        if any(self.knows(leg.chain_id, leg.tx_hash) for leg in item.legs):
            item.status = "aborted"
            self.journal.item(item, None)
            return
        self._run_bundle(item)

    def _run_bundle(self, item: Item) -> None:
        self.open_slot()
        if not self._fits(item.legs) and self.open_slot_has_items:
            self.seal_slot()
            self.open_slot()
        outcome = execute_bundle(dict(self.rollups), list(item.legs))
        item.outcome = outcome
        item.status = "included" if outcome.included else "aborted"
        self._ordered(item)
        if outcome.included:
            for leg in item.legs:
                self._promote(leg.chain_id, bytes(leg.tx.sender))
                for callback in self.listeners.on_pending:
                    callback(leg.chain_id, leg.tx_hash)

    def _fits(self, legs: tuple[Leg, ...]) -> bool:
        need: dict[int, int] = {}
        for leg in legs:
            need[leg.chain_id] = need.get(leg.chain_id, 0) + int(leg.tx.gas)
        for cid, gas in need.items():
            ob = self.rollups[cid].open
            if ob is not None and gas > ob.gas_left:
                return False
        return True

    def simulate_bundle(self, legs: list[Leg]) -> BundleOutcome:
        """Run a bundle on the open slot's state and undo it (xseq_callBundle)."""
        check_bundle_shape(legs, self.rollups)
        was_open = self.has_open_slot
        self.open_slot()
        try:
            return execute_bundle(dict(self.rollups), legs, keep=False)
        finally:
            if not was_open and not self.open_slot_has_items:
                for rollup in self.rollups.values():
                    rollup.discard_open()
                self._open_timestamp = None
                self.book.end_slot()

    def cancel_bundle(self, uuid: str) -> bool:
        cancelled = self.book.cancel(uuid)
        for item in cancelled:
            self.journal.item(item, None)
        return bool(cancelled)

    def _admit(self, rollup: Rollup, tx: SignedTransactionAPI, sender: bytes) -> Admission:
        self.open_slot()
        ob = rollup.open
        assert ob is not None
        state = ob.workspace.state
        base_fee = int(getattr(ob.header, "base_fee_per_gas", 0) or 0)
        facts = tx_facts(tx)
        account = AccountFacts(state.get_nonce(Address(sender)), state.get_balance(Address(sender)))
        block = BlockFacts(rollup.chain_id, base_fee, int(ob.header.gas_limit), ob.gas_left)
        return check_admission(facts, account, block)

    def _promote(self, chain_id: int, sender: bytes) -> None:
        """Execute queued transactions of ``sender`` whose nonce is now next."""
        rollup = self.rollups[chain_id]
        queue = self.queues[chain_id]
        while True:
            ob = rollup.open
            assert ob is not None
            nonce = ob.workspace.state.get_nonce(Address(sender))
            for stale in queue.drop_stale(sender, nonce):
                self.journal.dequeued(stale.tx_hash)
            item = queue.pop_ready(sender, nonce)
            if item is None:
                return
            self.journal.dequeued(item.tx_hash)
            try:
                if self._admit(rollup, item.payload.tx, sender) is Admission.NEXT_SLOT:
                    self.seal_slot()
                    self.open_slot()
                self._execute_single(chain_id, item.payload.tx, sender)
            except TxRejected:
                return

    def apply_dev_change(self, change: DevChange) -> None:
        """Apply a devnet state change (anvil_setBalance, ...) to the open slot, as an item
        of the order (so that it is logged and replayed like a transaction)."""
        rollup = self.rollup(change.chain_id)
        self.open_slot()
        rollup.apply_change(change.apply)
        self._ordered(Item(change.hash, False, (), "included", change=change))

    def mailbox_roots(
        self, blocks: dict[int, BlockRecord]
    ) -> dict[int, dict[int, tuple[bytes, bytes]]]:
        """Each rollup's mailbox roots toward/from every other rollup after ``blocks``."""
        out: dict[int, dict[int, tuple[bytes, bytes]]] = {}
        for cid, record in blocks.items():
            state = self.rollups[cid].state_at(record.block.header)
            out[cid] = {}
            for other in self.rollups:
                if other == cid:
                    continue
                outbox = state.get_storage(Address(MAILBOX), root_slot(0, other))
                inbox = state.get_storage(Address(MAILBOX), root_slot(1, other))
                out[cid][other] = (outbox.to_bytes(32, "big"), inbox.to_bytes(32, "big"))
        return out

    def export_state(self) -> bytes:
        """All rollups' state and block indexes, between slots (see recovery.py)."""
        data = {cid: r.export_state() for cid, r in self.rollups.items()}
        return zlib.compress(pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL), 1)

    def import_state(self, payload: bytes) -> None:
        data = pickle.loads(zlib.decompress(payload))  # our own log: trusted input
        for cid, rollup in self.rollups.items():
            rollup.import_state(data[cid])

    # -- devnet time and snapshots ------------------------------------------------------

    def set_next_timestamp(self, timestamp: int) -> None:
        if timestamp <= self.head_timestamp:
            raise InvalidParams(
                f"timestamp {timestamp} must be greater than the latest block's "
                f"({self.head_timestamp})"
            )
        self.time.next_timestamp = timestamp

    def increase_time(self, seconds: int) -> int:
        if seconds < 0:
            raise InvalidParams("time can only move forward")
        self.time.offset += seconds
        return self.time.offset

    def take_snapshot(self) -> int:
        snap_id = self._next_snapshot
        self._next_snapshot += 1
        self._snapshots[snap_id] = DevSnapshot(
            self.head_slot, TimeControl(self.time.offset, self.time.next_timestamp)
        )
        return snap_id

    def rewind_to(self, slot: int) -> None:
        """Make ``slot`` the head again on every rollup, forgetting every later slot and
        item (an L1 challenge invalidated them: shared fate)."""
        for rollup in self.rollups.values():
            rollup.rewind(slot)
        for queue in self.queues.values():
            queue.clear()
        self._open_timestamp = None
        self._speculative = False
        self.book.forget_after(slot)
        self.journal.rewound(slot)
        self.slots = [s for s in self.slots if s.number <= slot]
        self._snapshots = {k: v for k, v in self._snapshots.items() if v.slot <= slot}

    def revert_snapshot(self, snap_id: int) -> bool:
        """Return every rollup to the snapshot's head; later snapshots are dropped."""
        snap = self._snapshots.get(snap_id)
        if snap is None:
            return False
        for sid in [s for s in self._snapshots if s >= snap_id]:
            del self._snapshots[sid]
        for rollup in self.rollups.values():
            rollup.rewind(snap.slot)
        for queue in self.queues.values():
            queue.clear()
        self._open_timestamp = None
        self.book.forget_after(snap.slot)
        self.journal.rewound(snap.slot)
        self.slots = [s for s in self.slots if s.number <= snap.slot]
        self.time = TimeControl(snap.time.offset, snap.time.next_timestamp)
        return True


MAX_BUNDLE_LEGS = 16


class MessageFailed(XseqError):
    """Raised when a plain transaction's cross-rollup action failed: the transaction is
    not included anywhere. ``data`` names the action, its target and the revert data."""

    code = -38010

    def __init__(self, abort: Abort, chain_id: int) -> None:
        m = abort.message
        data: dict[str, object] = {"revert": "0x" + abort.data.hex()}
        if m is not None:
            data.update(
                messageId="0x" + m.id.hex(),
                source=m.source,
                destination=m.destination,
                target="0x" + m.target.hex(),
            )
        super().__init__(f"cross-rollup action failed: {abort.reason}", data)


class BundleRejected(XseqError):
    """Raised when a bundle is structurally unacceptable; nothing is ordered.

    Codes: -38001 empty or too large, -38002 duplicate transaction, -38003 unknown chain,
    -38004 already known, -38005 slot bounds. See docs/bundles.md.
    """

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def check_bundle_shape(legs: list[Leg], rollups: dict[int, Rollup]) -> None:
    if not legs:
        raise BundleRejected(-38001, "bundle is empty")
    if len(legs) > MAX_BUNDLE_LEGS:
        raise BundleRejected(-38001, f"bundle has {len(legs)} legs, at most {MAX_BUNDLE_LEGS}")
    seen: set[bytes] = set()
    for i, leg in enumerate(legs):
        if leg.chain_id not in rollups:
            raise BundleRejected(-38003, f"leg {i}: unknown chain id {leg.chain_id}")
        if leg.tx_hash in seen:
            raise BundleRejected(-38002, f"leg {i}: duplicate transaction {leg.tx_hash.hex()}")
        seen.add(leg.tx_hash)


def tx_facts(tx: SignedTransactionAPI) -> TxFacts:
    """The admission-relevant fields of a signed transaction."""
    typed = getattr(tx, "type_id", None) not in (None, 1)
    max_fee = int(tx.max_fee_per_gas) if typed else int(tx.gas_price)
    prio = int(tx.max_priority_fee_per_gas) if typed else int(tx.gas_price)
    blob_cost = 0
    hashes = tx.blob_versioned_hashes if tx.type_id == 3 else None
    if hashes:
        blob_cost = len(hashes) * 131072 * int(tx.max_fee_per_blob_gas)
    tx_chain = getattr(tx, "chain_id", None)
    return TxFacts(
        chain_id=int(tx_chain) if tx_chain is not None else None,
        nonce=int(tx.nonce),
        gas=int(tx.gas),
        value=int(tx.value),
        max_fee_per_gas=max_fee,
        max_priority_fee_per_gas=prio,
        intrinsic_gas=int(tx.intrinsic_gas),
        blob_cost=blob_cost,
    )

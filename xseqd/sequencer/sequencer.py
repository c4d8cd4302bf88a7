"""The sequencer: one global order of submissions, slots sealed across every rollup.

Synchronous and single-threaded by design: every method runs to completion, so one
submission is ordered, checked and executed before the next is looked at. Timers and
"seal when idle" live in ``sequencer/driver.py``; the RPC layer calls in here.

A slot opens when its first submission arrives (or when it is sealed empty), with one
timestamp for all rollups; sealing it seals exactly one block on every rollup, so block n
of every rollup belongs to slot n.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from eth.abc import SignedTransactionAPI, StateAPI
from eth_typing import Address

from xseqd.chains.records import BlockRecord
from xseqd.chains.rollup import Mark, Rollup
from xseqd.core.checks import AccountFacts, Admission, BlockFacts, TxFacts, check_admission
from xseqd.core.txpool import NonceQueue, Queued
from xseqd.errors import InvalidParams, TxRejected, XseqError

Clock = Callable[[], float]


@dataclass(frozen=True)
class Slot:
    """A sealed slot: its number, timestamp and the block it sealed on each rollup."""

    number: int
    timestamp: int
    blocks: dict[int, BlockRecord]


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

    def __init__(self, rollups: list[Rollup], clock: Clock = time.time) -> None:
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
        self._snapshots: dict[int, DevSnapshot] = {}
        self._next_snapshot = 1

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

    def open_slot(self) -> int:
        """Open the next slot on every rollup (idempotent); returns its timestamp."""
        if self._open_timestamp is None:
            timestamp = self.next_timestamp()
            for rollup in self.rollups.values():
                rollup.ensure_open(timestamp)
            self._open_timestamp = timestamp
        return self._open_timestamp

    def seal_slot(self, timestamp: int | None = None) -> Slot:
        """Seal one block on every rollup (empty where nothing happened)."""
        if timestamp is not None:
            self.set_next_timestamp(timestamp)
        if self._open_timestamp is not None and timestamp is not None:
            self._reopen_with(timestamp)
        ts = self.open_slot()
        blocks = {cid: r.seal() for cid, r in self.rollups.items()}
        self._open_timestamp = None
        self.time.next_timestamp = None
        slot = Slot(self.head_slot, ts, blocks)
        self.slots.append(slot)
        for cid, record in blocks.items():
            for callback in self.listeners.on_block:
                callback(cid, record)
        return slot

    def _reopen_with(self, timestamp: int) -> None:
        """Re-execute the open slot's transactions under a new timestamp (evm_mine(ts))."""
        for rollup in self.rollups.values():
            if rollup.open is not None:
                rollup.revert(Mark(len(rollup.open.ops), timestamp))
        self._open_timestamp = timestamp

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
        else:
            rollup.apply(tx, sender)
            self._promote(chain_id, sender)
        for callback in self.listeners.on_pending:
            callback(chain_id, tx_hash)
        return tx_hash

    def _admit(self, rollup: Rollup, tx: SignedTransactionAPI, sender: bytes) -> Admission:
        self.open_slot()
        ob = rollup.open
        assert ob is not None
        state = ob.workspace.state
        base_fee = int(getattr(ob.header, "base_fee_per_gas", 0) or 0)
        facts = tx_facts(tx, rollup.chain_id)
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
            queue.drop_stale(sender, nonce)
            item = queue.pop_ready(sender, nonce)
            if item is None:
                return
            try:
                if self._admit(rollup, item.payload.tx, sender) is Admission.NEXT_SLOT:
                    self.seal_slot()
                    self.open_slot()
                rollup.apply(item.payload.tx, sender)
            except TxRejected:
                return

    def apply_dev_change(self, chain_id: int, change: Callable[[StateAPI], None]) -> None:
        """Apply a devnet state change (anvil_setBalance, ...) to the open block."""
        rollup = self.rollup(chain_id)
        self.open_slot()
        rollup.apply_change(change)

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
        self.slots = [s for s in self.slots if s.number <= snap.slot]
        self.time = TimeControl(snap.time.offset, snap.time.next_timestamp)
        return True


def tx_facts(tx: SignedTransactionAPI, chain_id: int) -> TxFacts:
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

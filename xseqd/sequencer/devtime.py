"""Devnet time, snapshots and rewinds: ``evm_increaseTime``,
``evm_setNextBlockTimestamp``, ``evm_snapshot`` / ``evm_revert``, and the shared-fate
rollback after an L1 challenge.

``TimeControl`` is the sequencer's notion of devnet time (an offset added to the wall
clock, and a pinned next timestamp). ``DevControls`` keeps the snapshots and rewinds the
sequencer through its public methods. A rewind opens a new receipt epoch (receipts given
for the forgotten slots prove nothing about what replaces them), and one that would drop
a slot already committed on L1 is refused (``Sequencer.rewind_guard``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from xseqd.core import transition
from xseqd.errors import InvalidParams
from xseqd.sequencer.devtime_types import TimeControl
from xseqd.sequencer.view import SequencerView


@dataclass(frozen=True)
class DevSnapshot:
    """What ``evm_snapshot`` saves: the head slot and the time settings."""

    slot: int
    time: TimeControl


# Latest timestamp a block may be given, and most seconds time may be moved forward: far
# past any real clock, with room below 2**63 - 1, the largest integer the sequencer log
# stores (a larger one failed every later write to the log).
MAX_TIMESTAMP = 1 << 62


class DevControls:
    """Time travel and snapshots over one sequencer."""

    def __init__(self, seq: SequencerView) -> None:
        self.seq = seq
        self._snapshots: dict[int, DevSnapshot] = {}
        self._next_id = 1

    def set_next_timestamp(self, timestamp: int) -> None:
        head = self.seq.head_timestamp
        if timestamp > MAX_TIMESTAMP:
            raise InvalidParams(
                f"timestamp {timestamp} is past the latest allowed ({MAX_TIMESTAMP})"
            )
        if timestamp <= head:
            raise InvalidParams(
                f"timestamp {timestamp} must be greater than the latest block's ({head})"
            )
        self.seq.time.next_timestamp = timestamp

    def retime_open_slot(self, timestamp: int) -> None:
        """``evm_mine(ts)``: the next slot gets ``timestamp``, and an open slot's items are
        re-run under it. Their receipts are given: if one would not end as it was ordered
        (an included bundle whose leg reverts at that time), the slot keeps its time and
        ``InvalidParams`` is raised."""
        seq = self.seq
        pinned = seq.time.next_timestamp
        self.set_next_timestamp(timestamp)
        original = seq.open_timestamp
        if original is None:
            return
        try:
            transition.rerun_slot(seq.rollups, timestamp, seq.book.open_items)
        except transition.TransitionFault as exc:
            transition.rerun_slot(seq.rollups, original, seq.book.open_items)
            seq.time.next_timestamp = pinned
            raise InvalidParams(
                f"cannot seal slot {seq.head_slot + 1} at timestamp {timestamp}: "
                f"{exc.reason} (its receipt is given); mine without a timestamp, or set "
                "it with evm_setNextBlockTimestamp before sending"
            ) from None
        for item in seq.book.open_items:
            seq.book.remember(item)
        seq.reopened_at(timestamp)

    def increase_time(self, seconds: int) -> int:
        if seconds < 0:
            raise InvalidParams("time can only move forward")
        if self.seq.time.offset + seconds > MAX_TIMESTAMP:
            raise InvalidParams(f"time can move forward at most {MAX_TIMESTAMP} seconds")
        self.seq.time.offset += seconds
        return self.seq.time.offset

    def snapshot_slots(self) -> set[int]:
        """The slots ``evm_revert`` can return to (their state is kept, retention.py)."""
        return {snap.slot for snap in self._snapshots.values()}

    def take_snapshot(self) -> int:
        snap_id = self._next_id
        self._next_id += 1
        self._snapshots[snap_id] = DevSnapshot(self.seq.head_slot, replace(self.seq.time))
        return snap_id

    def revert_snapshot(self, snap_id: int) -> bool:
        """Return every rollup to the snapshot's head; later snapshots are dropped."""
        snap = self._snapshots.get(snap_id)
        if snap is None:
            return False
        self.rewind_to(snap.slot)  # raises if that would rewrite settled history
        for sid in [s for s in self._snapshots if s >= snap_id]:
            del self._snapshots[sid]
        self.seq.time = replace(snap.time)
        return True

    def rewind_to(self, slot: int, invalidated: bool = False) -> None:
        """Make ``slot`` the head again on every rollup, forgetting every later slot and
        item: evm_revert, or an L1 challenge invalidated them (``invalidated``: shared
        fate; the items stay findable as ``invalidated``). Opens a new receipt epoch."""
        seq = self.seq
        if not invalidated:
            seq.rewind_guard(slot)
        seq.discard_open_slot()
        for rollup in seq.rollups.values():
            rollup.rewind(slot)
        seq.pending.clear()
        seq.book.forget_after(slot, invalidated)
        seq.book.begin_epoch(seq.book.epoch + 1)
        seq.journal.rewound(slot, seq.book.epoch)
        seq.truncate(slot)
        for on_rewind in seq.listeners.on_rewind:
            on_rewind(slot)
        self._snapshots = {k: v for k, v in self._snapshots.items() if v.slot <= slot}

"""Devnet time and snapshots: ``evm_increaseTime``, ``evm_setNextBlockTimestamp``,
``evm_snapshot`` / ``evm_revert``.

``TimeControl`` is the sequencer's notion of devnet time (an offset added to the wall
clock, and a pinned next timestamp). ``DevControls`` keeps the snapshots and rewinds the
sequencer through its public ``rewind_to`` (which refuses to rewrite settled history).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from xseqd.errors import InvalidParams

if TYPE_CHECKING:
    from xseqd.sequencer.sequencer import Sequencer


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


class DevControls:
    """Time travel and snapshots over one sequencer."""

    def __init__(self, seq: Sequencer) -> None:
        self.seq = seq
        self._snapshots: dict[int, DevSnapshot] = {}
        self._next_id = 1

    def set_next_timestamp(self, timestamp: int) -> None:
        head = self.seq.head_timestamp
        if timestamp <= head:
            raise InvalidParams(
                f"timestamp {timestamp} must be greater than the latest block's ({head})"
            )
        self.seq.time.next_timestamp = timestamp

    def increase_time(self, seconds: int) -> int:
        if seconds < 0:
            raise InvalidParams("time can only move forward")
        self.seq.time.offset += seconds
        return self.seq.time.offset

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
        self.seq.rewind_to(snap.slot)  # raises if that would rewrite settled history
        for sid in [s for s in self._snapshots if s >= snap_id]:
            del self._snapshots[sid]
        self.seq.time = replace(snap.time)
        return True

    def forget_after(self, slot: int) -> None:
        """Drop snapshots of slots that no longer exist (after an L1 rollback)."""
        self._snapshots = {k: v for k, v in self._snapshots.items() if v.slot <= slot}

"""Devnet time as a value (shared by the sequencer and its dev controls)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TimeControl:
    """Devnet time: an offset added to the wall clock, and a pinned next timestamp."""

    offset: int = 0
    next_timestamp: int | None = None

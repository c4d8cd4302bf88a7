"""Progress lines for work long enough to look hung otherwise: restart replaying the log,
importing a big genesis chain (``chain.rlp``). Rate-limited, silent for short work."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class Progress:
    """Logs ``label done/total (pct, elapsed)`` at most every ``every`` seconds, and once at
    the end, for work long enough to look hung otherwise (restart replay, block import).
    Work that finishes within ``every`` seconds logs nothing."""

    def __init__(
        self,
        label: str,
        total: int,
        emit: Callable[[str], None] | None = None,
        every: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.total = total
        self.emit = emit or logging.getLogger("xseqd").info
        self.every = every
        self.clock = clock
        self._started = clock()
        self._last = self._started

    def __call__(self, done: int) -> None:
        now = self.clock()
        if now - self._last < self.every:
            return
        self._last = now
        pct = 100.0 * done / self.total if self.total else 100.0
        elapsed = now - self._started
        self.emit(f"{self.label} {done}/{self.total} ({pct:.0f}%, {elapsed:.1f}s)")

    def done(self) -> None:
        """The closing line, if any line was logged before (the work was long)."""
        if self._last != self._started:
            self._last = self._started - self.every  # force it
            self(self.total)

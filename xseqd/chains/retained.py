"""What a rollup still answers about a block whose state was pruned (chains/prune.py).

A pruned block keeps its header, transactions and receipts, but not its state: a read of
its state raises ``StateUnavailable`` (geth's "missing trie node"). A few storage slots are
kept for every block, because the commitments of old slots read them (the Mailbox's
message roots: withdrawal proofs, ``xseq_getSlot``, posting a backlog to the L1):
``KeptValues`` records each watched slot's value only where it changed, and
``PrunedState`` answers those and nothing else.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

from xseqd.errors import XseqError


class StateUnavailable(XseqError):
    """Raised for a read of a block's state that was pruned (``--state-history``)."""

    code = -32000

    def __init__(self, number: int, floor: int, history: int) -> None:
        super().__init__(
            f"missing trie node: historical state of block {number} is not available "
            f"(pruned; this node keeps the state of the latest {history} blocks, from block "
            f"{floor}; start xseqd with --state-history 0 to keep every state)"
        )


class KeptValues:
    """Values of watched storage slots at every block, stored only where they change."""

    def __init__(self) -> None:
        self.watched: tuple[tuple[bytes, int], ...] = ()
        # (address, slot) -> block numbers where the value changed, and the values
        self.changes: dict[tuple[bytes, int], tuple[list[int], list[int]]] = {}
        self.through = -1  # the highest block recorded

    def record(self, number: int, values: dict[tuple[bytes, int], int]) -> None:
        """The watched values at block ``number`` (blocks are recorded in order)."""
        for key, value in values.items():
            numbers, seen = self.changes.setdefault(key, ([], []))
            if not seen or seen[-1] != value:
                numbers.append(number)
                seen.append(value)
        self.through = max(self.through, number)

    def get(self, key: tuple[bytes, int], number: int) -> int | None:
        """The value at block ``number``; None when it was not recorded there."""
        if key not in self.watched or number > self.through:
            return None
        numbers, seen = self.changes.get(key, ([], []))
        i = bisect_right(numbers, number)
        return seen[i - 1] if i else 0

    def export(self) -> dict[str, Any]:
        return {"watched": self.watched, "changes": self.changes, "through": self.through}

    def load(self, data: dict[str, Any]) -> None:
        self.watched = tuple(data["watched"])
        self.changes = dict(data["changes"])
        self.through = int(data["through"])

    def truncate(self, number: int) -> None:
        """Forget what was recorded above block ``number`` (a rewind)."""
        for numbers, seen in self.changes.values():
            while numbers and numbers[-1] > number:
                numbers.pop()
                seen.pop()
        self.through = min(self.through, number)


class PrunedState:
    """Stands for the state of a pruned block: the kept storage values, an error for
    anything else."""

    def __init__(self, kept: KeptValues, error: StateUnavailable, number: int) -> None:
        self._kept, self._error, self._number = kept, error, number

    def get_storage(self, address: bytes, slot: int, from_journal: bool = True) -> int:
        value = self._kept.get((bytes(address), slot), self._number)
        if value is None:
            raise self._error
        return value

    def __getattr__(self, name: str) -> Any:
        raise self._error

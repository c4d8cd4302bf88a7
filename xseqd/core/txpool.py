"""Future-nonce queue: transactions that wait for a nonce gap to fill (pure logic).

forge and cast send up to 100 transactions from one sender at once, and they may arrive
out of order. A transaction whose nonce is ahead of the sender's next nonce waits here and
is promoted, in nonce order, as soon as the gap fills. A queued transaction is replaced
only by one paying at least 10% more, as in geth.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from xseqd.errors import ServerBusy, TxRejected

T = TypeVar("T")

MAX_QUEUED_PER_SENDER = 1024
PRICE_BUMP_PERCENT = 10


@dataclass(frozen=True)
class Queued(Generic[T]):
    """A queued transaction: its hash, fee cap (for replacement) and payload."""

    tx_hash: bytes
    fee_cap: int
    payload: T


@dataclass
class NonceQueue(Generic[T]):
    """Per-sender queues of future-nonce transactions for one rollup."""

    by_sender: dict[bytes, dict[int, Queued[T]]] = field(default_factory=dict)

    def add(self, sender: bytes, nonce: int, item: Queued[T]) -> None:
        """Queue ``item``; raises ``TxRejected`` for an underpriced replacement."""
        queue = self.by_sender.setdefault(sender, {})
        old = queue.get(nonce)
        if old is not None and old.tx_hash != item.tx_hash:
            if item.fee_cap * 100 < old.fee_cap * (100 + PRICE_BUMP_PERCENT):
                raise TxRejected("replacement transaction underpriced")
        if old is None and len(queue) >= MAX_QUEUED_PER_SENDER:
            raise ServerBusy("txpool is full")
        queue[nonce] = item

    def pop_ready(self, sender: bytes, next_nonce: int) -> Queued[T] | None:
        """Remove and return the queued transaction with exactly ``next_nonce``, if any."""
        queue = self.by_sender.get(sender)
        if not queue:
            return None
        item = queue.pop(next_nonce, None)
        if not queue:
            del self.by_sender[sender]
        return item

    def drop_stale(self, sender: bytes, next_nonce: int) -> list[Queued[T]]:
        """Remove transactions whose nonce is already used; returns them."""
        queue = self.by_sender.get(sender, {})
        stale = [n for n in queue if n < next_nonce]
        return [queue.pop(n) for n in stale]

    def contains(self, tx_hash: bytes) -> bool:
        return any(q.tx_hash == tx_hash for s in self.by_sender.values() for q in s.values())

    def all(self) -> list[Queued[T]]:
        return [q for s in self.by_sender.values() for q in s.values()]

    def clear(self) -> None:
        self.by_sender.clear()

"""Future-nonce transactions: per rollup and sender, queued until the gap fills, then
handed back in nonce order (geth's "queued" pool). Every change is journaled, so queued
transactions survive a restart.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth.abc import SignedTransactionAPI

from xseqd.core.txpool import NonceQueue, Queued
from xseqd.sequencer.journal import Journal


@dataclass(frozen=True)
class Pending:
    """A future-nonce transaction waiting in the queue."""

    tx: SignedTransactionAPI
    sender: bytes


class PendingPool:
    """One nonce queue per rollup."""

    def __init__(self, chain_ids: list[int]) -> None:
        self.queues: dict[int, NonceQueue[Pending]] = {cid: NonceQueue() for cid in chain_ids}

    def add(self, chain_id: int, tx: SignedTransactionAPI, sender: bytes) -> None:
        """Queue ``tx`` (also how restart puts logged queued transactions back)."""
        fee_cap = int(getattr(tx, "max_fee_per_gas", None) or tx.gas_price)
        self.queues[chain_id].add(
            sender, int(tx.nonce), Queued(bytes(tx.hash), fee_cap, Pending(tx, sender))
        )

    def contains(self, chain_id: int, tx_hash: bytes) -> bool:
        return self.queues[chain_id].contains(tx_hash)

    def all(self, chain_id: int) -> list[Queued[Pending]]:
        return self.queues[chain_id].all()

    def next_ready(
        self, chain_id: int, sender: bytes, next_nonce: int, journal: Journal
    ) -> Pending | None:
        """Drop ``sender``'s stale transactions and take the one whose nonce is due."""
        queue = self.queues[chain_id]
        for stale in queue.drop_stale(sender, next_nonce):
            journal.dequeued(stale.tx_hash)
        item = queue.pop_ready(sender, next_nonce)
        if item is None:
            return None
        journal.dequeued(item.tx_hash)
        return item.payload

    def clear(self) -> None:
        for queue in self.queues.values():
            queue.clear()

"""The sequencer's ``Journal`` written to the SQL log: each call commits before it returns
(an item is durable before its submitter hears of it), except a sealed slot's row, which
joins the next commit (see ``sealed``)."""

from __future__ import annotations

import asyncio

from eth.abc import SignedTransactionAPI

from xseqd.core.items import Item
from xseqd.storage.codec import item_row
from xseqd.storage.log import SequencerLog

SNAPSHOT_EVERY = 64  # slots between state snapshots (bounds the replay at restart)


class LogJournal:
    def __init__(self, log: SequencerLog, snapshot_every: int = SNAPSHOT_EVERY) -> None:
        self.log = log
        self.snapshot_every = snapshot_every

    def wants_snapshot(self, slot: int) -> bool:
        return self.snapshot_every > 0 and slot % self.snapshot_every == 0

    def snapshot(self, slot: int, payload: bytes) -> None:
        self.log.save_snapshot(slot, payload)

    def item(self, item: Item, slot_timestamp: int | None) -> None:
        self.log.save_item(item_row(item, slot_timestamp))

    def retime(self, slot: int, timestamp: int, items: list[Item]) -> None:
        self.log.retime_slot(slot, timestamp, [item_row(i, timestamp) for i in items])

    def sealed(self, number: int, timestamp: int, order_root: bytes, epoch: int) -> None:
        """Group commit: the slot's row goes in with the next item's commit, or at the
        next turn of the event loop, whichever is first (at once without a loop)."""
        self.log.seal_slot(number, timestamp, order_root, epoch, commit=False)
        try:
            asyncio.get_running_loop().call_soon(self.log.commit)
        except RuntimeError:
            self.log.commit()

    def queued(self, chain_id: int, tx: SignedTransactionAPI, sender: bytes) -> None:
        self.log.queue(chain_id, bytes(tx.hash), bytes(tx.encode()), sender)

    def dequeued(self, tx_hash: bytes) -> None:
        self.log.dequeue(tx_hash)

    def rewound(self, slot: int, epoch: int) -> None:
        self.log.rewind(slot, epoch)

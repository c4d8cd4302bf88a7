"""The sequencer's ``Journal`` written to the SQL log (each call commits)."""

from __future__ import annotations

from eth.abc import SignedTransactionAPI

from xseqd.core.items import Item
from xseqd.storage.codec import item_row
from xseqd.storage.log import SequencerLog

SNAPSHOT_EVERY = 256  # slots between state snapshots (bounds the replay at restart)


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
        self.log.seal_slot(number, timestamp, order_root, epoch)

    def queued(self, chain_id: int, tx: SignedTransactionAPI, sender: bytes) -> None:
        self.log.queue(chain_id, bytes(tx.hash), bytes(tx.encode()), sender)

    def dequeued(self, tx_hash: bytes) -> None:
        self.log.dequeue(tx_hash)

    def rewound(self, slot: int, epoch: int) -> None:
        self.log.rewind(slot, epoch)

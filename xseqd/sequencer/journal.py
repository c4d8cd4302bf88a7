"""What the sequencer tells durable storage, and when: before a submission is answered.

``Journal`` is the seam between the sequencer and storage; ``NullJournal`` keeps nothing
(ephemeral devnet), ``storage/journal.py`` writes to the SQL log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from eth.abc import SignedTransactionAPI

    from xseqd.core.items import Item


class Journal(Protocol):
    def item(self, item: Item, slot_timestamp: int | None) -> None: ...
    def retime(self, slot: int, timestamp: int, items: list[Item]) -> None: ...
    def sealed(self, number: int, timestamp: int, order_root: bytes, epoch: int) -> None: ...
    def queued(self, chain_id: int, tx: SignedTransactionAPI, sender: bytes) -> None: ...
    def dequeued(self, tx_hash: bytes) -> None: ...
    def rewound(self, slot: int, epoch: int) -> None: ...
    def wants_snapshot(self, slot: int) -> bool: ...
    def snapshot(self, slot: int, payload: bytes) -> None: ...


class NullJournal:
    """Keeps nothing."""

    def item(self, item: Item, slot_timestamp: int | None) -> None:
        pass

    def retime(self, slot: int, timestamp: int, items: list[Item]) -> None:
        pass

    def sealed(self, number: int, timestamp: int, order_root: bytes, epoch: int) -> None:
        pass

    def queued(self, chain_id: int, tx: SignedTransactionAPI, sender: bytes) -> None:
        pass

    def dequeued(self, tx_hash: bytes) -> None:
        pass

    def rewound(self, slot: int, epoch: int) -> None:
        pass

    def wants_snapshot(self, slot: int) -> bool:
        return False

    def snapshot(self, slot: int, payload: bytes) -> None:
        pass

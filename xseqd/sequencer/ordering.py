"""The order book: every accepted item, its place in its slot, and its signed receipt.

``OrderBook`` is the sequencer's memory of *what was ordered*: the open slot's items and
hash chain, all items by hash (and by transaction hash) for ``xseq_getBundle``, and the
bundles held back for a later slot (``minSlot``) that ``xseq_cancelBundle`` can remove.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xseqd.core.atomic import Delivery
from xseqd.core.items import Item
from xseqd.core.order import OrderReceipt, ReceiptDomain, chain_next, chain_start, sign_receipt
from xseqd.errors import XseqError


class OrderMismatch(XseqError):
    """Raised when a replayed item's place does not re-derive its stored receipt."""


@dataclass
class OrderBook:
    """Items of the open slot (with their hash chain), all items, and held bundles."""

    key: bytes
    domain: ReceiptDomain
    epoch: int = 0
    items: dict[bytes, Item] = field(default_factory=dict)
    by_tx: dict[bytes, bytes] = field(default_factory=dict)
    held: list[Item] = field(default_factory=list)
    open_items: list[Item] = field(default_factory=list)
    open_slot: int | None = None
    chain: bytes = b""
    messages: dict[bytes, tuple[Item, Delivery]] = field(default_factory=dict)

    def bind(self, domain: ReceiptDomain) -> None:
        """Receipts from now on are valid for this settlement deployment."""
        self.domain = domain

    def begin_epoch(self, epoch: int) -> None:
        """Receipts from now on are given in ``epoch`` (rollbacks, restart)."""
        self.epoch = epoch

    def restore_held(self, item: Item) -> None:
        """A logged bundle that was never placed: held again if it still waits."""
        self.remember(item)
        if item.status == "ordered":
            self.held.append(item)

    def begin_slot(self, slot: int) -> None:
        self.open_slot = slot
        self.open_items = []
        self.chain = chain_start(slot)

    def order(self, item: Item) -> OrderReceipt:
        """Give ``item`` the next position in the open slot and sign its receipt."""
        assert self.open_slot is not None, "no open slot"
        self.chain = chain_next(self.chain, item.entry.hash)
        index = len(self.open_items)
        receipt = sign_receipt(
            OrderReceipt(self.open_slot, index, item.item_hash, self.chain, self.epoch),
            self.key,
            self.domain,
        )
        item.slot, item.index, item.receipt = self.open_slot, index, receipt
        self.open_items.append(item)
        self.remember(item)
        return receipt

    def replay(self, item: Item) -> None:
        """Put a logged item back in its place, checking that its stored receipt's
        order chain and index re-derive (receipts are kept, never re-signed)."""
        assert self.open_slot is not None, "no open slot"
        self.chain = chain_next(self.chain, item.entry.hash)
        label = f"item 0x{item.item_hash.hex()}"
        if item.receipt is None or item.receipt.order_chain != self.chain:
            raise OrderMismatch(f"{label}: order chain does not re-derive")
        if item.index != len(self.open_items) or item.slot != self.open_slot:
            raise OrderMismatch(f"{label}: place does not re-derive")
        self.open_items.append(item)
        self.remember(item)

    def remember(self, item: Item) -> None:
        self.items[item.item_hash] = item
        for leg in item.legs:
            self.by_tx[leg.tx_hash] = item.item_hash
        if item.status == "included" and item.outcome is not None:
            for delivery in item.outcome.deliveries:
                self.messages[delivery.message.id] = (item, delivery)

    def end_slot(self) -> tuple[tuple[Item, ...], bytes]:
        """Close the open slot: its items and its order root."""
        items, root = tuple(self.open_items), self.chain
        self.open_items, self.open_slot = [], None
        return items, root

    def find(self, some_hash: bytes) -> Item | None:
        """An item by its item hash, or by the hash of one of its transactions."""
        item = self.items.get(some_hash)
        if item is None and some_hash in self.by_tx:
            item = self.items.get(self.by_tx[some_hash])
        return item

    def hold(self, item: Item) -> None:
        self.held.append(item)
        self.remember(item)

    def due(self, slot: int) -> list[Item]:
        """Remove and return the held bundles that may run in ``slot`` (in arrival order)."""
        ready = [i for i in self.held if (i.min_slot or 0) <= slot]
        self.held = [i for i in self.held if (i.min_slot or 0) > slot]
        return ready

    def cancel(self, uuid: str) -> list[Item]:
        """Remove held bundles with this replacement uuid; returns them."""
        cancelled = [i for i in self.held if i.replacement_uuid == uuid]
        self.held = [i for i in self.held if i.replacement_uuid != uuid]
        for item in cancelled:
            item.status = "cancelled"
        return cancelled

    def forget_after(self, slot: int, invalidated: bool = False) -> None:
        """Drop every item ordered in a slot after ``slot`` (evm_revert). With
        ``invalidated`` (an L1 challenge) they stay findable, with status
        ``invalidated``, until resubmitted."""
        for mid in [m for m, (i, _) in self.messages.items() if (i.slot or 0) > slot]:
            del self.messages[mid]
        for h in [h for h, i in self.items.items() if i.slot is not None and i.slot > slot]:
            if invalidated:
                self.items[h].status = "invalidated"
                continue
            item = self.items.pop(h)
            for leg in item.legs:
                if self.by_tx.get(leg.tx_hash) == h:
                    del self.by_tx[leg.tx_hash]
        self.open_items, self.open_slot = [], None

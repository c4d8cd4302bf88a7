"""The order book: every accepted item, its place in its slot, and its signed receipt.

``OrderBook`` is the sequencer's memory of *what was ordered*: the open slot's items and
hash chain, all items by hash (and by transaction hash) for ``xseq_getBundle``, and the
bundles held back for a later slot (``minSlot``) that ``xseq_cancelBundle`` can remove.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xseqd.core.atomic import BundleOutcome, Delivery, Leg
from xseqd.core.devchange import DevChange
from xseqd.core.order import OrderReceipt, chain_next, chain_start, sign_receipt


@dataclass
class Item:
    """One accepted submission: a bundle or a single transaction."""

    item_hash: bytes
    bundle: bool
    legs: tuple[Leg, ...]
    status: str = "ordered"  # ordered -> included | aborted ; ordered -> cancelled
    slot: int | None = None
    index: int | None = None
    receipt: OrderReceipt | None = None
    outcome: BundleOutcome | None = None
    min_slot: int | None = None
    max_slot: int | None = None
    replacement_uuid: str | None = None
    change: DevChange | None = None  # a devnet state change ordered as a system item

    @property
    def kind(self) -> str:
        if self.change is not None:
            return "devchange"
        return "bundle" if self.bundle else "transaction"


@dataclass
class OrderBook:
    """Items of the open slot (with their hash chain), all items, and held bundles."""

    key: bytes
    domain_chain_id: int
    items: dict[bytes, Item] = field(default_factory=dict)
    by_tx: dict[bytes, bytes] = field(default_factory=dict)
    held: list[Item] = field(default_factory=list)
    open_items: list[Item] = field(default_factory=list)
    open_slot: int | None = None
    chain: bytes = b""
    messages: dict[bytes, tuple[Item, Delivery]] = field(default_factory=dict)

    def begin_slot(self, slot: int) -> None:
        self.open_slot = slot
        self.open_items = []
        self.chain = chain_start(slot)

    def order(self, item: Item) -> OrderReceipt:
        """Give ``item`` the next position in the open slot and sign its receipt."""
        assert self.open_slot is not None, "no open slot"
        self.chain = chain_next(self.chain, item.item_hash)
        receipt = sign_receipt(
            OrderReceipt(self.open_slot, len(self.open_items), item.item_hash, self.chain),
            self.key,
            self.domain_chain_id,
        )
        item.slot, item.index, item.receipt = self.open_slot, len(self.open_items), receipt
        self.open_items.append(item)
        self.remember(item)
        return receipt

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

    def forget_after(self, slot: int) -> None:
        """Drop every item ordered in a slot after ``slot`` (evm_revert)."""
        for mid in [m for m, (i, _) in self.messages.items() if (i.slot or 0) > slot]:
            del self.messages[mid]
        for h in [h for h, i in self.items.items() if i.slot is not None and i.slot > slot]:
            item = self.items.pop(h)
            for leg in item.legs:
                if self.by_tx.get(leg.tx_hash) == h:
                    del self.by_tx[leg.tx_hash]
        self.open_items, self.open_slot = [], None

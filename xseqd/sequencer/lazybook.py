"""Items of the history a restart does not decode until something reads them.

Restart (recovery.py) loads the latest state snapshot and re-executes only the slots after
it; the items of the slots under the snapshot are not executed, only remembered: the order
book finds them by item hash, by transaction hash and by message id, and their slots list
them. Decoding each logged item (its canonical entry, its transactions, receipt and
outcome) is what made restart grow with history, so here an item under the snapshot stays
its log row (``Deferred``) until it is read, and the lookups come from the index every
snapshot carries (``book_index``: item hash, transaction hashes, message ids).

``ItemIndex`` and ``MessageIndex`` are the order book's ``items`` and ``messages`` dicts
with deferred entries, answering as the plain dicts they replace; ``DeferredItems`` is a
slot's item tuple.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

from xseqd.core.atomic import Delivery
from xseqd.core.items import Item
from xseqd.core.transition import Slot

# (item hash, slot, index, transaction hashes, ids of the messages it delivered)
IndexEntry = tuple[bytes, int, int, tuple[bytes, ...], tuple[bytes, ...]]


def book_index(slots: Sequence[Slot], after: int) -> list[IndexEntry]:
    """The index entries of the items of ``slots`` numbered above ``after``."""
    out: list[IndexEntry] = []
    for slot in slots:
        if slot.number <= after:
            continue
        for item in slot.items:
            messages: tuple[bytes, ...] = ()
            if item.status == "included" and item.outcome is not None:
                messages = tuple(d.message.id for d in item.outcome.deliveries)
            txs = tuple(leg.tx_hash for leg in item.legs)
            out.append((item.item_hash, slot.number, item.index or 0, txs, messages))
    return out


class Deferred:
    """A logged item, decoded (once) when first read."""

    __slots__ = ("_load", "_item", "status")

    def __init__(self, load: Callable[[], Item], status: str) -> None:
        self._load = load
        self._item: Item | None = None
        self.status = status  # as logged (a sealed slot's item keeps it)

    def get(self) -> Item:
        if self._item is None:
            self._item = self._load()
        return self._item


def items_with_status(items: dict[bytes, Item], status: str) -> list[Item]:
    """The items of ``items`` with ``status``, decoding only deferred ones that have it
    (a scan for the few open encrypted commits does not decode the history)."""
    out = []
    for value in dict.values(items):
        if isinstance(value, Deferred):
            if value.status != status:
                continue
            value = value.get()
        if value.status == status:
            out.append(value)
    return out


def _resolve(value: Item | Deferred) -> Item:
    return value.get() if isinstance(value, Deferred) else value


class ItemIndex(dict[bytes, Item]):
    """Item hash -> item, where an entry may be ``Deferred`` (decoded when read)."""

    def defer(self, item_hash: bytes, deferred: Deferred) -> None:
        dict.__setitem__(self, item_hash, deferred)  # type: ignore[assignment,misc]

    def __getitem__(self, key: bytes) -> Item:
        value = _resolve(dict.__getitem__(self, key))
        dict.__setitem__(self, key, value)
        return value

    def get(self, key: bytes, default: Any = None) -> Any:
        return self[key] if key in self else default

    def pop(self, key: bytes, *default: Any) -> Any:
        if key not in self:
            return dict.pop(self, key, *default)
        return _resolve(dict.pop(self, key))

    def values(self) -> list[Item]:  # type: ignore[override]
        return [self[k] for k in list(self)]

    def items(self) -> list[tuple[bytes, Item]]:  # type: ignore[override]
        return [(k, self[k]) for k in list(self)]


class MessageIndex(dict[bytes, tuple[Item, Delivery]]):
    """Message id -> (the item that delivered it, the delivery), where an entry may be
    the ``Deferred`` item (the delivery is looked up in its outcome when read)."""

    def defer(self, message_id: bytes, deferred: Deferred) -> None:
        dict.__setitem__(self, message_id, deferred)  # type: ignore[assignment,misc]

    def __getitem__(self, key: bytes) -> tuple[Item, Delivery]:
        value = dict.__getitem__(self, key)
        if isinstance(value, Deferred):
            item = value.get()
            assert item.outcome is not None
            delivery = next(d for d in item.outcome.deliveries if d.message.id == key)
            value = (item, delivery)
            dict.__setitem__(self, key, value)
        return value

    def get(self, key: bytes, default: Any = None) -> Any:
        return self[key] if key in self else default

    def values(self) -> list[tuple[Item, Delivery]]:  # type: ignore[override]
        return [self[k] for k in list(self)]

    def items(self) -> list[tuple[bytes, tuple[Item, Delivery]]]:  # type: ignore[override]
        return [(k, self[k]) for k in list(self)]


class DeferredItems(Sequence[Item]):
    """A slot's items, each decoded when read."""

    def __init__(self, deferred: list[Deferred]) -> None:
        self._deferred = deferred

    @overload
    def __getitem__(self, i: int) -> Item: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[Item, ...]: ...
    def __getitem__(self, i: int | slice) -> Item | tuple[Item, ...]:
        if isinstance(i, slice):
            return tuple(d.get() for d in self._deferred[i])
        return self._deferred[i].get()

    def __len__(self) -> int:
        return len(self._deferred)

    def __iter__(self) -> Iterator[Item]:
        return (d.get() for d in self._deferred)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and tuple(self) == tuple(other)

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __add__(self, other: tuple[Item, ...]) -> tuple[Item, ...]:
        return tuple(self) + tuple(other)

"""Deferred items (sequencer/lazybook.py): the order book's dicts answer as plain dicts,
decode an item once, when it is read, and a scan by status decodes only the items logged
with that status.

Must never happen: a lookup that answers another item than the plain dict would, or a
scan that decodes the whole history.
"""

from __future__ import annotations

from xseqd.core.items import Item, ItemKind
from xseqd.sequencer.lazybook import Deferred, DeferredItems, ItemIndex, items_with_status


def change(n: int, status: str) -> Item:
    item = Item(ItemKind.DEVCHANGE, (), n.to_bytes(4, "big"), status)
    item.slot, item.index = n, 0
    return item


def test_deferred_items_decode_once_when_read_and_scans_by_status_skip_the_rest() -> None:
    decoded: list[int] = []

    def load(n: int, status: str) -> Deferred:
        def run() -> Item:
            decoded.append(n)
            return change(n, status)

        return Deferred(run, status)

    index = ItemIndex()
    deferred = {n: load(n, "sealed" if n == 3 else "included") for n in range(6)}
    hashes = {n: change(n, "x").item_hash for n in deferred}
    for n, d in deferred.items():
        index.defer(hashes[n], d)
    assert len(index) == 6 and hashes[4] in index and decoded == []
    assert [i.slot for i in items_with_status(index, "sealed")] == [3]
    assert decoded == [3]
    first = index[hashes[1]]
    assert index.get(hashes[1]) is first and decoded == [3, 1]  # decoded once
    assert index.get(b"\x00" * 32) is None
    slot_items = DeferredItems([deferred[1], deferred[2]])
    assert slot_items[0] is first and len(slot_items) == 2 and decoded == [3, 1]
    assert [i.slot for i in slot_items] == [1, 2] and decoded == [3, 1, 2]
    assert sorted(i.slot or 0 for i in index.values()) == list(range(6))
    assert index.pop(hashes[5]).slot == 5 and hashes[5] not in index

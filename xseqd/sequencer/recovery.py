"""Restart: rebuild the sequencer from its log by re-executing it.

Rollup state is a pure function of genesis + log, so recovery replays every slot in
order through the sequencer's public restore methods (which run core/transition.py, the
same code as live execution and the verifier): open with the logged timestamp, re-apply
the items (an included item must apply again, an aborted one must abort again), seal the
slots that were sealed, and leave the last one open if it was. Stored receipts are kept,
not re-signed; each item's place is checked against its receipt's order chain, and each
sealed slot's order root against the logged one, so a log that does not re-derive is
refused. Every ``--snapshot-every`` slots the log holds a state snapshot; restart loads
the latest one and re-executes only the slots after it.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from functools import partial
from typing import Any

from xseqd.chains.blockindex import SlotBlocks
from xseqd.chains.snapshot import import_rollups
from xseqd.core.items import Item
from xseqd.core.transition import Slot, TransitionFault, decoder, reapply
from xseqd.errors import XseqError
from xseqd.progress import Progress
from xseqd.sequencer.journal import NullJournal
from xseqd.sequencer.lazybook import Deferred, DeferredItems, ItemIndex, MessageIndex
from xseqd.sequencer.ordering import OrderMismatch
from xseqd.sequencer.sequencer import Sequencer
from xseqd.storage.codec import item_from_row
from xseqd.storage.log import ItemRow, LogContents


class RecoveryError(XseqError):
    """Raised when the log does not re-derive (corrupted, or another genesis)."""


def restore(seq: Sequencer, contents: LogContents) -> int:
    """Restore ``contents`` into a fresh ``seq``; returns the number of slots restored."""
    journal, seq.journal = seq.journal, NullJournal()
    collecting = gc.isenabled()
    gc.disable()  # restore makes many long-lived objects: no collections while it does
    try:
        return _restore(seq, contents)
    except (TransitionFault, OrderMismatch) as exc:
        raise RecoveryError(f"the sequencer log does not re-derive: {exc}") from exc
    finally:
        seq.journal = journal
        if collecting:
            gc.enable()


def _restore(seq: Sequencer, contents: LogContents) -> int:
    decode = decoder(seq.rollups)
    sealed = {n: (ts, root, epoch) for n, ts, root, epoch in contents.sealed}
    base, index = _load_snapshot(seq, contents, sealed)
    by_slot: dict[int, list[Item]] = defaultdict(list)
    under: dict[int, list[tuple[int, Deferred]]] = defaultdict(list)  # slots <= base
    timestamps: dict[int, int] = {}
    held: list[Item] = []
    for row in contents.items:
        if row.slot is None:
            held.append(item_from_row(row, decode))
            continue
        if row.slot_timestamp is not None:
            timestamps[row.slot] = row.slot_timestamp
        if row.slot <= base:  # not executed: decoded when something reads it
            under[row.slot].append(
                (row.idx or 0, Deferred(partial(_item_at, seq, row), row.status))
            )
        else:
            by_slot[row.slot].append(item_from_row(row, decode))
    numbers = sorted(set(sealed) | set(under) | set(by_slot))
    total = len(numbers)
    if base:
        _adopt(seq, base, sealed, under, index)
    todo = [n for n in numbers if n > base]
    progress = Progress("restart: re-executing the log, slot", len(todo))
    for done, number in enumerate(todo):
        progress(done)
        if number != seq.head_slot + 1:
            raise RecoveryError(f"log has slot {number} after slot {seq.head_slot}")
        if number in sealed:
            seq.book.begin_epoch(sealed[number][2])
        seq.open_slot_at(sealed[number][0] if number in sealed else timestamps[number])
        for item in sorted(by_slot.get(number, []), key=lambda i: i.index or 0):
            _replay_item(seq, item)
        if number in sealed:
            if seq.seal_slot().order_root != sealed[number][1]:
                raise RecoveryError(f"slot {number}: order root does not re-derive")
    progress.done()
    seq.book.begin_epoch(int(contents.meta.get("epoch", seq.book.epoch)))
    for item in held:
        seq.book.restore_held(item)
    for chain_id, raw, sender in contents.queued:
        seq.pending.add(chain_id, decode(chain_id, raw), sender)
    return total


def _replay_item(seq: Sequencer, item: Item) -> None:
    """Re-execute a logged item in the open slot (the slot transition) and put it back in
    its place in the order (checked against its stored receipt)."""
    outcome = reapply(seq.rollups, item)
    if item.outcome is None:
        item.outcome = outcome
    seq.book.replay(item)


def _item_at(seq: Sequencer, row: ItemRow) -> Item:
    """A logged item of sealed slot ``row.slot``, its transactions decoded for that slot's
    block (our own log: already checked when it was ordered)."""

    def decode(chain_id: int, raw: bytes) -> Any:
        assert row.slot is not None
        return seq.rollups[chain_id].vm_class_for(row.slot).get_transaction_builder().decode(raw)

    return item_from_row(row, decode)


def _load_snapshot(
    seq: Sequencer, contents: LogContents, sealed: dict[int, tuple[int, bytes, int]]
) -> tuple[int, list[Any] | None]:
    """Load the latest state snapshot, if any (no execution). Returns its slot (0 without
    one) and the order book's index of the items up to it (None if it has none)."""
    if contents.snapshot is None or contents.snapshot[0] not in sealed:
        return 0, None
    base = contents.snapshot[0]
    index = import_rollups(seq.rollups, contents.snapshots or [contents.snapshot[1]])
    seq.retention.loaded(seq.rollups, base, sum(map(len, contents.snapshots)))
    if seq.head_slot != base:
        raise RecoveryError(f"snapshot of slot {base} holds head {seq.head_slot}")
    return base, index


def _adopt(
    seq: Sequencer,
    base: int,
    sealed: dict[int, tuple[int, bytes, int]],
    under: dict[int, list[tuple[int, Deferred]]],
    index: list[Any] | None,
) -> None:
    """The slot records up to the snapshot, with their items: found through the
    snapshots' index and decoded when read (lazybook.py), or, without an index that
    matches the log (a snapshot written before it), decoded now."""
    places = {(n, i): d for n, pairs in under.items() for i, d in pairs}
    entries = [e for chunk in index or [] for e in chunk if e[1] <= base]
    lazy = index is not None and len(entries) == len(places)
    lazy = lazy and all((e[1], e[2]) in places for e in entries)
    slots: list[Slot] = []
    for number in range(min(sealed), base + 1):
        deferred = [d for _, d in sorted(under.get(number, []), key=lambda p: p[0])]
        items: Any = DeferredItems(deferred) if lazy else tuple(d.get() for d in deferred)
        ts, root, epoch = sealed[number]
        blocks = SlotBlocks(seq.rollups, number)  # decoded when read
        slots.append(Slot(number, ts, blocks, items, root, epoch))
    if not lazy:
        seq.adopt_slots(slots)
        return
    book = seq.book
    book.items, book.messages = ItemIndex(book.items), MessageIndex(book.messages)
    for item_hash, number, idx, tx_hashes, message_ids in entries:
        d = places[(number, idx)]
        book.items.defer(item_hash, d)
        for tx_hash in tx_hashes:
            book.by_tx[tx_hash] = item_hash
        for message_id in message_ids:
            book.messages.defer(message_id, d)
    seq.slots.extend(slots)

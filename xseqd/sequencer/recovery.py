"""Restart: rebuild the sequencer from its log by re-executing it.

Rollup state is a pure function of genesis + log, so recovery replays every slot in
order: open with the logged timestamp, re-apply the included items (transactions as the
sender they ran as, bundles atomically, devnet changes), seal the slots that were sealed,
and leave the last one open if it was. Stored receipts are kept, not re-signed; each
item's position is checked against its receipt's order chain, and each sealed slot's
order root against the logged one, so a log that does not re-derive is refused.
Every 256 slots the sequencer stores a state snapshot (py-evm's key-value store and our
block index) in the log; restart loads the latest one and re-executes only the slots
after it, so restart time is bounded by the snapshot interval plus loading the snapshot.
"""

from __future__ import annotations

from collections import defaultdict

from xseqd.core.atomic import execute_bundle
from xseqd.core.order import chain_next
from xseqd.core.txpool import Queued
from xseqd.errors import XseqError
from xseqd.sequencer.journal import NullJournal
from xseqd.sequencer.ordering import Item
from xseqd.sequencer.sequencer import Pending, Sequencer, Slot
from xseqd.storage.codec import item_from_row
from xseqd.storage.log import LogContents


class RecoveryError(XseqError):
    """Raised when the log does not re-derive (corrupted, or another genesis)."""


def restore(seq: Sequencer, contents: LogContents) -> int:
    """Restore ``contents`` into a fresh ``seq``; returns the number of slots restored."""
    journal, seq.journal = seq.journal, NullJournal()
    try:
        return _restore(seq, contents)
    finally:
        seq.journal = journal


def _decode(seq: Sequencer, chain_id: int, raw: bytes):  # type: ignore[no-untyped-def]
    rollup = seq.rollup(chain_id)
    return rollup.vm_class_for(rollup.head.number + 1).get_transaction_builder().decode(raw)


def _restore(seq: Sequencer, contents: LogContents) -> int:
    sealed = {n: (ts, root) for n, ts, root in contents.sealed}
    by_slot: dict[int, list[Item]] = defaultdict(list)
    timestamps: dict[int, int] = {}
    held: list[Item] = []
    for row in contents.items:
        item = item_from_row(row, lambda c, r: _decode(seq, c, r))
        if row.slot is None:
            held.append(item)
            continue
        by_slot[row.slot].append(item)
        if row.slot_timestamp is not None:
            timestamps[row.slot] = row.slot_timestamp
    numbers = sorted(set(sealed) | set(by_slot))
    total = len(numbers)
    base = _from_snapshot(seq, contents, sealed, by_slot)
    numbers = [n for n in numbers if n > base]
    for number in numbers:
        if number != seq.head_slot + 1:
            raise RecoveryError(f"log has slot {number} after slot {seq.head_slot}")
        ts = sealed[number][0] if number in sealed else timestamps[number]
        seq.time.next_timestamp = ts
        seq.open_slot()
        for item in sorted(by_slot.get(number, []), key=lambda i: i.index or 0):
            _reapply(seq, item)
        if number in sealed:
            slot = seq.seal_slot()
            if slot.order_root != sealed[number][1]:
                raise RecoveryError(f"slot {number}: order root does not re-derive")
    for item in held:
        seq.book.remember(item)
        if item.status == "ordered":
            seq.book.held.append(item)
    for chain_id, raw, sender in contents.queued:
        tx = _decode(seq, chain_id, raw)
        seq.queues[chain_id].add(
            sender,
            int(tx.nonce),
            Queued(
                bytes(tx.hash),
                int(getattr(tx, "max_fee_per_gas", 0) or tx.gas_price),
                Pending(tx, sender),
            ),
        )
    return total


def _from_snapshot(
    seq: Sequencer,
    contents: LogContents,
    sealed: dict[int, tuple[int, bytes]],
    by_slot: dict[int, list[Item]],
) -> int:
    """Load the latest state snapshot, if any; rebuild slot records and the order book up
    to it from the log (no execution). Returns the snapshot's slot (0 without one)."""
    if contents.snapshot is None or contents.snapshot[0] not in sealed:
        return 0
    base, payload = contents.snapshot
    seq.import_state(payload)
    if seq.head_slot != base:
        raise RecoveryError(f"snapshot of slot {base} holds head {seq.head_slot}")
    first = min(sealed)
    for number in range(first, base + 1):
        items = tuple(sorted(by_slot.get(number, []), key=lambda i: i.index or 0))
        for item in items:
            seq.book.remember(item)
        ts, root = sealed[number]
        blocks = {cid: r.blocks[number] for cid, r in seq.rollups.items()}
        seq.slots.append(Slot(number, ts, blocks, items, root))
    return base


def _reapply(seq: Sequencer, item: Item) -> None:
    book = seq.book
    if item.status == "included":
        if item.change is not None:
            seq.rollups[item.change.chain_id].apply_change(item.change.apply)
        else:
            outcome = execute_bundle(
                dict(seq.rollups), list(item.legs), abort_on_revert=item.bundle
            )
            if not outcome.included:
                raise RecoveryError(f"item {item.item_hash.hex()} no longer applies")
    book.chain = chain_next(book.chain, item.item_hash)
    if item.receipt is None or item.receipt.order_chain != book.chain:
        raise RecoveryError(f"item {item.item_hash.hex()}: order chain does not re-derive")
    if item.index != len(book.open_items):
        raise RecoveryError(f"item {item.item_hash.hex()}: index does not re-derive")
    book.open_items.append(item)
    book.remember(item)

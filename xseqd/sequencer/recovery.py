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

from collections import defaultdict

from xseqd.chains.blockindex import SlotBlocks
from xseqd.chains.snapshot import import_rollups
from xseqd.core.items import Item
from xseqd.core.transition import Slot, TransitionFault, decoder, reapply
from xseqd.errors import XseqError
from xseqd.progress import Progress
from xseqd.sequencer.journal import NullJournal
from xseqd.sequencer.ordering import OrderMismatch
from xseqd.sequencer.sequencer import Sequencer
from xseqd.storage.codec import item_from_row
from xseqd.storage.log import LogContents


class RecoveryError(XseqError):
    """Raised when the log does not re-derive (corrupted, or another genesis)."""


def restore(seq: Sequencer, contents: LogContents) -> int:
    """Restore ``contents`` into a fresh ``seq``; returns the number of slots restored."""
    journal, seq.journal = seq.journal, NullJournal()
    try:
        return _restore(seq, contents)
    except (TransitionFault, OrderMismatch) as exc:
        raise RecoveryError(f"the sequencer log does not re-derive: {exc}") from exc
    finally:
        seq.journal = journal


def _restore(seq: Sequencer, contents: LogContents) -> int:
    decode = decoder(seq.rollups)
    sealed = {n: (ts, root, epoch) for n, ts, root, epoch in contents.sealed}
    by_slot: dict[int, list[Item]] = defaultdict(list)
    timestamps: dict[int, int] = {}
    held: list[Item] = []
    for row in contents.items:
        item = item_from_row(row, decode)
        if row.slot is None:
            held.append(item)
            continue
        by_slot[row.slot].append(item)
        if row.slot_timestamp is not None:
            timestamps[row.slot] = row.slot_timestamp
    numbers = sorted(set(sealed) | set(by_slot))
    total = len(numbers)
    base = _from_snapshot(seq, contents, sealed, by_slot)
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


def _from_snapshot(
    seq: Sequencer,
    contents: LogContents,
    sealed: dict[int, tuple[int, bytes, int]],
    by_slot: dict[int, list[Item]],
) -> int:
    """Load the latest state snapshot, if any, with the slot records up to it (no
    execution). Returns the snapshot's slot (0 without one)."""
    if contents.snapshot is None or contents.snapshot[0] not in sealed:
        return 0
    base = contents.snapshot[0]
    slots: list[Slot] = []
    import_rollups(seq.rollups, contents.snapshots or [contents.snapshot[1]])
    seq.retention.loaded(seq.rollups, sum(map(len, contents.snapshots)))
    if seq.head_slot != base:
        raise RecoveryError(f"snapshot of slot {base} holds head {seq.head_slot}")
    for number in range(min(sealed), base + 1):
        items = tuple(sorted(by_slot.get(number, []), key=lambda i: i.index or 0))
        ts, root, epoch = sealed[number]
        blocks = SlotBlocks(seq.rollups, number)  # decoded when read
        slots.append(Slot(number, ts, blocks, items, root, epoch))
    seq.adopt_slots(slots)
    return base

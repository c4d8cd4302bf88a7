"""The terminal's view of the devnet: one ``info`` line per sealed slot (pure formatting;
node.py logs it from the sequencer's ``on_slot`` listener; progress lines for long work are
xseqd/progress.py).

    slot 42  901: 3 tx  902: 1 tx  bundle 0x12ab…✓  msg 901→902 ✓  L1 safe@17

A slot line names every rollup's transaction count, each bundle (✓ included, ✗ aborted
with its reason), each cross-rollup message (✓ delivered, ✗ the one that failed a unit)
and, when settling on an L1, the highest slot committed there. Busy slots are cut short
(``+N more``) so that a line stays readable.
"""

from __future__ import annotations

from xseqd.core.items import Item
from xseqd.core.transition import Slot

MAX_NAMED = 3  # bundles and messages named on one line; the rest are counted
MAX_REASON = 48


def short_hash(value: bytes) -> str:
    return f"0x{value[:2].hex()}…"


def _bundle_part(item: Item) -> str:
    if item.status == "included":
        return f"bundle {short_hash(item.item_hash)}✓"
    reason = ""
    if item.outcome is not None and item.outcome.abort is not None:
        abort = item.outcome.abort
        text = abort.reason if len(abort.reason) <= MAX_REASON else abort.reason[:MAX_REASON] + "…"
        reason = f" leg {abort.leg}: {text}"
    return f"bundle {short_hash(item.item_hash)}✗{reason}"


def _message_parts(item: Item) -> list[str]:
    outcome = item.outcome
    if outcome is None:
        return []
    parts = []
    if item.status == "included":
        for d in outcome.deliveries:
            parts.append(f"msg {d.message.source}→{d.message.destination} ✓")
    elif outcome.abort is not None and outcome.abort.message is not None:
        m = outcome.abort.message
        parts.append(f"msg {m.source}→{m.destination} ✗")
    return parts


def _capped(parts: list[str]) -> list[str]:
    if len(parts) <= MAX_NAMED:
        return parts
    return parts[:MAX_NAMED] + [f"+{len(parts) - MAX_NAMED} more"]


def slot_fields(slot: Slot) -> dict[str, object]:
    """The slot line's structured fields (``--log-format json`` puts them beside ``msg``)."""
    return {
        "slot": slot.number,
        "timestamp": slot.timestamp,
        "txs": sum(len(b.txs) for b in slot.blocks.values()),
        "items": len(slot.items),
        "rollups": {str(cid): len(b.txs) for cid, b in sorted(slot.blocks.items())},
    }


def slot_line(slot: Slot, l1_safe: int | None = None) -> str:
    """The ``info`` line for a sealed slot; ``l1_safe`` is the highest slot committed on L1
    (None: not settling)."""
    parts = [f"slot {slot.number}"]
    for chain_id, record in sorted(slot.blocks.items()):
        parts.append(f"{chain_id}: {len(record.txs)} tx")
    bundles = [_bundle_part(i) for i in slot.items if i.bundle]
    messages = [m for i in slot.items for m in _message_parts(i)]
    parts += _capped(bundles) + _capped(messages)
    aborted_txs = sum(1 for i in slot.items if not i.bundle and i.status == "aborted")
    if aborted_txs:
        parts.append(f"{aborted_txs} tx dropped")
    if l1_safe is not None:
        parts.append(f"L1 safe@{l1_safe}")
    return "  ".join(parts)

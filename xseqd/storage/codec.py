"""Items <-> the rows stored in the sequencer log (pinned by tests).

An item's body is its one canonical encoding (``Entry.encode``, core/items.py: the same
tuple that L1 batch data carries) plus what the log keeps beside it: the order receipt,
the execution outcome, and a held bundle's options.
"""

from __future__ import annotations

from typing import Any

from xseqd.core.atomic import Abort, BundleOutcome, Delivery, LegResult
from xseqd.core.items import Decode, Entry, Item
from xseqd.core.messages import Message
from xseqd.core.order import OrderReceipt
from xseqd.storage.log import ItemRow


def outcome_json(outcome: BundleOutcome) -> dict[str, Any]:
    abort = outcome.abort
    return {
        "legs": [
            [
                r.chain_id,
                r.tx_hash.hex(),
                r.status,
                r.gas_used,
                r.output.hex(),
                [[a.hex(), [t.hex() for t in topics], d.hex()] for a, topics, d in r.logs],
            ]
            for r in outcome.legs
        ],
        "abort": None
        if abort is None
        else {
            "leg": abort.leg,
            "reason": abort.reason,
            "data": abort.data.hex(),
            "kind": abort.kind,
            "message": None if abort.message is None else abort.message.to_json(),
        },
        "deliveries": [
            [d.message.to_json(), d.tx_hash.hex(), d.depth, d.leg] for d in outcome.deliveries
        ],
    }


def outcome_from_json(o: dict[str, Any]) -> BundleOutcome:
    results = tuple(
        LegResult(
            c,
            bytes.fromhex(h),
            st,
            g,
            bytes.fromhex(out),
            tuple(
                (bytes.fromhex(a), tuple(bytes.fromhex(t) for t in topics), bytes.fromhex(d))
                for a, topics, d in logs
            ),
        )
        for c, h, st, g, out, logs in o["legs"]
    )
    abort = None
    if o["abort"] is not None:
        a = o["abort"]
        message = a.get("message")  # absent in rows written before it was kept
        abort = Abort(
            a["leg"],
            a["reason"],
            bytes.fromhex(a["data"]),
            a["kind"],
            None if message is None else Message.from_json(message),
        )
    deliveries = tuple(
        Delivery(Message.from_json(m), bytes.fromhex(h), depth, leg)
        for m, h, depth, leg in o["deliveries"]
    )
    return BundleOutcome(results, abort, deliveries)


def item_body(item: Item) -> dict[str, Any]:
    return {
        "entry": item.entry.encode().hex(),
        "receipt": None if item.receipt is None else item.receipt.to_json(),
        "outcome": None if item.outcome is None else outcome_json(item.outcome),
        "minSlot": item.min_slot,
        "maxSlot": item.max_slot,
        "uuid": item.replacement_uuid,
    }


def item_row(item: Item, slot_timestamp: int | None) -> ItemRow:
    return ItemRow(
        item.item_hash, item.slot, slot_timestamp, item.index, item.status, item_body(item)
    )


def item_from_row(row: ItemRow, decode: Decode) -> Item:
    body = row.body
    item = Item.from_entry(Entry.decode(bytes.fromhex(body["entry"])), decode)
    if item.item_hash != row.item_hash:
        raise ValueError(f"log row 0x{row.item_hash.hex()} holds another item")
    item.status, item.slot, item.index = row.status, row.slot, row.idx
    item.receipt = None if body["receipt"] is None else OrderReceipt.from_json(body["receipt"])
    item.outcome = None if body["outcome"] is None else outcome_from_json(body["outcome"])
    item.min_slot, item.max_slot = body["minSlot"], body["maxSlot"]
    item.replacement_uuid = body["uuid"]
    return item

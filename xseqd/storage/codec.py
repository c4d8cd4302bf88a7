"""Items <-> the JSON bodies stored in the sequencer log (pinned by tests)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eth.abc import SignedTransactionAPI

from xseqd.core.atomic import Abort, BundleOutcome, Delivery, Leg, LegResult
from xseqd.core.devchange import DevChange
from xseqd.core.messages import Message
from xseqd.core.order import OrderReceipt
from xseqd.sequencer.ordering import Item
from xseqd.storage.log import ItemRow

Decode = Callable[[int, bytes], SignedTransactionAPI]


def item_body(item: Item) -> dict[str, Any]:
    outcome = None
    if item.outcome is not None:
        outcome = {
            "legs": [
                [
                    r.chain_id,
                    r.tx_hash.hex(),
                    r.status,
                    r.gas_used,
                    r.output.hex(),
                    [[a.hex(), [t.hex() for t in topics], d.hex()] for a, topics, d in r.logs],
                ]
                for r in item.outcome.legs
            ],
            "abort": None
            if item.outcome.abort is None
            else {
                "leg": item.outcome.abort.leg,
                "reason": item.outcome.abort.reason,
                "data": item.outcome.abort.data.hex(),
                "kind": item.outcome.abort.kind,
            },
            "deliveries": [
                [d.message.to_json(), d.tx_hash.hex(), d.depth, d.leg]
                for d in item.outcome.deliveries
            ],
        }
    return {
        "bundle": item.bundle,
        "legs": [
            {
                "chainId": leg.chain_id,
                "raw": bytes(leg.tx.encode()).hex(),
                "sender": None if leg.sender is None else leg.sender.hex(),
            }
            for leg in item.legs
        ],
        "change": None if item.change is None else item.change.to_json(),
        "receipt": None if item.receipt is None else item.receipt.to_json(),
        "outcome": outcome,
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
    legs = []
    for leg in body["legs"]:
        tx = decode(int(leg["chainId"]), bytes.fromhex(leg["raw"]))
        sender = bytes.fromhex(leg["sender"]) if leg["sender"] else None
        legs.append(Leg(int(leg["chainId"]), tx, bytes(tx.hash), sender))
    outcome = None
    if body["outcome"] is not None:
        o = body["outcome"]
        results = tuple(
            LegResult(c, bytes.fromhex(h), st, g, bytes.fromhex(out), n)
            for c, h, st, g, out, n in o["legs"]
        )
        abort = None
        if o["abort"] is not None:
            a = o["abort"]
            abort = Abort(
                a["leg"], a["reason"], bytes.fromhex(a["data"]), a.get("kind", "reverted")
            )
        deliveries = tuple(
            Delivery(Message.from_json(m), bytes.fromhex(h), depth, leg)
            for m, h, depth, leg in o.get("deliveries", [])
        )
        outcome = BundleOutcome(results, abort, deliveries)
    return Item(
        item_hash=row.item_hash,
        bundle=bool(body["bundle"]),
        legs=tuple(legs),
        status=row.status,
        slot=row.slot,
        index=row.idx,
        receipt=None if body["receipt"] is None else OrderReceipt.from_json(body["receipt"]),
        outcome=outcome,
        min_slot=body["minSlot"],
        max_slot=body["maxSlot"],
        replacement_uuid=body["uuid"],
        change=None if body["change"] is None else DevChange.from_json(body["change"]),
    )

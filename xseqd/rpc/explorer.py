"""The slot explorer's side of the server: its static files at ``/explorer``, and the few
read-only ``xseq_*`` methods its pages need beyond ``xseq_getSlot`` / ``xseq_getBundle`` /
``xseq_getMessage`` (all answer from memory, change nothing, and are bounded).

    xseq_recentSlots   {count?, before?}        newest slots as summary rows (home page)
    xseq_slotItems     slot number              a slot's items in receipt order, with legs,
                                                leg status, abort reason and messages; then
                                                the items an L1 challenge invalidated there
    xseq_getTransaction tx hash                 one rollup transaction (or an aborted leg)
                                                with its item and the messages it sent or
                                                delivered
    xseq_addressActivity {chainId, address, count?}  balance, nonce, recent transactions
    xseq_search        text                     what a slot number, tx/bundle/block hash,
                                                message id, address or a deposit's L1
                                                tx hash names

Deposits and encrypted items (commit, reveal) get their kind's fields from
rpc/explorer_kinds.py.

The pages themselves are plain HTML/CSS/JS in ``xseqd/explorer/`` (package data, no build
step, no CDN); they follow new slots over the rollup WebSocket (``newHeads``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from eth_typing import Address
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from xseqd.chains.records import TxRecord
from xseqd.core.deposits import origin_tx
from xseqd.core.items import Item, ItemKind
from xseqd.errors import InvalidParams
from xseqd.rpc import format as fmt
from xseqd.rpc import params as p
from xseqd.rpc.context import RollupCall, Services
from xseqd.rpc.envelope import Registry
from xseqd.rpc.explorer_kinds import deposit_of_tx, deposits_by_l1_tx, kind_json
from xseqd.rpc.xseq import Ctx, item_json

STATIC = Path(__file__).resolve().parent.parent / "explorer"
ASSET = re.compile(r"^[a-z0-9][a-z0-9_-]*\.(?:js|css|svg|png|ico)$")
MEDIA = {
    "js": "text/javascript",
    "css": "text/css",
    "svg": "image/svg+xml",
    "png": "image/png",
    "ico": "image/x-icon",
}
MAX_RECENT = 100  # slots one xseq_recentSlots returns
MAX_ADDRESS_TXS = 100  # transactions one xseq_addressActivity returns
ADDRESS_SCAN = 5_000  # newest blocks xseq_addressActivity looks through

explorer: Registry[Any] = Registry({})


# -- static files ---------------------------------------------------------------------------


def explorer_routes() -> list[BaseRoute]:
    """``/explorer`` (the single page; its routes are in the URL fragment) and its assets."""

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"cache-control": "no-cache"})

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        path = STATIC / name
        if not ASSET.match(name) or not path.is_file():
            return Response("not found", status_code=404, media_type="text/plain")
        media = MEDIA[name.rsplit(".", 1)[1]]
        return FileResponse(path, media_type=media, headers={"cache-control": "no-cache"})

    async def slash(request: Request) -> Response:
        return RedirectResponse("/explorer")

    return [
        Route("/explorer", index, methods=["GET"]),
        Route("/explorer/", slash, methods=["GET"]),
        Route("/explorer/{name}", asset, methods=["GET"]),
    ]


# -- summaries ------------------------------------------------------------------------------


def _l1_of(services: Services, number: int) -> Any:
    return None if services.l1 is None else services.l1.slot_status(number)


def invalidated_by_slot(services: Services) -> dict[int, list[Item]]:
    """Items an L1 challenge rolled back (shared fate), by the slot they had been in; they
    stay findable until resubmitted (sequencer/ordering.py ``forget_after``)."""
    out: dict[int, list[Item]] = {}
    book = services.sequencer.book
    if book.epoch == 0:  # never rewound: nothing can be invalidated (and no scan of all items)
        return out
    for item in book.items.values():
        if item.status == "invalidated" and item.slot is not None:
            out.setdefault(item.slot, []).append(item)
    for items in out.values():
        items.sort(key=lambda i: i.index or 0)
    return out


def slot_summary(
    services: Services, number: int, invalidated: dict[int, list[Item]] | None = None
) -> dict[str, Any] | None:
    """One home-page row: per-rollup block hash, tx count and gas; item counts; L1 status."""
    seq = services.sequencer
    rollups = []
    timestamp = 0
    for cid, rollup in sorted(seq.rollups.items()):
        record = rollup.block(number)
        if record is None:
            return None
        header = record.block.header
        timestamp = int(header.timestamp)
        rollups.append(
            {
                "chainId": cid,
                "blockHash": fmt.h(header.hash),
                "txCount": len(record.txs),
                "gasUsed": fmt.q(header.gas_used),
            }
        )
    slot = _slot(services, number)
    items = slot.items if slot is not None else ()
    return {
        "number": fmt.q(number),
        "timestamp": fmt.q(timestamp),
        "rollups": rollups,
        "items": len(items),
        "bundles": sum(1 for i in items if i.bundle),
        "deposits": sum(1 for i in items if i.kind is ItemKind.DEPOSIT),
        "encrypted": sum(1 for i in items if i.kind is ItemKind.ENCRYPTED),
        "aborted": sum(1 for i in items if i.status == "aborted"),
        "messages": sum(
            len(i.outcome.deliveries) for i in items if i.status == "included" and i.outcome
        ),
        "invalidated": len((invalidated or {}).get(number, ())),
        "l1": _l1_of(services, number),
    }


def _slot(services: Services, number: int) -> Any:
    for slot in reversed(services.sequencer.slots):
        if slot.number == number:
            return slot
        if slot.number < number:
            break
    return None


@explorer.method("xseq_recentSlots")
def recent_slots(c: Ctx, params: list[Any]) -> dict[str, Any]:
    (opts,) = p.positional(params, 0, 1)
    opts = opts or {}
    if not isinstance(opts, dict):
        raise InvalidParams("expected {count?, before?}")
    count = p.quantity(opts.get("count", 20), "count", MAX_RECENT) if "count" in opts else 20
    seq = c.services.sequencer
    head = seq.head_slot
    top = head
    if opts.get("before") is not None:
        top = min(head, p.quantity(opts["before"], "before") - 1)
    rows = []
    invalidated = invalidated_by_slot(c.services)
    for number in range(top, max(top - count, -1), -1):
        row = slot_summary(c.services, number, invalidated)
        if row is not None:
            rows.append(row)
    l1 = c.services.l1
    return {
        "head": fmt.q(head),
        "chainIds": sorted(seq.rollups),
        "l1": None if l1 is None else l1.status(),
        "slots": rows,
    }


def _leg_statuses(c: Ctx, out: dict[str, Any]) -> None:
    """Fill in the receipt status of a plain transaction's leg (item_json leaves it out)."""
    for leg in out["legs"]:
        if leg["status"] is None:
            rollup = c.services.sequencer.rollups.get(leg["chainId"])
            record = None if rollup is None else rollup.txs.get(bytes.fromhex(leg["txHash"][2:]))
            if record is not None:
                leg["status"] = fmt.q(1 if bytes(record.receipt.state_root) == b"\x01" else 0)
                leg["gasUsed"] = fmt.q(record.gas_used)


@explorer.method("xseq_slotItems")
def slot_items(c: Ctx, params: list[Any]) -> Any:
    (value,) = p.positional(params, 1, 1)
    number = p.quantity(value, "slot number")
    slot = _slot(c.services, number)
    rolled_back = invalidated_by_slot(c.services).get(number, [])
    if slot is None and not rolled_back:
        return None
    out = []
    for item in (*(slot.items if slot is not None else ()), *rolled_back):
        doc = kind_json(c.services, item, item_json(item))
        _leg_statuses(c, doc)
        if item.change is not None:
            doc["change"] = str(item.change)
        out.append(doc)
    return out


# -- transactions and addresses -------------------------------------------------------------


def _find_tx(services: Services, tx_hash: bytes) -> TxRecord | None:
    for rollup in services.sequencer.rollups.values():
        record = rollup.txs.get(tx_hash)
        if record is not None and rollup.block(record.block_number) is not None:
            return record
    return None


def _chain_of(services: Services, record: TxRecord) -> int:
    for cid, rollup in services.sequencer.rollups.items():
        if rollup.txs.get(record.hash) is record:
            return cid
    raise InvalidParams("transaction of no rollup")


def _messages_of(services: Services, tx_hash: bytes) -> tuple[list[str], str | None]:
    """Ids of the messages ``tx_hash`` sent (as a leg) and of the one it delivered."""
    sent, delivered = [], None
    for mid, (item, d) in services.sequencer.book.messages.items():
        if d.tx_hash == tx_hash:
            delivered = fmt.h(mid)
        elif origin_tx(item, d.leg) == tx_hash:
            sent.append(fmt.h(mid))
    return sent, delivered


@explorer.method("xseq_getTransaction")
def get_transaction(c: Ctx, params: list[Any]) -> Any:
    (value,) = p.positional(params, 1, 1)
    tx_hash = p.hash32(value, "transaction hash")
    services = c.services
    record = _find_tx(services, tx_hash)
    item: Item | None = services.sequencer.book.find(tx_hash)
    if item is not None and not any(g.tx_hash == tx_hash for g in item.legs):
        item = None  # an item hash (a bundle's, a ciphertext's) names no transaction
    if record is None and item is None:
        return None
    out: dict[str, Any] = {"hash": fmt.h(tx_hash), "included": record is not None}
    if record is not None:
        out["chainId"] = _chain_of(services, record)
        out["transaction"] = fmt.tx_json(record)
        out["receipt"] = fmt.receipt_json(record)
    if item is not None:
        leg = next(g for g in item.legs if g.tx_hash == tx_hash)
        out.setdefault("chainId", leg.chain_id)
        out["item"] = {
            "hash": fmt.h(item.item_hash),
            "kind": item.kind.label,
            "status": item.status,
            "slot": None if item.slot is None else fmt.q(item.slot),
            "index": None if item.index is None else fmt.q(item.index),
            "legs": len(item.legs),
        }
    if record is not None:
        slot = _slot(services, record.block_number)  # one block per rollup per slot
        applies = deposit_of_tx(slot.items if slot is not None else (), tx_hash)
        if applies is not None:
            out["deposit"] = applies  # the system call that applied this L1 deposit
    sent, delivered = _messages_of(services, tx_hash)
    out["messagesSent"] = sent
    out["delivers"] = delivered
    return out


def _tx_row(record: TxRecord, chain_id: int) -> dict[str, Any]:
    return {
        "hash": fmt.h(record.hash),
        "chainId": chain_id,
        "blockNumber": fmt.q(record.block_number),
        "from": fmt.h(record.sender),
        "to": fmt.addr(bytes(record.tx.to)),
        "value": fmt.q(record.tx.value),
        "status": fmt.q(1 if bytes(record.receipt.state_root) == b"\x01" else 0),
        "contractAddress": fmt.addr(record.contract_address),
    }


@explorer.method("xseq_addressActivity")
def address_activity(c: Ctx, params: list[Any]) -> dict[str, Any]:
    (opts,) = p.positional(params, 1, 1)
    if not isinstance(opts, dict):
        raise InvalidParams("expected {chainId, address, count?}")
    chain_id = p.quantity(opts.get("chainId"), "chainId") if "chainId" in opts else None
    if chain_id is None:
        raise InvalidParams("missing chainId")
    rollup = c.services.sequencer.rollup(chain_id)
    address = bytes(p.address(opts.get("address"), "address"))
    count = p.quantity(opts.get("count", 25), "count", MAX_ADDRESS_TXS)
    state = RollupCall(c.services, rollup).state(p.block_ref("latest"))
    rows: list[dict[str, Any]] = []
    head = rollup.head.number
    lowest = max(0, head - ADDRESS_SCAN + 1)
    for number in range(head, lowest - 1, -1):
        record = rollup.block(number)
        if record is None:
            continue
        for tx in reversed(record.txs):
            if address in (tx.sender, bytes(tx.tx.to), tx.contract_address):
                rows.append(_tx_row(tx, chain_id))
        if len(rows) >= count:
            break
    return {
        "chainId": chain_id,
        "address": fmt.h(address),
        "balance": fmt.q(state.get_balance(Address(address))),
        "nonce": fmt.q(state.get_nonce(Address(address))),
        "codeSize": len(state.get_code(Address(address))),
        "transactions": rows[:count],
        "scannedFrom": fmt.q(lowest),
    }


# -- search ---------------------------------------------------------------------------------

HEX = re.compile(r"^0x[0-9a-fA-F]+$")


@explorer.method("xseq_search")
def search(c: Ctx, params: list[Any]) -> dict[str, Any] | None:
    """Where ``text`` leads: ``{kind, ...}`` with kind slot, bundle, transaction, message
    or address; None if it names nothing known."""
    (text,) = p.positional(params, 1, 1)
    if not isinstance(text, str):
        raise InvalidParams("expected a string")
    text = text.strip()
    seq = c.services.sequencer
    if text.isdigit() or (HEX.match(text) and len(text) <= 18):
        number = int(text, 0) if text.startswith("0x") else int(text)
        return {"kind": "slot", "number": fmt.q(number)} if number <= seq.head_slot else None
    if HEX.match(text) and len(text) == 42:
        return {"kind": "address", "address": text.lower(), "chainIds": sorted(seq.rollups)}
    if not (HEX.match(text) and len(text) == 66):
        return None
    value = bytes.fromhex(text[2:])
    item = seq.book.items.get(value)
    if item is not None and item.kind.label != "transaction":
        return {"kind": "bundle", "hash": text.lower(), "itemKind": item.kind.label}
    if value in seq.book.messages:
        return {"kind": "message", "id": text.lower()}
    if _find_tx(c.services, value) is not None or seq.book.find(value) is not None:
        return {"kind": "transaction", "hash": text.lower()}
    deposits = deposits_by_l1_tx(c.services, value)
    if deposits:  # an L1 transaction that made deposits: the first one (by log index)
        return {
            "kind": "bundle",
            "hash": fmt.h(deposits[0].item_hash),
            "itemKind": "deposit",
            "l1TxHash": text.lower(),
            "deposits": [fmt.h(i.item_hash) for i in deposits],
        }
    for rollup in seq.rollups.values():
        record = rollup.block_by_hash(value)
        if record is not None:
            return {"kind": "slot", "number": fmt.q(record.number)}
    return None

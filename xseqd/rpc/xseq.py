"""The sequencer namespace ``xseq_*``, served on ``/`` and on every rollup path."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import rlp

from xseqd.chains.predeploys import MAILBOX, REFERENCE_TOKEN, SYSTEM, TOKEN_BRIDGE
from xseqd.core.atomic import BundleOutcome, Delivery, Leg
from xseqd.core.deposits import Deposit, origin_tx
from xseqd.core.items import Item, ItemKind
from xseqd.core.messages import MAX_DEPTH
from xseqd.core.transition import Slot, committed_states
from xseqd.rpc import format as fmt
from xseqd.rpc import params as p
from xseqd.rpc import rawtx
from xseqd.rpc.context import RollupCall, Services
from xseqd.rpc.encrypted import encrypted_json
from xseqd.rpc.envelope import OffLoop, Registry
from xseqd.rpc.eth import check_backlog, decode_tx
from xseqd.sequencer.deposits import withdrawal_proofs_for
from xseqd.sequencer.intake import MAX_BUNDLE_LEGS, BundleRejected


@dataclass
class RootCall:
    """Context of a request made on ``/`` (no particular rollup)."""

    services: Services


Ctx = RootCall | RollupCall
xseq_root: Registry[Any] = Registry({})


# -- parsing ------------------------------------------------------------------------------


def _leg_chain_id(raw: bytes, i: int) -> int:
    """The chain id a signed transaction commits to (typed: field 0; legacy: EIP-155 v)."""
    rawtx.check(raw)
    try:
        if raw and raw[0] < 0x7F:
            return int.from_bytes(rlp.decode(raw[1:])[0], "big")
        v = int.from_bytes(rlp.decode(raw)[6], "big")
    except (rlp.DecodingError, IndexError, TypeError):
        raise p.InvalidParams(f"leg {i}: not a signed transaction") from None
    if v in (27, 28):
        raise BundleRejected(-38003, f"leg {i}: legacy transaction without a chain id")
    return (v - 35) // 2


def parse_legs(c: Ctx, txs: Any) -> list[Leg]:
    if not isinstance(txs, list):
        raise p.InvalidParams("txs must be an array of signed raw transactions")
    legs = []
    for i, value in enumerate(txs):
        raw = p.data(value, f"txs[{i}]")
        chain_id = _leg_chain_id(raw, i)
        rollup = c.services.sequencer.rollups.get(chain_id)
        if rollup is None:
            raise BundleRejected(-38003, f"leg {i}: unknown chain id {chain_id}")
        tx = decode_tx(RollupCall(c.services, rollup), raw)
        legs.append(Leg(chain_id, tx, bytes(tx.hash)))
    return legs


def _bundle_params(params: list[Any]) -> dict[str, Any]:
    (obj,) = p.positional(params, 1, 1)
    if not isinstance(obj, dict) or "txs" not in obj:
        raise p.InvalidParams("expected {txs: [rawTx, ...], minSlot?, maxSlot?, replacementUuid?}")
    return obj


# -- formatting ---------------------------------------------------------------------------


def outcome_json(outcome: BundleOutcome | None, legs: tuple[Leg, ...]) -> dict[str, Any]:
    results = {r.tx_hash: r for r in (outcome.legs if outcome else ())}
    out_legs = []
    for leg in legs:
        r = results.get(leg.tx_hash)
        out_legs.append(
            {
                "chainId": leg.chain_id,
                "txHash": fmt.h(leg.tx_hash),
                "status": None if r is None else fmt.q(r.status),
                "gasUsed": None if r is None else fmt.q(r.gas_used),
                "output": None if r is None else fmt.h(r.output),
                "logs": []
                if r is None
                else [
                    {"address": fmt.h(a), "topics": [fmt.h(t) for t in topics], "data": fmt.h(d)}
                    for a, topics, d in r.logs
                ],
            }
        )
    out: dict[str, Any] = {"legs": out_legs}
    if outcome is not None and outcome.abort is not None:
        a = outcome.abort
        out["abort"] = {
            "leg": a.leg,
            "chainId": legs[a.leg].chain_id if a.leg < len(legs) else None,
            "reason": a.reason,
            "data": fmt.h(a.data),
            "kind": a.kind,
        }
        if a.message is not None:
            out["abort"]["message"] = a.message.to_json()
    if outcome is not None and outcome.abort is None:
        out["messages"] = [
            {
                "id": fmt.h(d.message.id),
                "source": d.message.source,
                "destination": d.message.destination,
                "deliveryTx": fmt.h(d.tx_hash),
                "depth": d.depth,
            }
            for d in outcome.deliveries
        ]
    return out


def item_json(item: Item) -> dict[str, Any]:
    out: dict[str, Any] = {
        "bundleHash": fmt.h(item.item_hash),
        "kind": item.kind.label,
        "status": item.status,
        "slot": None if item.slot is None else fmt.q(item.slot),
        "index": None if item.index is None else fmt.q(item.index),
        "receipt": None if item.receipt is None else item.receipt.to_json(),
    }
    out.update(outcome_json(item.outcome, item.legs))
    if item.kind is ItemKind.DEPOSIT:  # the L1 deposit, and the system call that applied it
        out["deposit"] = Deposit.decode(item.payload).to_json()
        out["txHash"] = fmt.h(origin_tx(item, 0)) if item.outcome is not None else None
    if item.kind in (ItemKind.TRANSACTION, ItemKind.DEPOSIT) and item.status == "included":
        for leg in out["legs"]:
            leg["status"] = None  # see the rollup's receipt (plain txs may revert and be included)
    return out


# -- methods ------------------------------------------------------------------------------


@xseq_root.method("xseq_sendBundle")
def send_bundle(c: Ctx, params: list[Any]) -> dict[str, Any]:
    obj = _bundle_params(params)
    check_backlog(c.services)
    legs = parse_legs(c, obj["txs"])

    def slot_bound(key: str) -> int | None:
        return p.quantity(obj[key], key) if obj.get(key) is not None else None

    uuid = obj.get("replacementUuid")
    if uuid is not None and not isinstance(uuid, str):
        raise p.InvalidParams("replacementUuid must be a string")
    seq = c.services.sequencer
    item = seq.submit_bundle(legs, slot_bound("minSlot"), slot_bound("maxSlot"), uuid)
    c.services.driver.submitted()
    return item_json(item)


@xseq_root.method("xseq_callBundle")
def call_bundle(c: Ctx, params: list[Any]) -> OffLoop:
    obj, _block = p.positional(params, 1, 2)
    if not isinstance(obj, dict) or "txs" not in obj:
        raise p.InvalidParams("expected {txs: [rawTx, ...]}")
    legs = parse_legs(c, obj["txs"])
    job = c.services.sequencer.bundles.prepare_simulation(legs, c.services.limits)

    def answer(outcome: BundleOutcome) -> dict[str, Any]:
        out = outcome_json(outcome, tuple(legs))
        out["status"] = "included" if outcome.included else "aborted"
        return out

    return OffLoop(job, answer)  # on copies of the open blocks, off the loop


@xseq_root.method("xseq_cancelBundle")
def cancel_bundle(c: Ctx, params: list[Any]) -> bool:
    (obj,) = p.positional(params, 1, 1)
    uuid = obj.get("replacementUuid") if isinstance(obj, dict) else None
    if not isinstance(uuid, str):
        raise p.InvalidParams("expected {replacementUuid}")
    return c.services.sequencer.cancel_bundle(uuid)


@xseq_root.method("xseq_getBundle")
def get_bundle(c: Ctx, params: list[Any]) -> Any:
    (value,) = p.positional(params, 1, 1)
    item = c.services.sequencer.book.find(p.hash32(value, "bundle hash"))
    if item is None:
        return None
    out = item_json(item)
    if item.kind is ItemKind.ENCRYPTED:
        out = encrypted_json(c.services, item, out)
    l1 = c.services.l1
    if l1 is not None and item.status == "included" and item.slot is not None:
        settled = l1.slot_status(item.slot)["status"]
        if settled in ("safe", "finalized"):
            out["status"] = settled
    return out


def message_json(item: Item, delivery: Delivery) -> dict[str, Any]:
    out = delivery.message.to_json()
    out.update(
        slot=None if item.slot is None else fmt.q(item.slot),
        itemHash=fmt.h(item.item_hash),
        originTx=fmt.h(origin_tx(item, delivery.leg)),
        deliveryTx=fmt.h(delivery.tx_hash),
        depth=delivery.depth,
        status="delivered" if item.status == "included" else item.status,
    )
    return out


@xseq_root.method("xseq_getMessage")
def get_message(c: Ctx, params: list[Any]) -> Any:
    (value,) = p.positional(params, 1, 1)
    found = c.services.sequencer.book.messages.get(p.hash32(value, "message id"))
    return None if found is None else message_json(*found)


@xseq_root.method("xseq_slotNumber")
def slot_number(c: Ctx, params: list[Any]) -> str:
    return fmt.q(c.services.sequencer.head_slot)


@xseq_root.method("xseq_rollups")
def rollups(c: Ctx, params: list[Any]) -> list[dict[str, Any]]:
    base = c.services.base_url
    return [
        {
            "chainId": cid,
            "name": r.name,
            "rpcUrl": f"{base}/rollup/{cid}",
            "mailbox": fmt.h(MAILBOX),
        }
        for cid, r in sorted(c.services.sequencer.rollups.items())
    ]


@xseq_root.method("xseq_sequencer")
def sequencer_info(c: Ctx, params: list[Any]) -> dict[str, Any]:
    seq = c.services.sequencer
    return {
        "address": seq.address,
        "chainIds": sorted(seq.rollups),
        "slotMode": c.services.driver.mode.value,
        "slotTime": c.services.driver.slot_time,
        "receiptDomain": seq.book.domain.to_json(),
        "epoch": seq.book.epoch,
        "maxBundleLegs": MAX_BUNDLE_LEGS,
        "mailbox": fmt.h(MAILBOX),
        "tokenBridge": fmt.h(TOKEN_BRIDGE),
        "referenceToken": fmt.h(REFERENCE_TOKEN),
        "systemAccount": fmt.h(SYSTEM),
        "maxMessageDepth": MAX_DEPTH,
        "l1": None if c.services.l1 is None else c.services.l1.status(),
        "replication": None if c.services.replica is None else c.services.replica.status(),
    }


def _slot_record(c: Ctx, number: int) -> Slot | None:
    for slot in reversed(c.services.sequencer.slots):
        if slot.number == number:
            return slot
    return None


@xseq_root.method("xseq_getSlot")
def get_slot(c: Ctx, params: list[Any]) -> Any:
    (ref_value,) = p.positional(params, 1, 1)
    seq = c.services.sequencer
    ref = p.block_ref(ref_value)
    number = 0 if ref.tag == "earliest" else seq.head_slot if ref.number is None else ref.number
    blocks = []
    for cid, rollup in sorted(seq.rollups.items()):
        record = rollup.block(number)
        if record is None:
            return None
        header = record.block.header
        blocks.append(
            {
                "chainId": cid,
                "blockNumber": fmt.q(record.number),
                "blockHash": fmt.h(header.hash),
                "stateRoot": fmt.h(header.state_root),
                "transactions": [fmt.h(t.hash) for t in record.txs],
            }
        )
    timestamp = next(iter(seq.rollups.values())).blocks[number].block.header.timestamp
    slot = _slot_record(c, number)
    messages = (
        []
        if slot is None
        else [
            message_json(i, d)
            for i in slot.items
            if i.status == "included" and i.outcome
            for d in i.outcome.deliveries
        ]
    )
    roots = (
        {}
        if slot is None
        else {
            str(st.chain_id): {
                str(o): {"outbox": fmt.h(out), "inbox": fmt.h(inn)}
                for o, out, inn in zip(st.counterparties, st.outbox_roots, st.inbox_roots)
            }
            for st in committed_states(seq.rollups, slot.blocks)
        }
    )
    return {
        "number": fmt.q(number),
        "timestamp": fmt.q(timestamp),
        "messages": messages,
        "mailboxRoots": roots,
        "l1": None if c.services.l1 is None else c.services.l1.slot_status(number),
        "rollups": blocks,
        "orderRoot": None if slot is None else fmt.h(slot.order_root),
        "items": []
        if slot is None
        else [
            {
                "itemHash": fmt.h(i.item_hash),
                "entryHash": fmt.h(i.entry.hash),
                "kind": i.kind.label,
                "status": i.status,
                "legs": [{"chainId": leg.chain_id, "txHash": fmt.h(leg.tx_hash)} for leg in i.legs],
            }
            for i in slot.items
        ],
    }


@xseq_root.method("xseq_getWithdrawalProof")
def get_withdrawal_proof(c: Ctx, params: list[Any]) -> Any:
    """What Portal.finalizeWithdrawal needs for each withdrawal a rollup transaction made;
    ``claimable`` once its slot is finalized on L1 (docs/deposits.md)."""
    (value,) = p.positional(params, 1, 1)
    proofs = withdrawal_proofs_for(c.services.sequencer, p.hash32(value))
    l1 = c.services.l1
    status = "pending" if l1 is None else l1.slot_status(proofs[0].slot)["status"]
    return {
        "slot": proofs[0].slot,
        "status": status,
        "claimable": status == "finalized",
        "portal": None if l1 is None else l1.portal,
        "withdrawals": [proof.to_json() for proof in proofs],
    }


xseq_rollup: Registry[Any] = Registry(dict(xseq_root.methods))

"""The independent verifier: reads only the L1, re-executes every posted slot on fresh
py-evm chains, and checks each slot's commitment and that mailbox roots pair up.

Inputs are the L1 (Settlement's ``SlotsPosted`` events and the calldata of the posting
transactions) and the rollup definitions (genesis); nothing is asked of the sequencer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from eth_abi import decode
from eth_hash.auto import keccak

from xseqd.chains.genesis import RollupSpec
from xseqd.chains.predeploys import MAILBOX
from xseqd.chains.rollup import Rollup
from xseqd.core.atomic import Leg, execute_bundle
from xseqd.core.commitment import PostedSlot, RollupState, decode_batch, slot_commitment
from xseqd.core.devchange import DevChange
from xseqd.core.messages import root_slot
from xseqd.core.order import item_hash, order_root
from xseqd.l1.client import L1Client

SLOTS_POSTED = "0x" + keccak(b"SlotsPosted(uint256,uint256,bytes32)").hex()
SLOTS = keccak(b"slots(uint256)")[:4]
SEQUENCER = keccak(b"sequencer()")[:4]


@dataclass(frozen=True)
class Verdict:
    """The verifier's answer: OK through ``checked`` slots, or the first bad slot."""

    ok: bool
    checked: int
    bad_slot: int | None = None
    reason: str = ""


def find_settlement(client: L1Client) -> str:
    """The first contract on L1 that answers like Settlement (devnet discovery)."""
    head = client.block_number()
    for number in range(head + 1):
        block = client.call("eth_getBlockByNumber", hex(number), True)
        for tx in block["transactions"]:
            if tx.get("to") is not None:
                continue
            receipt = client.call("eth_getTransactionReceipt", tx["hash"])
            address = receipt.get("contractAddress")
            if address and _answers_like_settlement(client, address):
                return str(address)
    raise LookupError("no Settlement contract found on this L1")


def _answers_like_settlement(client: L1Client, address: str) -> bool:
    try:
        return len(client.eth_call(address, SEQUENCER)) == 32
    except Exception:
        return False


def posted_batches(client: L1Client, settlement: str) -> list[tuple[int, list[PostedSlot]]]:
    """Every batch posted, in order: (first slot, decoded slots)."""
    from xseqd.l1.poster import POST

    logs = client.call(
        "eth_getLogs",
        {"address": settlement, "fromBlock": "0x0", "toBlock": "latest", "topics": [SLOTS_POSTED]},
    )
    out = []
    for log in logs:
        tx = client.call("eth_getTransactionByHash", log["transactionHash"])
        calldata = bytes.fromhex(tx["input"][2:])
        if calldata[:4] != POST:
            raise ValueError(f"posting tx {log['transactionHash']} is not a post() call")
        first, _commitments, data = decode(["uint256", "bytes32[]", "bytes"], calldata[4:])
        out.append((int(first), decode_batch(bytes(data))))
    return out


def verify(
    client: L1Client,
    specs: list[RollupSpec],
    settlement: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Verdict:
    settlement = settlement or find_settlement(client)
    batches = posted_batches(client, settlement)
    rollups = {spec.chain_id: Rollup(spec) for spec in specs}
    total = sum(len(slots) for _, slots in batches)
    checked = 0
    for first, slots in batches:
        for offset, posted in enumerate(slots):
            number = first + offset
            if posted.number != number:
                return Verdict(False, checked, number, "posted data does not match its slot")
            reason = _reexecute(rollups, posted)
            if reason is None:
                reason = _check(client, settlement, rollups, posted)
            if reason is not None:
                return Verdict(False, checked, number, reason)
            checked += 1
            if progress is not None:
                progress(checked, total)
    return Verdict(True, checked)


def _reexecute(rollups: dict[int, Rollup], posted: PostedSlot) -> str | None:
    for rollup in rollups.values():
        rollup.open_block(posted.timestamp)
    for i, item in enumerate(posted.items):
        if not item.included:
            continue
        if item.kind == 2:
            change = DevChange.from_json(json.loads(item.change))
            rollups[change.chain_id].apply_change(change.apply)
            continue
        legs = []
        for chain_id, raw, sender in item.legs:
            if chain_id not in rollups:
                return f"item {i}: unknown chain {chain_id}"
            rollup = rollups[chain_id]
            tx = rollup.vm_class_for(rollup.head.number + 1).get_transaction_builder().decode(raw)
            legs.append(Leg(chain_id, tx, bytes(tx.hash), sender or None))
        outcome = execute_bundle(dict(rollups), legs, abort_on_revert=item.kind == 1)
        if not outcome.included:
            return f"item {i} marked included does not execute: {outcome.abort}"
    for rollup in rollups.values():
        rollup.seal()
    return None


def _check(
    client: L1Client, settlement: str, rollups: dict[int, Rollup], posted: PostedSlot
) -> str | None:
    states = []
    roots: dict[int, dict[int, tuple[bytes, bytes]]] = {}
    for cid, rollup in sorted(rollups.items()):
        state = rollup.state_at(rollup.head.block.header)
        others = sorted(c for c in rollups if c != cid)
        outbox = tuple(
            state.get_storage(MAILBOX, root_slot(0, o)).to_bytes(32, "big")  # type: ignore[arg-type]
            for o in others
        )
        inbox = tuple(
            state.get_storage(MAILBOX, root_slot(1, o)).to_bytes(32, "big")  # type: ignore[arg-type]
            for o in others
        )
        roots[cid] = {o: (out, inn) for o, out, inn in zip(others, outbox, inbox)}
        states.append(
            RollupState(
                cid,
                rollup.head.hash,
                bytes(rollup.head.block.header.state_root),
                tuple(others),
                outbox,
                inbox,
            )
        )
    for a, toward in roots.items():
        for b, (out, _) in toward.items():
            if out != roots[b][a][1]:
                return f"mailbox roots do not pair up: {a}->{b}"
    hashes = []
    for item in posted.items:
        if item.kind == 2:
            hashes.append(DevChange.from_json(json.loads(item.change)).hash)
        else:
            tx_hashes = [keccak(raw) for _, raw, _ in item.legs]
            hashes.append(item_hash(tx_hashes, bundle=item.kind == 1))
    ours = slot_commitment(
        posted.number, posted.timestamp, order_root(posted.number, hashes), states
    )
    onchain, _, _, invalid = decode(
        ["bytes32", "bytes32", "uint64", "bool"],
        client.eth_call(settlement, SLOTS + posted.number.to_bytes(32, "big")),
    )
    if bytes(onchain) != ours:
        detail = ", ".join(
            f"{s.chain_id}: block 0x{s.block_hash.hex()[:12]}… state 0x{s.state_root.hex()[:12]}…"
            for s in states
        )
        return f"commitment on L1 differs from re-execution ({detail})"
    return None

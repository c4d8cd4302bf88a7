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
from xseqd.core.commitment import (
    POST_SELECTOR,
    PostedSlot,
    RollupState,
    decode_batch,
    posted_commitment,
)
from xseqd.core.devchange import DevChange
from xseqd.core.messages import root_slot
from xseqd.l1.client import L1Client

SLOTS_POSTED = "0x" + keccak(b"SlotsPosted(uint256,uint256,bytes32)").hex()
SLOTS = keccak(b"slots(uint256)")[:4]
SEQUENCER = keccak(b"sequencer()")[:4]
NEXT_SLOT = keccak(b"nextSlot()")[:4]


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


@dataclass(frozen=True)
class Finding:
    """What is wrong with a slot, and the challenge that proves it on L1."""

    slot: int
    fault: str  # "data", "mailbox", "state", "execution"
    reason: str
    batch: bytes = b""
    pair: tuple[int, int] = (0, 0)


def posted_batches(
    client: L1Client, settlement: str
) -> list[tuple[int, list[PostedSlot], list[list[RollupState]], bytes]]:
    """Every batch posted, in order: (first slot, slots, states, raw batch data)."""
    logs = client.call(
        "eth_getLogs",
        {"address": settlement, "fromBlock": "0x0", "toBlock": "latest", "topics": [SLOTS_POSTED]},
    )
    out = []
    for log in logs:
        tx = client.call("eth_getTransactionByHash", log["transactionHash"])
        calldata = bytes.fromhex(tx["input"][2:])
        if calldata[:4] != POST_SELECTOR:
            raise ValueError(f"posting tx {log['transactionHash']} is not a post() call")
        first, _commitments, data = decode(["uint256", "bytes32[]", "bytes"], calldata[4:])
        slots, states = decode_batch(bytes(data))
        out.append((int(first), slots, states, bytes(data)))
    return out


def verify(
    client: L1Client,
    specs: list[RollupSpec],
    settlement: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Verdict:
    verdict, _ = inspect(client, specs, settlement, progress)
    return verdict


def inspect(
    client: L1Client,
    specs: list[RollupSpec],
    settlement: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Verdict, Finding | None]:
    """Re-execute every posted, still-valid slot; the first problem found, if any."""
    settlement = settlement or find_settlement(client)
    batches = posted_batches(client, settlement)
    next_slot = int(decode(["uint256"], client.eth_call(settlement, NEXT_SLOT))[0])
    # batches re-posted after an invalidation replace the earlier ones from their slot on
    latest: dict[int, tuple[PostedSlot, list[RollupState], bytes]] = {}
    for first, slots, states, data in batches:
        for offset, (posted, st) in enumerate(zip(slots, states)):
            latest[first + offset] = (posted, st, data)
    numbers = [n for n in sorted(latest) if n < next_slot]
    rollups = {spec.chain_id: Rollup(spec) for spec in specs}
    checked = 0
    for number in numbers:
        posted, slot_states, data = latest[number]
        finding: Finding | None = None
        if posted.number != number:
            finding = Finding(number, "data", "posted data does not match its slot", data)
            return Verdict(False, checked, number, finding.reason), finding
        reason = _reexecute(rollups, posted)
        if reason is not None:
            finding = Finding(number, "execution", reason, data)
        else:
            finding = _check(client, settlement, rollups, posted, slot_states, data)
        if finding is not None:
            return Verdict(False, checked, number, finding.reason), finding
        checked += 1
        if progress is not None:
            progress(checked, len(numbers))
    return Verdict(True, checked), None


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


def _own_states(rollups: dict[int, Rollup]) -> list[RollupState]:
    states = []
    for cid, rollup in sorted(rollups.items()):
        state = rollup.state_at(rollup.head.block.header)
        others = tuple(sorted(c for c in rollups if c != cid))
        outbox = tuple(
            state.get_storage(MAILBOX, root_slot(0, o)).to_bytes(32, "big")  # type: ignore[arg-type]
            for o in others
        )
        inbox = tuple(
            state.get_storage(MAILBOX, root_slot(1, o)).to_bytes(32, "big")  # type: ignore[arg-type]
            for o in others
        )
        states.append(
            RollupState(
                cid,
                rollup.head.hash,
                bytes(rollup.head.block.header.state_root),
                others,
                outbox,
                inbox,
            )
        )
    return states


def _unpaired(states: list[RollupState]) -> tuple[int, int] | None:
    index = {s.chain_id: i for i, s in enumerate(states)}
    for i, a in enumerate(states):
        for b_id, out in zip(a.counterparties, a.outbox_roots):
            if b_id not in index:
                continue
            b = states[index[b_id]]
            inn = dict(zip(b.counterparties, b.inbox_roots)).get(a.chain_id, b"\x00" * 32)
            if out != inn:
                return i, index[b_id]
    return None


def _check(
    client: L1Client,
    settlement: str,
    rollups: dict[int, Rollup],
    posted: PostedSlot,
    posted_states: list[RollupState],
    data: bytes,
) -> Finding | None:
    onchain = bytes(
        decode(
            ["bytes32", "bytes32", "uint64", "bool"],
            client.eth_call(settlement, SLOTS + posted.number.to_bytes(32, "big")),
        )[0]
    )
    n = posted.number
    if posted_commitment(posted, posted_states) != onchain:
        return Finding(n, "data", "posted data does not match its commitment on L1", data)
    pair = _unpaired(posted_states)
    if pair is not None:
        a, b = posted_states[pair[0]].chain_id, posted_states[pair[1]].chain_id
        return Finding(
            n, "mailbox", f"committed mailbox roots do not pair up: {a}->{b}", data, pair
        )
    ours = _own_states(rollups)
    for mine, theirs in zip(ours, posted_states):
        if mine != theirs:
            what = "state root" if mine.state_root != theirs.state_root else "block or roots"
            return Finding(
                n,
                "state",
                f"rollup {mine.chain_id}: committed {what} differs from "
                f"re-execution (0x{theirs.state_root.hex()[:16]}… vs "
                f"0x{mine.state_root.hex()[:16]}…)",
                data,
            )
    return None

"""What a slot commits to on L1, and the encoding of the data that re-derives it (pure).

    mailbox     = keccak256(abi.encode(counterparties, outboxRoots, inboxRoots))
    rollupLeaf  = keccak256(abi.encode(chainId, blockHash, stateRoot, mailbox))
    commitment  = keccak256(abi.encode("xseqd/slot/v1", slot, timestamp, orderRoot, rollupLeaves))

Batch data (posted with the commitments, decodable by the Settlement contract) is
    abi.encode(SlotData[] slots, RollupState[][] states)
    SlotData    = (uint256 number, uint256 timestamp, Item[] items)
    Item        = (bool included, uint8 kind, Leg[] legs, bytes payload)   core/items.py
    Leg         = (uint256 chainId, bytes rawTx, address sender)
    RollupState = (uint256 chainId, bytes32 blockHash, bytes32 stateRoot,
                   uint256[] counterparties, bytes32[] outbox, bytes32[] inbox)
with ``kind`` an ``ItemKind`` (the devnet change's canonical JSON in ``payload``), sender
zero unless the leg ran as another account (impersonation); the order root chains the
items' entry hashes (core/items.py). Rollup states are in ascending chain-id order, one
per rollup of the deployment (Settlement.post refuses anything else).
Changing any of this is a breaking change (tests/l1/test_settlement.py checks the
contract computes the same commitment).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi import decode, encode
from eth_hash.auto import keccak

from xseqd.abi import selector
from xseqd.core.items import ENTRY_TYPE, Entry
from xseqd.core.order import order_root


@dataclass(frozen=True)
class RollupState:
    """One rollup's part of a slot commitment."""

    chain_id: int
    block_hash: bytes
    state_root: bytes
    counterparties: tuple[int, ...] = ()
    outbox_roots: tuple[bytes, ...] = ()
    inbox_roots: tuple[bytes, ...] = ()

    def values(self) -> tuple[Any, ...]:
        """The ``ROLLUP_STATE`` tuple (as eth_abi encodes it, as Settlement decodes it)."""
        return (
            self.chain_id,
            self.block_hash,
            self.state_root,
            list(self.counterparties),
            list(self.outbox_roots),
            list(self.inbox_roots),
        )

    def leaf(self) -> bytes:
        mailbox = keccak(
            encode(
                ["uint256[]", "bytes32[]", "bytes32[]"],
                [list(self.counterparties), list(self.outbox_roots), list(self.inbox_roots)],
            )
        )
        return keccak(
            encode(
                ["uint256", "bytes32", "bytes32", "bytes32"],
                [self.chain_id, self.block_hash, self.state_root, mailbox],
            )
        )


def slot_commitment(
    slot: int, timestamp: int, order_root: bytes, rollups: list[RollupState]
) -> bytes:
    """Leaves in the order given: canonical order is ascending chain id, which
    Settlement.post enforces (so Python and Solidity hash the same list)."""
    leaves = [r.leaf() for r in rollups]
    return keccak(
        encode(
            ["string", "uint256", "uint256", "bytes32", "bytes32[]"],
            ["xseqd/slot/v1", slot, timestamp, order_root, leaves],
        )
    )


@dataclass(frozen=True)
class PostedSlot:
    """A slot as posted in batch data: number, timestamp and its items' entries."""

    number: int
    timestamp: int
    items: tuple[Entry, ...]


class BatchError(ValueError):
    """Raised when batch data does not decode (the verifier reports it as a data fault)."""


POST_SELECTOR = selector("Settlement", "post")
SLOT_DATA = f"(uint256,uint256,{ENTRY_TYPE}[])"
ROLLUP_STATE = "(uint256,bytes32,bytes32,uint256[],bytes32[],bytes32[])"


def encode_batch(slots: list[PostedSlot], states: list[list[RollupState]]) -> bytes:
    slot_values = [(s.number, s.timestamp, [e.values() for e in s.items]) for s in slots]
    state_values = [[r.values() for r in per_slot] for per_slot in states]
    return encode([f"{SLOT_DATA}[]", f"{ROLLUP_STATE}[][]"], [slot_values, state_values])


def decode_batch(data: bytes) -> tuple[list[PostedSlot], list[list[RollupState]]]:
    """The slots and states of batch data; ``BatchError`` if it does not decode."""
    try:
        slot_values, state_values = decode([f"{SLOT_DATA}[]", f"{ROLLUP_STATE}[][]"], data)
        slots = [
            PostedSlot(int(n), int(ts), tuple(Entry.from_values(v) for v in items))
            for n, ts, items in slot_values
        ]
    except Exception as exc:
        raise BatchError(f"batch data does not decode: {exc}") from exc
    states = [
        [
            RollupState(
                int(c),
                bytes(bh),
                bytes(sr),
                tuple(int(x) for x in cps),
                tuple(bytes(x) for x in out),
                tuple(bytes(x) for x in inn),
            )
            for c, bh, sr, cps, out, inn in per_slot
        ]
        for per_slot in state_values
    ]
    return slots, states


def posted_commitment(slot: PostedSlot, states: list[RollupState]) -> bytes:
    """The commitment that posted data claims (as Settlement.commitmentOf computes it)."""
    hashes = [entry.hash for entry in slot.items]
    return slot_commitment(slot.number, slot.timestamp, order_root(slot.number, hashes), states)

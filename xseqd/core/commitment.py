"""What a slot commits to on L1, and the encoding of the data that re-derives it (pure).

    mailbox     = keccak256(abi.encode(counterparties, outboxRoots, inboxRoots))
    rollupLeaf  = keccak256(abi.encode(chainId, blockHash, stateRoot, mailbox))
    commitment  = keccak256(abi.encode("xseqd/slot/v1", slot, timestamp, orderRoot, rollupLeaves))

Batch data (posted with the commitments, decodable by the Settlement contract) is
    abi.encode(SlotData[] slots, RollupState[][] states)
    SlotData    = (uint256 number, uint256 timestamp, Item[] items)
    Item        = (bool included, uint8 kind, Leg[] legs, bytes change)
    Leg         = (uint256 chainId, bytes rawTx, address sender)
    RollupState = (uint256 chainId, bytes32 blockHash, bytes32 stateRoot,
                   uint256[] counterparties, bytes32[] outbox, bytes32[] inbox)
with kind 0 = transaction / 1 = bundle / 2 = devnet change (its canonical JSON in
`change`), sender zero unless the leg ran as another account (impersonation).
Changing any of this is a breaking change (tests/l1/test_settlement.py checks the
contract computes the same commitment).
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi import decode, encode
from eth_hash.auto import keccak

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
    leaves = [r.leaf() for r in sorted(rollups, key=lambda r: r.chain_id)]
    return keccak(
        encode(
            ["string", "uint256", "uint256", "bytes32", "bytes32[]"],
            ["xseqd/slot/v1", slot, timestamp, order_root, leaves],
        )
    )


@dataclass(frozen=True)
class PostedItem:
    included: bool
    kind: int
    legs: tuple[tuple[int, bytes, bytes], ...]
    change: bytes = b""


@dataclass(frozen=True)
class PostedSlot:
    number: int
    timestamp: int
    items: tuple[PostedItem, ...]


POST_SELECTOR = keccak(b"post(uint256,bytes32[],bytes)")[:4]  # Settlement.post
SLOT_DATA = "(uint256,uint256,(bool,uint8,(uint256,bytes,address)[],bytes)[])"
ROLLUP_STATE = "(uint256,bytes32,bytes32,uint256[],bytes32[],bytes32[])"
ZERO_ADDRESS = b"\x00" * 20


def encode_batch(slots: list[PostedSlot], states: list[list[RollupState]]) -> bytes:
    slot_values = [
        (
            s.number,
            s.timestamp,
            [
                (
                    i.included,
                    i.kind,
                    [(c, raw, sender or ZERO_ADDRESS) for c, raw, sender in i.legs],
                    i.change,
                )
                for i in s.items
            ],
        )
        for s in slots
    ]
    state_values = [
        [
            (
                r.chain_id,
                r.block_hash,
                r.state_root,
                list(r.counterparties),
                list(r.outbox_roots),
                list(r.inbox_roots),
            )
            for r in per_slot
        ]
        for per_slot in states
    ]
    return encode([f"{SLOT_DATA}[]", f"{ROLLUP_STATE}[][]"], [slot_values, state_values])


def decode_batch(data: bytes) -> tuple[list[PostedSlot], list[list[RollupState]]]:
    slot_values, state_values = decode([f"{SLOT_DATA}[]", f"{ROLLUP_STATE}[][]"], data)
    slots = []
    for number, timestamp, items in slot_values:
        posted = tuple(
            PostedItem(
                bool(included),
                int(kind),
                tuple(
                    (int(c), bytes(raw), b"" if _addr(sender) == ZERO_ADDRESS else _addr(sender))
                    for c, raw, sender in legs
                ),
                bytes(change),
            )
            for included, kind, legs, change in items
        )
        slots.append(PostedSlot(int(number), int(timestamp), posted))
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


def _addr(value: str | bytes) -> bytes:
    return bytes.fromhex(value[2:]) if isinstance(value, str) else bytes(value)


def posted_item_hash(item: PostedItem) -> bytes:
    """The order's item hash, from posted data (as Settlement.itemHash computes it)."""
    if item.kind == 2:
        return keccak(b"xseqd/devchange" + item.change)
    if item.kind == 0:
        return keccak(item.legs[0][1])
    return keccak(b"".join(keccak(raw) for _, raw, _ in item.legs))


def posted_commitment(slot: PostedSlot, states: list[RollupState]) -> bytes:
    """The commitment that posted data claims (as Settlement.commitmentOf computes it)."""
    hashes = [posted_item_hash(i) for i in slot.items]
    return slot_commitment(slot.number, slot.timestamp, order_root(slot.number, hashes), states)

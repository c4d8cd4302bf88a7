"""What a slot commits to on L1, and the encoding of the data that re-derives it (pure).

    mailbox     = keccak256(abi.encode(counterparties, outboxRoots, inboxRoots))
    rollupLeaf  = keccak256(abi.encode(chainId, blockHash, stateRoot, mailbox))
    commitment  = keccak256(abi.encode("xseqd/slot/v1", slot, timestamp, orderRoot, rollupLeaves))

Batch data (the calldata posted with the commitments) is RLP:
    [[slot, timestamp, [item, ...]], ...]
    item = [status, kind, [[chainId, rawTx, sender], ...], change]
with status 1 = included / 0 = aborted, kind 0 = transaction / 1 = bundle / 2 = devchange,
sender empty unless the leg ran as another account (impersonation), change the devchange
JSON (empty otherwise). Changing any of this is a breaking change (tests/core/test_commitment.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import rlp
from eth_abi import encode
from eth_hash.auto import keccak


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


def encode_batch(slots: list[PostedSlot]) -> bytes:
    return rlp.encode(
        [
            [
                s.number,
                s.timestamp,
                [
                    [
                        int(i.included),
                        i.kind,
                        [[c, raw, sender] for c, raw, sender in i.legs],
                        i.change,
                    ]
                    for i in s.items
                ],
            ]
            for s in slots
        ]
    )


def decode_batch(data: bytes) -> list[PostedSlot]:
    out = []
    for number, timestamp, items in rlp.decode(data):
        posted = []
        for included, kind, legs, change in items:
            posted.append(
                PostedItem(
                    bool(int.from_bytes(included, "big")),
                    int.from_bytes(kind, "big"),
                    tuple(
                        (int.from_bytes(c, "big"), bytes(raw), bytes(sender))
                        for c, raw, sender in legs
                    ),
                    bytes(change),
                )
            )
        out.append(
            PostedSlot(
                int.from_bytes(number, "big"), int.from_bytes(timestamp, "big"), tuple(posted)
            )
        )
    return out

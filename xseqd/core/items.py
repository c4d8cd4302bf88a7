"""Items: what the sequencer orders, as one core type with a named kind (pure).

Every slot is an ordered list of items. An item has a **kind** (``ItemKind``), its legs
(signed transactions, each with the rollup it runs on and, for impersonated sends, the
sender it ran as) and a kind-specific payload. Adding a kind means: one ``ItemKind``
member, its payload encoding, and its apply rule in ``core/transition.py``.

Two hashes, both pinned (tests/core/test_items.py):

    id        = txHash                                  (TRANSACTION)
              = keccak256(txHash_1 || ... || txHash_k)  (BUNDLE)
              = keccak256("xseqd/devchange" || payload) (DEVCHANGE)
              = keccak256("xseqd/deposit" || payload)   (DEPOSIT, core/deposits.py)
              = keccak256(envelope)                     (ENCRYPTED, core/encrypted.py)
    entryHash = keccak256(abi.encode(uint8 kind, bool included, bytes32 id,
                          (uint256 chainId, bytes32 txHash, address sender)[] legs,
                          bytes32 keccak256(payload)))

``id`` is what users look items up by (``bundleHash``); ``entryHash`` is what the order
chain commits to, so an order receipt binds the kind, whether the item was included,
every leg's rollup, transaction and sender, and the payload: a sequencer that later
posts the item as "not included", on another rollup or as another sender breaks the
receipt (Settlement.entryHash computes the same).

The one canonical encoding of an item is the ABI tuple ``ENTRY_TYPE``
(included, kind, legs, payload): it is the item's element of the L1 batch data
(core/commitment.py) and its body in the sequencer log (storage/codec.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from eth_abi import decode, encode
from eth_hash.auto import keccak

from xseqd.core.atomic import BundleOutcome, Leg
from xseqd.core.devchange import DevChange
from xseqd.core.encrypted import item_id as encrypted_id
from xseqd.core.order import OrderReceipt

ZERO_ADDRESS = b"\x00" * 20
LEG_TYPE = "(uint256,bytes,address)"
ENTRY_TYPE = f"(bool,uint8,{LEG_TYPE}[],bytes)"


class ItemKind(IntEnum):
    """What an item is; the number is its tag in every encoding."""

    TRANSACTION = 0
    BUNDLE = 1
    DEVCHANGE = 2
    DEPOSIT = 3  # an L1 Portal deposit, applied as a system call (core/deposits.py)
    ENCRYPTED = 4

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class RawLeg:
    """A leg as committed: rollup, the signed transaction's bytes, the sender it ran as
    when that is not the signature's signer (else empty)."""

    chain_id: int
    raw: bytes
    sender: bytes = b""

    @property
    def tx_hash(self) -> bytes:
        return keccak(self.raw)


def item_id(kind: ItemKind, tx_hashes: list[bytes], payload: bytes = b"") -> bytes:
    """The hash users know an item by (see module docstring)."""
    if kind is ItemKind.TRANSACTION:
        if len(tx_hashes) != 1:
            raise ValueError("a transaction item has exactly one leg")
        return tx_hashes[0]
    if kind is ItemKind.BUNDLE:
        return keccak(b"".join(tx_hashes))
    if kind is ItemKind.DEPOSIT:
        return keccak(b"xseqd/deposit" + payload)
    if kind is ItemKind.ENCRYPTED:
        return encrypted_id(payload)
    return keccak(b"xseqd/devchange" + payload)


@dataclass(frozen=True)
class Entry:
    """An item as committed in the order: kind, inclusion, legs, payload."""

    kind: ItemKind
    included: bool
    legs: tuple[RawLeg, ...] = ()
    payload: bytes = b""

    @property
    def id(self) -> bytes:
        return item_id(self.kind, [leg.tx_hash for leg in self.legs], self.payload)

    @property
    def hash(self) -> bytes:
        """What the order chain commits to: keccak of the ABI encoding of (uint8 kind, bool
        included, bytes32 id, (uint256 chainId, bytes32 txHash, address sender)[] legs,
        bytes32 keccak(payload)), written out word by word (eth_abi's ``encode`` cost more
        than the rest of ordering an item; tests/core/test_entry_hash.py checks they agree)."""
        words = [
            int(self.kind).to_bytes(32, "big"),
            (1 if self.included else 0).to_bytes(32, "big"),
            self.id,
            (5 * 32).to_bytes(32, "big"),  # where the legs array starts
            keccak(self.payload),
            len(self.legs).to_bytes(32, "big"),
        ]
        for g in self.legs:
            sender = g.sender or ZERO_ADDRESS
            if len(sender) != 20:
                raise ValueError("a leg's sender is 20 bytes")
            words += [g.chain_id.to_bytes(32, "big"), g.tx_hash, sender.rjust(32, b"\0")]
        return keccak(b"".join(words))

    @property
    def change(self) -> DevChange:
        if self.kind is not ItemKind.DEVCHANGE:
            raise ValueError(f"a {self.kind.label} item has no devnet change")
        return DevChange.from_canonical(self.payload)

    def values(self) -> tuple[Any, ...]:
        """The ``ENTRY_TYPE`` tuple (as eth_abi encodes it)."""
        legs = [(g.chain_id, g.raw, g.sender or ZERO_ADDRESS) for g in self.legs]
        return (self.included, int(self.kind), legs, self.payload)

    @classmethod
    def from_values(cls, values: Any) -> Entry:
        """The inverse of ``values``; raises ``ValueError`` for an unknown kind."""
        included, kind, legs, payload = values
        raw_legs = tuple(
            RawLeg(int(c), bytes(raw), b"" if _addr(s) == ZERO_ADDRESS else _addr(s))
            for c, raw, s in legs
        )
        return cls(ItemKind(int(kind)), bool(included), raw_legs, bytes(payload))

    def encode(self) -> bytes:
        return encode([ENTRY_TYPE], [self.values()])

    @classmethod
    def decode(cls, data: bytes) -> Entry:
        return cls.from_values(decode([ENTRY_TYPE], data)[0])


def _addr(value: str | bytes) -> bytes:
    return bytes.fromhex(value[2:]) if isinstance(value, str) else bytes(value)


Decode = Callable[[int, bytes], Any]  # (chain id, raw) -> a signed transaction


@dataclass
class Item:
    """One accepted submission as the sequencer tracks it: the committed parts (kind,
    legs, payload), its lifecycle (status, place, receipt, outcome) and bundle options."""

    kind: ItemKind
    legs: tuple[Leg, ...] = ()
    payload: bytes = b""
    status: str = "ordered"  # ordered -> included | aborted ; ordered -> cancelled | expired
    slot: int | None = None
    index: int | None = None
    receipt: OrderReceipt | None = None
    outcome: BundleOutcome | None = None
    min_slot: int | None = None
    max_slot: int | None = None
    replacement_uuid: str | None = None

    def __post_init__(self) -> None:
        self.item_hash = item_id(self.kind, [leg.tx_hash for leg in self.legs], self.payload)

    @classmethod
    def devchange(cls, change: DevChange) -> Item:
        return cls(ItemKind.DEVCHANGE, (), change.canonical(), "included")

    @property
    def bundle(self) -> bool:
        return self.kind is ItemKind.BUNDLE

    @property
    def change(self) -> DevChange | None:
        return DevChange.from_canonical(self.payload) if self.kind is ItemKind.DEVCHANGE else None

    @property
    def entry(self) -> Entry:
        legs = tuple(
            RawLeg(leg.chain_id, bytes(leg.tx.encode()), leg.sender or b"") for leg in self.legs
        )
        return Entry(self.kind, self.status == "included", legs, self.payload)

    @classmethod
    def from_entry(cls, entry: Entry, decode_tx: Decode) -> Item:
        """An item from its committed form (status ``included`` or ``aborted``)."""
        legs = []
        for g in entry.legs:
            tx = decode_tx(g.chain_id, g.raw)
            legs.append(Leg(g.chain_id, tx, bytes(tx.hash), g.sender or None))
        status = "included" if entry.included else "aborted"
        return cls(entry.kind, tuple(legs), entry.payload, status)

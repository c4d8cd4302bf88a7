"""``Entry.hash`` is written out word by word (core/items.py); it must stay exactly the
keccak of eth_abi's encoding that the order chain, the verifier and Settlement commit to."""

from __future__ import annotations

import random

import pytest
from eth_abi import encode
from eth_abi.exceptions import EncodingError
from eth_hash.auto import keccak

from xseqd.core.items import ZERO_ADDRESS, Entry, ItemKind, RawLeg


def abi_hash(entry: Entry) -> bytes:
    return keccak(
        encode(
            ["uint8", "bool", "bytes32", "(uint256,bytes32,address)[]", "bytes32"],
            [
                int(entry.kind),
                entry.included,
                entry.id,
                [(g.chain_id, g.tx_hash, g.sender or ZERO_ADDRESS) for g in entry.legs],
                keccak(entry.payload),
            ],
        )
    )


def test_matches_eth_abi() -> None:
    rng = random.Random(3)
    for i in range(200):
        kind = rng.choice([ItemKind.TRANSACTION, ItemKind.BUNDLE, ItemKind.DEVCHANGE])
        legs = tuple(
            RawLeg(
                rng.choice([1, 901, 902, 2**64 + 1]),
                bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))),
                rng.choice([b"", bytes(rng.randrange(256) for _ in range(20))]),
            )
            for _ in range(
                {ItemKind.TRANSACTION: 1, ItemKind.DEVCHANGE: 0}.get(kind, rng.randrange(1, 5))
            )
        )
        payload = bytes(rng.randrange(256) for _ in range(rng.choice([0, 5, 300])))
        entry = Entry(kind, rng.random() < 0.5, legs, payload)
        assert entry.hash == abi_hash(entry), i


def test_a_bad_sender_is_refused_like_eth_abi() -> None:
    entry = Entry(ItemKind.TRANSACTION, True, (RawLeg(901, b"\x01", b"\x02" * 19),))
    with pytest.raises(EncodingError):
        abi_hash(entry)
    with pytest.raises(ValueError):
        _ = entry.hash

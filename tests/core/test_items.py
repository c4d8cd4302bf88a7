"""Items: every kind round-trips through its one canonical encoding, ids and entry hashes
are pinned, and the entry hash binds every committed field (what an order receipt
promises)."""

from __future__ import annotations

from dataclasses import replace

from eth_account import Account
from eth_hash.auto import keccak
from hypothesis import given
from hypothesis import strategies as st

from xseqd.core.commitment import PostedSlot, decode_batch, encode_batch
from xseqd.core.devchange import DevChange
from xseqd.core.items import Entry, ItemKind, RawLeg, item_id

KEY = "0x" + "ab" * 32


def raw_tx(chain_id: int, nonce: int) -> bytes:
    tx = {
        "type": 2,
        "chainId": chain_id,
        "nonce": nonce,
        "to": "0x000000000000000000000000000000000000bEEF",
        "value": 1,
        "gas": 21000,
        "maxFeePerGas": 10**9,
        "maxPriorityFeePerGas": 0,
    }
    return bytes(Account.sign_transaction(tx, KEY).raw_transaction)


legs = st.lists(
    st.builds(
        RawLeg,
        st.sampled_from([901, 902, 903]),
        st.integers(0, 50).map(lambda n: raw_tx(901, n)),
        st.sampled_from([b"", b"\x42" * 20]),
    ),
    min_size=1,
    max_size=4,
)
changes = st.builds(
    DevChange,
    st.sampled_from([901, 902]),
    st.sampled_from(["balance", "nonce"]),
    st.just(b"\x42" * 20),
    st.integers(0, 2**64),
)
entries = st.one_of(
    st.builds(lambda g, inc: Entry(ItemKind.TRANSACTION, inc, tuple(g[:1])), legs, st.booleans()),
    st.builds(lambda g, inc: Entry(ItemKind.BUNDLE, inc, tuple(g)), legs, st.booleans()),
    changes.map(lambda c: Entry(ItemKind.DEVCHANGE, True, (), c.canonical())),
)


@given(entries)
def test_every_kind_round_trips_through_the_log_and_the_batch_encoding(entry: Entry) -> None:
    assert Entry.decode(entry.encode()) == entry
    slots, _ = decode_batch(encode_batch([PostedSlot(3, 99, (entry,))], [[]]))
    assert slots[0].items == (entry,)
    assert slots[0].items[0].hash == entry.hash


@given(entries)
def test_the_entry_hash_binds_every_committed_field(entry: Entry) -> None:
    assert replace(entry, included=not entry.included).hash != entry.hash
    if entry.legs:
        leg = entry.legs[0]
        others = (
            replace(leg, chain_id=leg.chain_id + 1),
            replace(leg, sender=b"\x07" * 20 if leg.sender != b"\x07" * 20 else b""),
        )
        for other in others:
            assert replace(entry, legs=(other,) + entry.legs[1:]).hash != entry.hash
    # a bundle of one leg and a transaction share the id, not the entry hash
    kinds = [ItemKind.TRANSACTION, ItemKind.BUNDLE] if len(entry.legs) == 1 else []
    for kind in [k for k in kinds if k is not entry.kind]:
        assert replace(entry, kind=kind).hash != entry.hash


def test_pinned_ids_and_entry_hashes() -> None:
    h1, h2 = b"\x11" * 32, b"\x22" * 32
    assert item_id(ItemKind.TRANSACTION, [h1]) == h1
    assert item_id(ItemKind.BUNDLE, [h1, h2]) == keccak(h1 + h2)
    assert item_id(ItemKind.DEVCHANGE, [], b"{}") == keccak(b"xseqd/devchange{}")
    tx = Entry(ItemKind.TRANSACTION, True, (RawLeg(901, b"\x02raw", b""),))
    assert tx.hash.hex() == PINNED_TX_ENTRY
    assert tx.id == keccak(b"\x02raw")


# the entry hash of a one-leg transaction item (pinned 2026-11, v2 of the order encoding)
PINNED_TX_ENTRY = "9e581d959b0a1c31691290d328c68c0266e023c61488e4be329de62308aa18b3"

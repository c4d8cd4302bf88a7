"""Deposits and withdrawals as pure values: the deposit payload and item id are pinned
(a changed vector is a breaking change of the log and the L1 batch format), the payload
has one encoding, the message id is the one Portal.sol and Mailbox.sol compute, and a
withdrawal proof's hash chain ends at the committed outbox root."""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_hash.auto import keccak
from hypothesis import given
from hypothesis import strategies as st

from xseqd.core.deposits import Deposit
from xseqd.core.items import Entry, ItemKind, item_id
from xseqd.core.messages import roll

DEPOSIT = Deposit(
    index=7,
    chain_id=901,
    nonce=3,
    sender=b"\x11" * 20,
    target=b"\x22" * 20,
    value=10**18,
    data=b"\xca\xfe",
    l1_tx_hash=b"\x33" * 32,
    log_index=2,
    l1_block=42,
)


def test_the_deposit_item_is_pinned() -> None:
    payload = DEPOSIT.encode()
    assert len(payload) == 384
    assert keccak(payload).hex() == PINNED_PAYLOAD_HASH
    assert item_id(ItemKind.DEPOSIT, [], payload) == keccak(b"xseqd/deposit" + payload)
    entry = Entry(ItemKind.DEPOSIT, True, (), payload)
    assert entry.id.hex() == PINNED_ID
    assert Entry.decode(entry.encode()) == entry
    assert ItemKind(3) is ItemKind.DEPOSIT and ItemKind.DEPOSIT.label == "deposit"


PINNED_PAYLOAD_HASH = "1c1a0512fda98290503a375c3169214780be57e59cad1b0af49065345e948795"
PINNED_ID = "ad98d8851c7d1fd0324a907a582ab3ad6e072630b9ba27c44864e029e19d9529"


def test_the_message_id_is_the_mailbox_and_portal_formula() -> None:
    expected = keccak(
        encode(
            ["uint256", "uint256", "uint256", "address", "address", "uint256", "bytes"],
            [900, 901, 3, b"\x11" * 20, b"\x22" * 20, 10**18, b"\xca\xfe"],
        )
    )
    assert DEPOSIT.message_id == expected


@given(
    st.builds(
        Deposit,
        st.integers(0, 2**64),
        st.sampled_from([901, 902]),
        st.integers(0, 2**64),
        st.binary(min_size=20, max_size=20),
        st.binary(min_size=20, max_size=20),
        st.integers(0, 2**128),
        st.binary(max_size=100),
        st.binary(min_size=32, max_size=32),
        st.integers(0, 1000),
        st.integers(0, 2**40),
    )
)
def test_a_deposit_round_trips_through_its_one_encoding(d: Deposit) -> None:
    assert Deposit.decode(d.encode()) == d


def test_a_payload_that_is_not_a_deposit_is_refused() -> None:
    with pytest.raises(ValueError):
        Deposit.decode(b"\x01\x02")
    with pytest.raises(ValueError):
        Deposit.decode(DEPOSIT.encode() + b"\x00" * 32)  # trailing bytes: not canonical


def test_a_withdrawal_chain_ends_at_the_committed_root() -> None:
    ids = [keccak(bytes([i])) for i in range(4)]
    before = keccak(b"root after the previous slot")
    committed = before
    for i in ids:
        committed = roll(committed, i)
    # the proof of the third: the chain through the first two, then the rest
    prev = roll(roll(before, ids[0]), ids[1])
    end = roll(prev, ids[2])
    for later in ids[3:]:
        end = roll(end, later)
    assert end == committed

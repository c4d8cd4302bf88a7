"""Python and Solidity compute the same thing: for random slots, Settlement's views on a
real anvil (``entryHash``, ``itemHash``, ``orderChain``, ``commitmentOf``) equal
core/items.py and core/commitment.py. Must never happen: a commitment the sequencer
posts that the contract computes differently (an honest slot then loses a challenge, or
a faulty one survives it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.l1.test_settlement import free_port
from xseqd.abi import calldata, decode_output
from xseqd.core.commitment import PostedSlot, RollupState, encode_batch, posted_commitment
from xseqd.core.devchange import DevChange
from xseqd.core.items import Entry, ItemKind, RawLeg
from xseqd.core.order import order_root
from xseqd.l1 import settlement
from xseqd.l1.anvil import Anvil
from xseqd.l1.client import L1Client, L1Error

OPERATOR = Account.from_key("0x" + "5e" * 32)


@pytest.fixture(scope="module")
def deployed() -> Iterator[tuple[L1Client, str]]:
    anvil = Anvil(free_port(), 900, block_time=0)
    anvil.start()
    try:
        client = L1Client(anvil.url)
        client.call("anvil_setBalance", OPERATOR.address, hex(10**24))
        address = settlement.deploy(
            client, OPERATOR, OPERATOR.address, 5, [901, 902, 903], b"\x01" * 32, {}
        )
        yield client, address
    finally:
        anvil.stop()


def view(client: L1Client, address: str, name: str, *args: Any) -> Any:
    return decode_output(
        "Settlement", name, client.eth_call(address, calldata("Settlement", name, *args))
    )[0]


raw = st.binary(min_size=1, max_size=120)
legs = st.lists(
    st.builds(RawLeg, st.sampled_from([901, 902, 903]), raw, st.sampled_from([b"", b"\x42" * 20])),
    min_size=1,
    max_size=3,
)
change = st.builds(
    DevChange,
    st.sampled_from([901, 902]),
    st.just("balance"),
    st.just(b"\x01" * 20),
    st.integers(0, 2**80),
)
entries = st.one_of(
    st.builds(lambda g, inc: Entry(ItemKind.TRANSACTION, inc, tuple(g[:1])), legs, st.booleans()),
    st.builds(lambda g, inc: Entry(ItemKind.BUNDLE, inc, tuple(g)), legs, st.booleans()),
    change.map(lambda c: Entry(ItemKind.DEVCHANGE, True, (), c.canonical())),
)
word = st.binary(min_size=32, max_size=32)


@st.composite
def states(draw: Any) -> list[RollupState]:
    ids = [901, 902, 903]
    out = []
    for cid in ids:
        others = tuple(c for c in ids if c != cid)
        out.append(
            RollupState(
                cid,
                draw(word),
                draw(word),
                others,
                tuple(draw(word) for _ in others),
                tuple(draw(word) for _ in others),
            )
        )
    return out


def state_values(rs: list[RollupState]) -> list[Any]:
    return [r.values() for r in rs]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    number=st.integers(1, 2**40),
    ts=st.integers(0, 2**40),
    items=st.lists(entries, max_size=5),
    rs=states(),
)
def test_the_contract_computes_the_same_commitment(
    deployed: tuple[L1Client, str], number: int, ts: int, items: list[Entry], rs: list[RollupState]
) -> None:
    client, address = deployed
    for entry in items:
        assert bytes(view(client, address, "entryHash", entry.values())) == entry.hash
        assert bytes(view(client, address, "itemHash", entry.values())) == entry.id
    values = [e.values() for e in items]
    chain = view(client, address, "orderChain", number, values, len(items))
    assert bytes(chain) == order_root(number, [e.hash for e in items])
    slot = PostedSlot(number, ts, tuple(items))
    onchain = view(client, address, "commitmentOf", (number, ts, values), state_values(rs))
    assert bytes(onchain) == posted_commitment(slot, rs)


def test_an_unbonded_sequencer_cannot_post(deployed: tuple[L1Client, str]) -> None:
    """Must never happen: a sequencer whose bond a challenge took keeps posting (its next
    fault would cost it nothing)."""
    client, _ = deployed
    address = settlement.deploy(
        client, OPERATOR, OPERATOR.address, 5, [901, 902, 903], b"\x01" * 32, {}, bond=0
    )
    states = [
        RollupState(c, b"\x00" * 32, b"\x00" * 32, tuple(o for o in (901, 902, 903) if o != c),
                    (b"\x00" * 32,) * 2, (b"\x00" * 32,) * 2)
        for c in (901, 902, 903)
    ]  # fmt: skip
    slot = PostedSlot(1, 7, ())
    post = settlement.post_calldata(
        1, 0, [posted_commitment(slot, states)], encode_batch([slot], [states])
    )
    with pytest.raises(L1Error, match="Unbonded"):
        client.send(OPERATOR, address, post)
    client.send(OPERATOR, address, settlement.bond_calldata(), value=10**18)
    client.send(OPERATOR, address, post, gas=2_000_000)
    assert settlement.Settlement(client, address).next_slot() == 2

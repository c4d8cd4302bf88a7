"""Copies of the open block's state (``chains/forks.py``: ``open_state_copy`` / ``fork``), which
``pending`` calls and bundle simulations run on off the event loop: a copy equals the
working state when it is taken, never sees later work, changes on it never reach the
block, and taking copies between transactions changes nothing the block's transactions
do: blocks built that way re-import with py-evm's ``import_block`` to identical hashes,
gas and storage as blocks built without them."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.chains.test_workspace import (
    INCREMENT,
    KEYS,
    Signer,
    deploy_counter,
    new_rollup,
    reimport,
)
from xseqd.chains.forks import fork, open_state_copy
from xseqd.chains.rollup import Rollup

BOB = b"\xb0" * 20


def build(copies_after: set[int], steps: list[tuple[int, bool]]) -> tuple[Rollup, list[Any]]:
    """A counter, then one block of increments (key index, or a transfer when False);
    a state copy is taken (and poked at) after each step in ``copies_after``."""
    rollup = new_rollup()
    signer = Signer(rollup)
    counter = deploy_counter(rollup, signer)
    rollup.open_block(2)
    receipts = []
    for i, (who, increment) in enumerate(steps):
        tx = (
            signer.tx(KEYS[who], counter, INCREMENT)
            if increment
            else signer.tx(KEYS[who], BOB, value=1)
        )
        receipts.append(rollup.apply(tx).receipt)
        if i in copies_after:
            ob = rollup.open
            assert ob is not None
            copy = open_state_copy(rollup)
            assert copy.state_root == ob.workspace.state.state_root
            assert copy.get_storage(counter, 0) == ob.workspace.state.get_storage(counter, 0)
            copy.set_storage(counter, 0, 999)  # a copy's changes stay in the copy
            copy.set_balance(BOB, 12345)
            assert ob.workspace.state.get_storage(counter, 0) != 999
    rollup.seal()
    return rollup, receipts


steps = st.lists(st.tuples(st.integers(0, 3), st.booleans()), min_size=1, max_size=8)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=steps, data=st.data())
def test_copies_between_transactions_change_nothing(
    steps: list[tuple[int, bool]], data: Any
) -> None:
    copies = set(data.draw(st.sets(st.integers(0, len(steps) - 1))))
    plain, plain_receipts = build(set(), steps)
    copied, copied_receipts = build(copies, steps)
    assert [r.gas_used for r in copied_receipts] == [r.gas_used for r in plain_receipts]
    assert copied.head.hash == plain.head.hash
    assert reimport(copied) == [r.hash for r in copied.blocks[1:]]


def test_a_copy_never_sees_later_work_and_a_fork_never_reaches_the_block() -> None:
    rollup = new_rollup()
    signer = Signer(rollup)
    counter = deploy_counter(rollup, signer)
    rollup.open_block(2)
    assert rollup.apply(signer.tx(KEYS[1], counter, INCREMENT)).success
    copy = open_state_copy(rollup)
    assert rollup.apply(signer.tx(KEYS[2], counter, INCREMENT)).success
    assert copy.get_storage(counter, 0) == 1
    assert rollup.open is not None and rollup.open.workspace.state.get_storage(counter, 0) == 2
    # a fork applies a transaction on its own copy of the open block
    twin = fork(rollup)
    applied = twin.apply(signer.tx(KEYS[3], counter, INCREMENT))
    assert applied.success and twin.open is not None
    assert twin.open.workspace.state.get_storage(counter, 0) == 3
    assert len(twin.open.txs) == 3 and len(rollup.open.txs) == 2
    assert rollup.open.workspace.state.get_storage(counter, 0) == 2
    record = rollup.seal()
    assert len(record.txs) == 2
    assert rollup.state_at(record.block.header).get_storage(counter, 0) == 2
    assert reimport(rollup) == [r.hash for r in rollup.blocks[1:]]

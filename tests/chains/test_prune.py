"""State pruning (chains/prune.py, sequencer/retention.py) on a rollup: every kept
block's state stays whole, states below the floor are refused, the generational sweep
keeps exactly what a full mark and sweep keeps, and a pruned rollup seals the same blocks
as one that never pruned.

Must never happen: a kept state missing a node (a read would fail or differ), a pruned
state read answering a value, a different block hash because of pruning.
"""

from __future__ import annotations

import random

import pytest
from eth_typing import Address

from tests.chains.test_workspace import KEYS, Signer, new_rollup
from xseqd.chains.prune import TrackedStore, mark_trie
from xseqd.chains.retained import StateUnavailable
from xseqd.chains.rollup import Rollup
from xseqd.sequencer.retention import prune_rollup

WATCHED = ((b"\x42" * 20, 0),)


def store(rollup: Rollup) -> TrackedStore:
    kv = rollup.chaindb.db.wrapped_db.kv_store  # type: ignore[attr-defined]
    assert isinstance(kv, TrackedStore)
    return kv


def sinks(n: int) -> list[bytes]:
    return [bytes([0xAB, i]) + b"\x00" * 18 for i in range(n)]


def grow(rollup: Rollup, blocks: int, seed: int) -> None:
    """Blocks with 0-3 transfers each to a few recipients (some idle blocks)."""
    rng = random.Random(seed)
    signer = Signer(rollup)
    for _ in range(blocks):
        rollup.open_block(int(rollup.head.block.header.timestamp) + 1)
        for _ in range(rng.randrange(4)):
            to = rng.choice(sinks(6))
            assert rollup.apply(signer.tx(KEYS[rng.randrange(3)], to, value=7, gas=21_000)).success
        rollup.seal()


def balances(rollup: Rollup, number: int) -> list[int]:
    state = rollup.state_at(rollup.blocks[number].block.header)
    who = [k.address for k in KEYS[:3]]
    return [state.get_balance(Address(bytes.fromhex(a[2:]))) for a in who] + [
        state.get_balance(Address(s)) for s in sinks(6)
    ]


def test_pruning_keeps_the_window_whole_and_refuses_older_states() -> None:
    pruned, twin = new_rollup(), new_rollup()
    for r in (pruned, twin):
        grow(r, 60, seed=1)
    before = {n: balances(pruned, n) for n in range(len(pruned.blocks))}
    size = len(pruned.chaindb.db.wrapped_db.kv_store)  # type: ignore[attr-defined]
    stats = prune_rollup(pruned, 10, set(), pruned.head.number, True, WATCHED)
    assert stats.deleted > 0 and len(store(pruned)) < size
    head = pruned.head.number
    assert pruned.state_floor == head - 9
    for n in range(head - 9, head + 1):
        assert balances(pruned, n) == before[n]
    for n in (0, head - 10):
        with pytest.raises(StateUnavailable, match="missing trie node"):
            balances(pruned, n)
    # pruning changes nothing that is executed: both go on to the same blocks
    for r in (pruned, twin):
        grow(r, 5, seed=2)
    assert [b.hash for b in pruned.blocks] == [b.hash for b in twin.blocks]


def test_generational_prunes_keep_exactly_what_a_full_sweep_keeps() -> None:
    young, full, never = new_rollup(), new_rollup(), new_rollup()
    for step in range(6):
        for r in (young, full, never):
            grow(r, 12, seed=10 + step)
        prune_rollup(young, 8, set(), young.head.number, step == 0, WATCHED)
        prune_rollup(full, 8, set(), full.head.number, True, WATCHED)
    kept_full = set(store(full))
    assert set(store(young)) >= kept_full  # older garbage waits for the next full sweep
    prune_rollup(young, 8, set(), young.head.number, True, WATCHED)
    assert set(store(young)) == kept_full
    # and every kept state is whole: it has every node the unpruned twin's state has
    everything = never.chaindb.db.wrapped_db.kv_store  # type: ignore[attr-defined]
    for n in range(young.state_floor, young.head.number + 1):
        root = bytes(young.blocks[n].block.header.state_root)
        ours: set[bytes] = set()
        theirs: set[bytes] = set()
        mark_trie(store(young), root, ours, None, accounts=True)
        mark_trie(everything, root, theirs, None, accounts=True)
        assert ours == theirs and root in ours


def test_a_pinned_block_keeps_its_state_below_the_floor() -> None:
    rollup = new_rollup()
    grow(rollup, 30, seed=3)
    pin = 12
    expected = balances(rollup, pin)
    prune_rollup(rollup, 5, {pin}, rollup.head.number, True, WATCHED)
    grow(rollup, 20, seed=4)
    prune_rollup(rollup, 5, {pin}, rollup.head.number, True, WATCHED)
    assert rollup.state_floor > pin
    assert balances(rollup, pin) == expected
    with pytest.raises(StateUnavailable):
        balances(rollup, pin + 1)
    rollup.rewind(pin)  # evm_revert to it: the state is there, and the chain goes on
    assert balances(rollup, pin) == expected
    grow(rollup, 3, seed=5)


def test_a_full_sweep_leaves_genesis_keys_and_keeps_what_a_whole_sweep_keeps() -> None:
    full, whole = new_rollup(), new_rollup()
    for r in (full, whole):
        grow(r, 40, seed=20)
    prune_rollup(full, 6, set(), full.head.number, True, WATCHED)
    prune_rollup(whole, 6, set(), whole.head.number, True, WATCHED, whole=True)
    origin = store(full).origin
    assert store(whole).lost and not store(full).lost  # only the whole sweep frees genesis
    assert set(store(whole)) <= set(store(full))
    assert set(store(full)) - set(store(whole)) <= origin  # what is left: genesis garbage
    for n in range(full.state_floor, full.head.number + 1):
        assert balances(full, n) == balances(whole, n)
    for r in (full, whole):
        grow(r, 5, seed=21)
    assert full.head.hash == whole.head.hash

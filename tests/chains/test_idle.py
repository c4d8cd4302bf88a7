"""Idle blocks (chains/idle.py): an untouched rollup seals a bare header over its
unchanged state, and that block is byte for byte the one py-evm's full block machinery
builds, and re-imports with py-evm's validation.

Must never happen: the fast path gives a different block hash than the full path (the
verifier and replays would then disagree with the sequencer), or is taken where an empty
block does change state (a system contract whose pre-processing writes storage).
"""

from __future__ import annotations

from typing import Any

import rlp
from eth.vm.forks.cancun.constants import BEACON_ROOTS_ADDRESS, BEACON_ROOTS_CONTRACT_CODE
from eth_typing import Address
from hypothesis import given, settings
from hypothesis import strategies as st
from trie import HexaryTrie

from tests.chains.test_workspace import KEYS, Signer, new_rollup, reimport
from xseqd.chains.idle import changes_nothing, trie_get
from xseqd.chains.rollup import Rollup

SINK = b"\xbe" * 20


def run_slots(rollup: Rollup, plan: list[str], force_full: bool) -> list[bool]:
    """Seal one block per entry of ``plan`` ("idle", "tx", "change", "beacon"); returns,
    per block, whether it was sealed as a bare header. ``force_full``: always through
    py-evm's block machinery."""
    signer = Signer(rollup)
    fast: list[bool] = []
    lean_seal = rollup._seal_empty
    if force_full:
        rollup._changes_nothing = lambda number: False  # type: ignore[method-assign]

    def seal_empty(ob: Any) -> Any:
        fast[-1] = True
        return lean_seal(ob)

    rollup._seal_empty = seal_empty  # type: ignore[method-assign]
    for ts, step in enumerate(plan, start=1):
        ob = rollup.open_block(ts)
        if step == "tx":
            assert rollup.apply(signer.tx(KEYS[1], SINK, value=ts, gas=21_000)).success
        elif step == "change":
            rollup.apply_change(lambda s, ts=ts: s.set_balance(Address(SINK), 10**18 + ts))
        elif step == "beacon":
            rollup.apply_change(
                lambda s: s.set_code(Address(BEACON_ROOTS_ADDRESS), BEACON_ROOTS_CONTRACT_CODE)
            )
        if step == "idle" and ts % 2:
            assert ob.vm is not None  # a built VM that nothing used seals as a header too
        fast.append(False)
        rollup.seal()
    return fast


PLAN = ["idle", "idle", "tx", "idle", "change", "idle", "tx", "tx", "idle"]


def test_idle_blocks_equal_the_full_path_and_reimport() -> None:
    lean, full = new_rollup(), new_rollup()
    fast = run_slots(lean, PLAN, force_full=False)
    assert run_slots(full, PLAN, force_full=True) == [False] * len(PLAN)
    assert fast == [step == "idle" for step in PLAN]
    assert [rlp.encode(b.block) for b in lean.blocks] == [rlp.encode(b.block) for b in full.blocks]
    for record in lean.blocks[1:]:
        if not record.txs:
            parent = lean.blocks[record.number - 1].block.header
            if PLAN[record.number - 1] == "idle":
                assert record.block.header.state_root == parent.state_root


def test_idle_blocks_reimport_with_py_evm_validation() -> None:
    # no devnet state changes here: those are not transactions py-evm could re-execute
    plan = ["idle", "tx", "idle", "idle", "tx", "idle"]
    lean = new_rollup()
    assert run_slots(lean, plan, force_full=False) == [s == "idle" for s in plan]
    assert reimport(lean) == [b.hash for b in lean.blocks[1:]]


def test_a_system_contract_makes_empty_blocks_take_the_full_path() -> None:
    plan = ["idle", "beacon", "idle", "idle"]
    lean, full = new_rollup(), new_rollup()
    run_slots(lean, plan, force_full=False)
    run_slots(full, plan, force_full=True)
    assert [b.hash for b in lean.blocks] == [b.hash for b in full.blocks]
    # the beacon roots contract records each block's timestamp: state changes every block
    roots = [bytes(b.block.header.state_root) for b in lean.blocks[2:]]
    assert len(set(roots)) == len(roots)


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.binary(min_size=1, max_size=6), st.binary(min_size=1, max_size=40), max_size=40
    ),  # fmt: skip
    st.lists(st.binary(min_size=1, max_size=6), max_size=10),
)
def test_trie_get_reads_what_py_evms_trie_holds(
    entries: dict[bytes, bytes], others: list[bytes]
) -> None:
    """Short keys and values make embedded nodes, leaves, extensions and branch values;
    every stored key reads back its value and every other key reads nothing."""
    db: dict[bytes, bytes] = {}
    trie = HexaryTrie(db)
    for key, value in entries.items():
        trie[key] = value
    for key, value in entries.items():
        assert trie_get(db, trie.root_hash, key) == value
    for key in others:
        assert trie_get(db, trie.root_hash, key) == (entries.get(key) or None)


def test_a_deployed_system_contract_is_seen_in_the_account_trie() -> None:
    """changes_nothing reads code hashes from the trie: it agrees with py-evm's state
    before and after the beacon roots contract is deployed."""
    rollup = new_rollup()
    run_slots(rollup, ["tx", "idle", "beacon"], force_full=False)
    vm_class = rollup.vm_class_for(rollup.head.number + 1)
    before, after = (b.block.header for b in rollup.blocks[-2:])
    db = rollup.chaindb.db
    assert changes_nothing(vm_class, db, bytes(before.state_root))
    assert not changes_nothing(vm_class, db, bytes(after.state_root))
    assert rollup.state_at(after).get_code(Address(BEACON_ROOTS_ADDRESS))

"""The tracked store (chains/store.py) and snapshot bases written relative to the genesis
state (chains/snapshot.py): a restart that builds the genesis again and loads such a base
(and the deltas after it) holds exactly the store that was snapshotted, after pruning
deleted genesis keys too; a base does not carry the genesis; a base over another genesis
is refused; a whole base from before still loads. Also: prune's trie-node decoder answers
what ``rlp.decode`` answers.

Must never happen: a restored store that differs from the original by one key or value
(a missing trie node or a wrong head after restart), or a base applied over the wrong
genesis without an error.
"""

from __future__ import annotations

import pickle
import zlib

import pytest
import rlp
from eth_hash.auto import keccak

from tests.chains.test_prune import WATCHED, grow, store
from tests.chains.test_workspace import KEYS, new_rollup
from xseqd.chains.checkpoint import Checkpoint, split
from xseqd.chains.genesis import RollupSpec, devnet_genesis
from xseqd.chains.prune import decode_node
from xseqd.chains.rollup import Rollup
from xseqd.chains.snapshot import export_blocks, export_kv, export_rollups, import_rollups
from xseqd.chains.store import TrackedStore
from xseqd.sequencer.retention import prune_rollup


def snapshot(rollup: Rollup, base: bool, exported: dict[int, int]) -> bytes:
    return export_rollups({901: rollup}, base, exported)


def restored(chain: list[bytes], genesis_of: Rollup | None = None) -> Rollup:
    fresh = new_rollup() if genesis_of is None else Rollup(genesis_of.spec)
    import_rollups({901: fresh}, chain)
    return fresh


def pack(data: object) -> bytes:
    return zlib.compress(pickle.dumps(data), 1)


def state_part(payload: bytes) -> dict[str, object]:
    parts = split(payload)
    assert parts is not None
    state: dict[int, dict[str, object]] = pickle.loads(zlib.decompress(parts.state))
    return state[901]


def test_a_relative_base_and_its_deltas_restore_exactly_the_store_after_pruning() -> None:
    rollup = new_rollup()
    grow(rollup, 25, seed=1)
    # a whole sweep deletes genesis nodes the head no longer reaches: the base lists them
    prune_rollup(rollup, 6, set(), rollup.head.number, True, WATCHED, whole=True)
    assert store(rollup).lost
    base = snapshot(rollup, True, {})
    exported = {901: len(rollup.blocks)}
    grow(rollup, 10, seed=2)
    prune_rollup(rollup, 6, set(), rollup.head.number, False, WATCHED)
    delta = snapshot(rollup, False, exported)
    again = restored([base, delta])
    assert dict(store(again)) == dict(store(rollup))
    assert [b.hash for b in again.blocks] == [b.hash for b in rollup.blocks]
    # the restored store tracks fresh and lost keys as the original did: a base of it
    # restores the same store once more, and both go on to the same blocks
    assert (store(again).fresh, store(again).lost) == (store(rollup).fresh, store(rollup).lost)
    third = restored([snapshot(again, True, {})])
    assert dict(store(third)) == dict(store(rollup))
    for r in (rollup, again, third):
        grow(r, 4, seed=3)
    assert len({r.head.hash for r in (rollup, again, third)}) == 1


def test_a_base_does_not_carry_the_genesis_state() -> None:
    many = [bytes([0xAA, i >> 8, i & 0xFF]) + b"\x00" * 17 for i in range(1500)]
    genesis = devnet_genesis([bytes.fromhex(k.address[2:]) for k in KEYS] + many)
    rollup = Rollup(RollupSpec(901, "t", genesis))
    grow(rollup, 5, seed=4)
    kv = store(rollup)
    part = state_part(snapshot(rollup, True, {}))
    entries = part["kv"]
    assert isinstance(entries, dict)
    assert len(kv) > 3000 and len(entries) < len(kv) // 10
    assert not set(entries) & {k for k in kv.origin if len(k) == 32}
    again = restored([snapshot(rollup, True, {})], genesis_of=rollup)
    assert dict(store(again)) == dict(kv)


def test_a_relative_base_over_another_genesis_is_refused() -> None:
    rollup = new_rollup()
    grow(rollup, 3, seed=5)
    other = Rollup(RollupSpec(901, "t", devnet_genesis([b"\x01" * 20])))
    with pytest.raises(RuntimeError, match="another genesis"):
        import_rollups({901: other}, [snapshot(rollup, True, {})])


def test_a_whole_base_from_before_still_loads_and_deltas_apply_on_it() -> None:
    rollup = new_rollup()
    grow(rollup, 12, seed=6)
    prune_rollup(rollup, 4, set(), rollup.head.number, True, WATCHED, whole=True)
    whole = {901: export_kv(rollup, True)}  # every key, as bases were written before
    assert whole[901]["origin"] is None and len(whole[901]["kv"]) == len(store(rollup))
    blocks = {901: export_blocks(rollup, 0), "extra": None}
    base = Checkpoint(True, True, pack(whole), pack(blocks)).encode()
    store(rollup).dirty, store(rollup).gone = set(), set()
    exported = {901: len(rollup.blocks)}
    grow(rollup, 5, seed=7)
    again = restored([base, snapshot(rollup, False, exported)])
    assert dict(store(again)) == dict(store(rollup))
    assert store(again).lost == store(rollup).lost
    assert dict(store(restored([snapshot(again, True, {})]))) == dict(store(rollup))


def test_tracking_of_origin_keys() -> None:
    node = rlp.encode([b"x" * 40])
    kv = TrackedStore({keccak(node): node, b"head": b"1"})
    kv[b"head"] = b"2"  # an origin key that is not content-addressed: fresh once written
    del kv[keccak(node)]
    assert kv.relative_to_origin() == ({b"head": b"2"}, (keccak(node),))
    kv[keccak(node)] = node  # back: nothing to delete any more
    kv[b"new"] = b"3"
    assert kv.relative_to_origin() == ({b"head": b"2", b"new": b"3"}, ())
    other = TrackedStore({keccak(node): node, b"head": b"1"})
    other.restore_relative(*kv.relative_to_origin(), len(kv))
    assert dict(other) == dict(kv)
    with pytest.raises(RuntimeError, match="did not start from the same genesis"):
        TrackedStore({b"head": b"1"}).restore_relative(*kv.relative_to_origin(), len(kv))


def test_decode_node_answers_what_rlp_decode_answers() -> None:
    rollup = new_rollup()
    grow(rollup, 20, seed=8)
    checked = 0
    for key, value in store(rollup).items():
        if len(key) == 32 and value:
            try:
                expected = rlp.decode(value)
            except rlp.exceptions.DecodingError:
                continue  # code, not RLP
            assert decode_node(value) == expected
            checked += 1
    assert checked > 100
    for item in (
        [b"", b"a", b"\x7f", b"\x80", b"x" * 55, b"y" * 56, b"z" * 300, [b"q", [b"r"]]],
        [[b"w" * 60] * 3, b""],
        [b"k" * 1000] * 70,
        b"plain",
        [],
    ):
        assert decode_node(rlp.encode(item)) == item

"""The lazy block index (chains/blockindex.py): a rollup restored from a snapshot holds
its blocks encoded and decodes one when it is read, answering exactly as the rollup that
sealed them; a snapshot from before blocks carried their hashes still loads.

Must never happen: a restored rollup that answers a block, a transaction or a rewind
differently from the original.
"""

from __future__ import annotations

import rlp

from tests.chains.test_workspace import KEYS, Signer, new_rollup
from xseqd.chains.blockindex import Stored
from xseqd.chains.rollup import Rollup
from xseqd.chains.snapshot import export_state, import_state

SINK = b"\xbe" * 20


def sealed_rollup() -> Rollup:
    rollup = new_rollup()
    signer = Signer(rollup)
    for ts in range(1, 7):
        rollup.open_block(ts)
        for _ in range(ts % 3):
            assert rollup.apply(signer.tx(KEYS[1], SINK, value=ts, gas=21_000)).success
        rollup.seal()
    return rollup


def test_restored_blocks_stay_encoded_until_read_and_equal_the_original() -> None:
    original = sealed_rollup()
    restored = new_rollup()
    import_state(restored, export_state(original))
    assert all(isinstance(item, Stored) for item in restored.blocks._items)
    assert len(restored.blocks) == len(original.blocks)
    assert restored.by_hash == original.by_hash
    some_tx = original.head.txs[0].hash if original.head.txs else original.blocks[5].txs[0].hash
    assert some_tx in restored.txs and len(restored.txs) == len(original.txs)
    record = restored.txs[some_tx]  # decodes that block only
    assert record.receipt == original.txs[some_tx].receipt
    assert sum(not isinstance(i, Stored) for i in restored.blocks._items) == 1
    for a, b in zip(original.blocks, restored.blocks, strict=True):
        assert rlp.encode(a.block) == rlp.encode(b.block)
        assert (a.hash, a.size, [t.hash for t in a.txs]) == (
            b.hash,
            b.size,
            [t.hash for t in b.txs],
        )
    # a restored rollup goes on sealing to the same blocks, and exports the same again
    assert export_state(restored)["blocks"] == export_state(original)["blocks"]
    for r in (original, restored):
        r.open_block(100)
        r.seal()
    assert original.head.hash == restored.head.hash


def test_rewind_of_encoded_blocks_forgets_them() -> None:
    original = sealed_rollup()
    restored = new_rollup()
    import_state(restored, export_state(original))
    dropped_txs = [t.hash for b in original.blocks[3:] for t in b.txs]
    dropped = restored.rewind(2)
    assert [b.hash for b in dropped] == [b.hash for b in original.blocks[3:]]
    assert restored.head.hash == original.blocks[2].hash
    assert not any(h in restored.txs for h in dropped_txs)
    assert all(b.hash not in restored.by_hash for b in dropped)


def test_a_snapshot_without_block_hashes_still_loads() -> None:
    original = sealed_rollup()
    data = export_state(original)
    data["blocks"] = [
        (raw, list(receipts), list(senders)) for raw, receipts, senders, _, _ in data["blocks"]
    ]
    restored = new_rollup()
    import_state(restored, data)
    assert [b.hash for b in restored.blocks] == [b.hash for b in original.blocks]
    assert set(original.txs._where) == set(restored.txs._where)

"""State snapshots of all rollups between slots: what the sequencer log keeps every
``--snapshot-every`` slots so that restart re-executes only the tail."""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Mapping
from typing import Any

from xseqd.chains.blockindex import Blocks, Stored, Txs
from xseqd.chains.rollup import Rollup, stored_of


def export_rollups(rollups: Mapping[int, Rollup]) -> bytes:
    """All rollups' state and block indexes (no block may be open)."""
    data = {cid: export_state(r) for cid, r in rollups.items()}
    return zlib.compress(pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL), 1)


def import_rollups(rollups: Mapping[int, Rollup], payload: bytes) -> None:
    """Replace every rollup's state by the snapshot's (our own log: trusted input)."""
    data = pickle.loads(zlib.decompress(payload))
    for cid, rollup in rollups.items():
        import_state(rollup, data[cid])


def export_state(self: Rollup) -> dict[str, Any]:
    """Everything needed to resume this rollup without re-execution: the key-value
    store under py-evm (tries, headers) and our block index, each block as its bytes,
    hash and transaction hashes (chains/blockindex.py). Only between slots."""
    if self._open is not None:
        raise RuntimeError("cannot export a rollup with an open block")
    kv = self.chaindb.db.wrapped_db.kv_store  # type: ignore[attr-defined]
    blocks = []
    for n in range(len(self.blocks)):
        b = self.blocks.stored(n, stored_of)
        blocks.append((b.raw_block, b.raw_receipts, b.senders, b.hash, b.tx_hashes))
    return {"kv": dict(kv), "blocks": blocks}


def import_state(self: Rollup, data: dict[str, Any]) -> None:
    """Resume from ``export_state`` output (replaces everything this rollup holds).
    Blocks stay encoded until read; a snapshot written before blocks carried their
    hashes (three fields per block) is decoded at once."""
    kv = self.chaindb.db.wrapped_db.kv_store  # type: ignore[attr-defined]
    kv.clear()
    kv.update(data["kv"])
    self.discard_open()
    self.blocks = Blocks(self.decode_stored)
    self.by_hash, self.txs = {}, Txs(self.blocks)
    for entry in data["blocks"]:
        if len(entry) == 3:  # older snapshot: decode now, as before
            self._index(self.decode_stored(Stored(entry[0], entry[1], entry[2], b"", ())))
            continue
        stored = Stored(*entry)
        number = len(self.blocks)
        self.blocks.append(stored)
        self.by_hash[stored.hash] = number
        for index, tx_hash in enumerate(stored.tx_hashes):
            self.txs.add(tx_hash, number, index)

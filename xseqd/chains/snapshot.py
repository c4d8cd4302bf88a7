"""State snapshots of all rollups between slots: what the sequencer log keeps every
``--snapshot-every`` slots so that restart re-executes only the tail.

A snapshot is incremental (sequencer/retention.py decides which kind to write):

- its *state* part is either a base (each rollup's whole key-value store, which pruning
  keeps bounded, chains/prune.py, written relative to the genesis state: the keys it does
  not share with the genesis and the genesis keys it lost, since a restart builds the
  genesis anyway; a 100,000-account genesis is not packed into the log) or a delta (the
  keys set and deleted since the previous snapshot), with the pruning floor and the kept
  Mailbox values;
- its *blocks* part holds the blocks sealed since the previous snapshot (or all of them,
  after a rewind), each as its bytes, hash and transaction hashes (chains/blockindex.py).

Restart loads the last base, applies the deltas after it in order, and appends every
blocks part. The log (storage/log.py) stores the two parts apart (``split``). A snapshot
written before this format (one pickled dict with the whole store and every block) still
loads.
"""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

from xseqd.chains.blockindex import Blocks, Stored, Txs
from xseqd.chains.checkpoint import Checkpoint, split
from xseqd.chains.rollup import Rollup, stored_of
from xseqd.chains.store import tracked


def _pack(data: Any) -> bytes:
    return zlib.compress(pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL), 1)


def _unpack(data: bytes) -> Any:
    return pickle.loads(zlib.decompress(data))


def export_rollups(
    rollups: Mapping[int, Rollup], base: bool, exported: Mapping[int, int], extra: Any = None
) -> bytes:
    """A snapshot of all rollups (no block may be open): the whole state if ``base``, else
    what changed since the last snapshot; blocks from ``exported[chain id]`` on (all of
    them when ``exported`` is empty). ``extra`` rides with the blocks (the order book's
    index of the same slots, sequencer/lazybook.py); ``import_rollups`` returns it."""
    state = {cid: export_kv(r, base, relative=True) for cid, r in rollups.items()}
    blocks: dict[Any, Any] = {
        cid: export_blocks(r, exported.get(cid, 0)) for cid, r in rollups.items()
    }
    blocks["extra"] = extra
    for rollup in rollups.values():  # the next delta starts here
        kv = rollup.chaindb.db.wrapped_db.kv_store  # type: ignore[attr-defined]
        kv.dirty, kv.gone = set(), set()
    return Checkpoint(base, not exported, _pack(state), _pack(blocks)).encode()


def export_state(self: Rollup) -> dict[str, Any]:
    """Everything needed to resume this rollup without re-execution, whole: the store,
    what pruning keeps, every block."""
    return {**export_kv(self, True), "blocks": export_blocks(self, 0)[1]}


def import_state(self: Rollup, data: dict[str, Any]) -> None:
    """Resume from ``export_state`` output (replaces everything this rollup holds)."""
    import_kv(self, {**data, "gone": ()}, base=True)
    _reset_blocks(self)
    import_blocks(self, 0, data["blocks"])


def export_kv(self: Rollup, base: bool, relative: bool = False) -> dict[str, Any]:
    """The key-value store under py-evm (tries, headers), whole or as the changes since
    the last snapshot, with what pruning keeps besides (chains/retained.py). A whole
    store is written ``relative`` to the genesis state if asked (module docstring)."""
    if self._open is not None:
        raise RuntimeError("cannot export a rollup with an open block")
    mem = self.chaindb.db.wrapped_db  # type: ignore[attr-defined]
    kv = mem.kv_store = tracked(mem.kv_store)
    gone: tuple[bytes, ...] = ()
    origin = None
    if base and relative:
        (entries, gone), origin = kv.relative_to_origin(), (*_origin_id(self), len(kv))
    elif base:
        entries = dict(kv)
    else:
        entries, gone = {k: kv[k] for k in kv.dirty}, tuple(kv.gone)
    return {
        "kv": entries,
        "gone": gone,
        "origin": origin,
        "floor": self.state_floor,
        "history": self.state_history,
        "kept": self.kept.export(),
    }


def export_blocks(self: Rollup, start: int) -> tuple[int, list[tuple[Any, ...]]]:
    """Blocks from ``start`` to the head, as a snapshot keeps them."""
    out = []
    for n in range(start, len(self.blocks)):
        b = self.blocks.stored(n, stored_of)
        out.append((b.raw_block, b.raw_receipts, b.senders, b.hash, b.tx_hashes))
    return start, out


def import_rollups(rollups: Mapping[int, Rollup], chain: Sequence[bytes]) -> list[Any] | None:
    """Replace every rollup's state by the snapshots' (our own log: trusted input):
    ``chain`` is the log's snapshot rows in order, the last base first. Returns the
    ``extra`` of every blocks part in order (None if one has none)."""
    extras: list[Any] | None = []
    for payload in chain:
        parts = split(payload)
        if parts is None:  # the format before: whole state and every block
            data = _unpack(payload)
            for cid, rollup in rollups.items():
                import_state(rollup, data[cid])
            extras = None
            continue
        if parts.state:
            state = _unpack(parts.state)
            for cid, rollup in rollups.items():
                import_kv(rollup, state[cid], parts.base)
        if parts.blocks:
            blocks = _unpack(parts.blocks)
            for cid, rollup in rollups.items():
                if parts.all_blocks:
                    _reset_blocks(rollup)
                import_blocks(rollup, *blocks[cid])
            if parts.all_blocks:
                extras = []
            if extras is not None:
                extras = None if blocks.get("extra") is None else [*extras, blocks["extra"]]
    for rollup in rollups.values():
        tracked(rollup.chaindb.db.wrapped_db.kv_store).settle()  # type: ignore[attr-defined]
    return extras


def import_kv(self: Rollup, data: dict[str, Any], base: bool) -> None:
    """Apply one snapshot's state part (replaces the whole store if ``base``)."""
    mem = self.chaindb.db.wrapped_db  # type: ignore[attr-defined]
    kv = mem.kv_store = tracked(mem.kv_store)
    self.discard_open()
    origin = data.get("origin")
    if base and origin is not None:  # relative to the genesis state this rollup built
        if tuple(origin[:2]) != _origin_id(self):
            raise RuntimeError(
                f"rollup {self.chain_id}: the snapshot was written over another genesis "
                f"(block 0 {origin[0].hex()}, {origin[1]} keys; this one: "
                f"{self.blocks.hash_of(0).hex()}, {len(kv.origin)} keys)"
            )
        kv.restore_relative(data["kv"], data["gone"], origin[2])
    elif base:  # a whole store (written before snapshots were relative)
        dict.clear(kv)
        dict.update(kv, data["kv"])
        kv.replaced()
    else:  # a delta: through the store, which keeps track of fresh and lost keys
        for key in data["gone"]:
            if key in kv:
                del kv[key]
        for key, value in data["kv"].items():
            kv[key] = value
    self.state_floor = int(data.get("floor", 0))
    self.state_history = int(data.get("history", 0))
    if "kept" in data:
        self.kept.load(data["kept"])


def _origin_id(self: Rollup) -> tuple[bytes, int]:
    """What identifies the store a relative base is written over: the genesis block's
    hash and the number of keys the store started with."""
    kv = self.chaindb.db.wrapped_db.kv_store  # type: ignore[attr-defined]
    return self.blocks.hash_of(0), len(kv.origin)


def _reset_blocks(self: Rollup) -> None:
    self.blocks = Blocks(self.decode_stored)
    self.by_hash, self.txs = {}, Txs(self.blocks)


def import_blocks(self: Rollup, start: int, entries: list[tuple[Any, ...]]) -> None:
    """Append blocks kept as bytes (decoded when read). Entries of a snapshot written
    before blocks carried their hashes (three fields) are decoded at once."""
    if start > len(self.blocks):
        raise RuntimeError(f"snapshot blocks from {start}, the index ends at {len(self.blocks)}")
    for n in range(start, len(self.blocks)):  # blocks a rewind dropped, written again
        self.by_hash.pop(self.blocks.hash_of(n), None)
        for tx_hash in self.blocks.tx_hashes_of(n):
            self.txs.pop(tx_hash, None)
    del self.blocks[start:]
    for entry in entries:
        if len(entry) == 3:  # older snapshot: decode now, as before
            self._index(self.decode_stored(Stored(entry[0], entry[1], entry[2], b"", ())))
            continue
        stored = Stored(*entry)
        number = len(self.blocks)
        self.blocks.append(stored)
        self.by_hash[stored.hash] = number
        for index, tx_hash in enumerate(stored.tx_hashes):
            self.txs.add(tx_hash, number, index)

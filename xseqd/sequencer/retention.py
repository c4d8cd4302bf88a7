"""What the sequencer keeps of the rollups' past states, and its checkpoints in the log.

Every ``PRUNE_EVERY`` slots (every ``--state-history`` slots if fewer) ``checkpoint``
prunes each rollup's key-value store (chains/prune.py) down to what must still be served:

- the whole state of the latest ``--state-history`` blocks (default 256, as geth and
  anvil keep by default; 0 = archive, nothing is pruned): reads at those block numbers,
  ``eth_getProof``, traces, and the 256 headers ``BLOCKHASH`` needs;
- the state of every slot an ``evm_revert`` can return to (``evm_snapshot``), and of
  every slot from the last one posted to the L1 on (``Retention.floors``: a challenge
  rolls back to it);
- for every block, the Mailbox's message roots (chains/retained.py): the commitments of
  old slots (withdrawal proofs, ``xseq_getSlot``, a posting backlog) read only those.

A read of another pruned state answers "missing trie node" (``StateUnavailable``).

Then, every ``--snapshot-every`` slots, it writes a snapshot (chains/snapshot.py): only
what changed since the previous one (keys set and deleted, new blocks), and a whole base
when the changes since the last base outweigh it, or after a rewind.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Protocol

import rlp
from eth.constants import BLANK_ROOT_HASH
from eth_hash.auto import keccak
from trie import HexaryTrie

from xseqd.chains.blockindex import SlotBlocks
from xseqd.chains.predeploys import L1_CHAIN_ID, MAILBOX
from xseqd.chains.prune import (
    FULL_GROWTH,
    HEADER_DEPTH,
    PruneStats,
    Roots,
    decode_node,
    prune,
)
from xseqd.chains.rollup import Rollup, stored_of
from xseqd.chains.snapshot import export_rollups
from xseqd.chains.store import tracked
from xseqd.core.messages import root_slot
from xseqd.core.transition import Slot
from xseqd.sequencer.journal import Journal
from xseqd.sequencer.lazybook import book_index

log = logging.getLogger("xseqd.retention")

PRUNE_EVERY = 256  # slots between prunes (besides every snapshot slot)
STATE_HISTORY = 256  # default --state-history
MIN_BASE_BYTES = 1 << 20  # deltas are written until they outweigh the base (or this)


@dataclass
class Retention:
    """The sequencer's retention settings and its snapshot chain's bookkeeping."""

    history: int = STATE_HISTORY  # blocks whose whole state is kept (0 = archive)
    # callables returning the lowest slot whose state the caller may still need
    floors: list[Callable[[], int]] = field(default_factory=list)
    prunes: int = 0
    swept: dict[int, int] = field(default_factory=dict)  # chain id -> fresh keys, last full sweep
    need_base: bool = True  # the next snapshot must be a whole one
    exported: dict[int, int] = field(default_factory=dict)  # chain id -> blocks in the log
    indexed: int = -1  # the last slot whose items the log's snapshots index (lazybook.py)
    compacted: int = 0  # slots up to this one hold their blocks encoded
    base_bytes: int = 0
    delta_bytes: int = 0

    def rewound(self, _slot: int) -> None:
        """A rewind dropped blocks and log rows: the next snapshot is written whole."""
        self.need_base = True
        self.exported, self.indexed = {}, -1
        self.compacted = min(self.compacted, _slot)

    def loaded(self, rollups: Mapping[int, Rollup], slot: int, payload_bytes: int) -> None:
        """The rollups were loaded from the log's snapshots of up to ``slot``."""
        self.need_base, self.indexed, self.compacted = False, slot, slot
        self.exported = {cid: len(r.blocks) for cid, r in rollups.items()}
        self.base_bytes, self.delta_bytes = payload_bytes, 0


class _Dev(Protocol):
    def snapshot_slots(self) -> set[int]: ...


class _Sequencer(Protocol):
    """What retention uses of the sequencer (no import of sequencer.py: no cycle)."""

    journal: Journal
    retention: Retention
    slots: list[Slot]

    @property
    def rollups(self) -> Mapping[int, Rollup]: ...
    @property
    def dev(self) -> _Dev: ...
    @property
    def head_slot(self) -> int: ...


def checkpoint(seq: _Sequencer, number: int) -> None:
    """After sealing slot ``number``: prune, and write a snapshot when one is due."""
    ret = seq.retention
    snap = seq.journal.wants_snapshot(number)
    if ret.history > 0 and number % min(PRUNE_EVERY, ret.history) == 0:
        prune_rollups(seq)
        compact_history(seq)
    if not snap:
        return
    base = ret.need_base or ret.delta_bytes > max(ret.base_bytes, MIN_BASE_BYTES)
    whole_blocks = not ret.exported
    recent = []  # the slots sealed since the last snapshot, for the book's index
    for slot in reversed(seq.slots):
        if slot.number <= (-1 if whole_blocks else ret.indexed):
            break
        recent.append(slot)
    index = book_index(recent[::-1], -1)
    payload = export_rollups(seq.rollups, base, ret.exported, index)
    seq.journal.snapshot(number, payload)
    ret.exported = {cid: len(r.blocks) for cid, r in seq.rollups.items()}
    ret.indexed = number
    if base:
        ret.base_bytes, ret.delta_bytes, ret.need_base = len(payload), 0, False
    else:
        ret.delta_bytes += len(payload)
    log.debug(
        "snapshot of slot %d: %d bytes, base=%s blocks=%s",
        number,
        len(payload),
        base,
        "all" if whole_blocks else "new",
    )


def prune_rollups(seq: _Sequencer) -> list[PruneStats]:
    """Prune every rollup to what ``seq`` must still serve (module docstring)."""
    ret = seq.retention
    ret.prunes += 1
    pins = seq.dev.snapshot_slots()
    limit = min((f() for f in ret.floors), default=seq.head_slot)
    out = []
    for cid, rollup in seq.rollups.items():
        if rollup.open is None:
            # a full sweep when the keys written since genesis have grown to twice their
            # number after the last one (what older garbage costs is bounded; the sweeps'
            # cost, proportional to those keys, is amortised)
            kv = tracked(rollup.chaindb.db.wrapped_db.kv_store)  # type: ignore[attr-defined]
            size = len(kv.fresh)
            full = size > FULL_GROWTH * ret.swept.setdefault(cid, size)
            watched = watched_slots(cid, list(seq.rollups))
            stats = prune_rollup(rollup, ret.history, pins, limit, full, watched)
            if full:
                ret.swept[cid] = len(kv.fresh)
            out.append(stats)
    return out


def compact_history(seq: _Sequencer) -> None:
    """Blocks below the state floor go back to their bytes (chains/blockindex.py), in the
    rollups' index and in the slot records (which then read them through the index)."""
    ret = seq.retention
    floor = min(r.state_floor for r in seq.rollups.values())
    if floor <= ret.compacted + 1 or not seq.slots:
        return
    first = seq.slots[0].number
    for number in range(max(ret.compacted + 1, first), floor):
        for rollup in seq.rollups.values():
            rollup.blocks.compact(number, stored_of)
        i = number - first
        if i < len(seq.slots) and seq.slots[i].number == number:
            seq.slots[i] = replace(seq.slots[i], blocks=SlotBlocks(seq.rollups, number))
    ret.compacted = floor - 1


def watched_slots(chain_id: int, chain_ids: list[int]) -> tuple[tuple[bytes, int], ...]:
    """The Mailbox slots a slot's commitment reads (core/transition.committed_states)."""
    others = sorted([c for c in chain_ids if c != chain_id] + [L1_CHAIN_ID])
    return tuple((bytes(MAILBOX), root_slot(m, o)) for o in others for m in (0, 1))


def prune_rollup(
    rollup: Rollup,
    history: int,
    pins: set[int],
    limit: int,
    full: bool,
    watched: tuple[tuple[bytes, int], ...],
    whole: bool = False,
) -> PruneStats:
    """Keep the states of the latest ``history`` blocks (none below ``limit`` dropped),
    of ``pins``, and the ``watched`` values of every block; delete the rest."""
    mem = rollup.chaindb.db.wrapped_db  # type: ignore[attr-defined]
    kv = mem.kv_store = tracked(mem.kv_store)
    head = rollup.head.number
    old = rollup.state_floor
    floor = max(old, min(head - history + 1, limit), 0)
    rollup.kept.watched = watched
    _record_kept(rollup, kv, floor)
    pinned = {p for p in pins if p < floor and p <= head and (p >= old or p in rollup.pinned)}
    kept_blocks = [*range(floor, head + 1), *sorted(pinned)]
    kept = [_roots(rollup, kv, n) for n in kept_blocks]
    header_numbers = {0, *range(max(0, floor - HEADER_DEPTH), head + 1)}
    for p in pinned:
        header_numbers.update(range(max(0, p - HEADER_DEPTH), p + 1))
    headers = [Roots(n, rollup.blocks.hash_of(n), b"", ()) for n in sorted(header_numbers)]
    dropped = [
        Roots(n, rollup.blocks.hash_of(n), b"", ())
        for n in range(max(1, old - HEADER_DEPTH), max(1, floor - HEADER_DEPTH))
        if n not in header_numbers
    ]
    stats = prune(kv, kept, headers, dropped, full, whole)
    rollup.state_floor, rollup.state_history = floor, history
    rollup.pinned = frozenset(pinned)
    return stats


def _header_fields(rollup: Rollup, kv: dict[bytes, bytes], number: int) -> list[bytes]:
    raw = kv.get(rollup.blocks.hash_of(number))
    if raw is None:  # not stored (chain.rlp import path): our index has it
        return list(rlp.decode(rlp.encode(rollup.blocks[number].block.header)))
    fields: list[bytes] = decode_node(raw)  # type: ignore[assignment]
    return fields


def _roots(rollup: Rollup, kv: dict[bytes, bytes], number: int) -> Roots:
    fields = _header_fields(rollup, kv, number)
    body = (fields[4], fields[5], *(fields[16:17] if len(fields) > 16 else ()))
    return Roots(number, rollup.blocks.hash_of(number), fields[3], body)


def _record_kept(rollup: Rollup, kv: dict[bytes, bytes], floor: int) -> None:
    """Record the watched values of the blocks about to lose their state. A block whose
    watched accounts have the storage roots of the block before has its values (most
    blocks: the Mailbox changes only with a message)."""
    kept = rollup.kept
    addresses = sorted({address for address, _ in kept.watched})
    last: tuple[bytes, tuple[bytes, ...]] | None = None
    values: dict[tuple[bytes, int], int] = {}
    for number in range(kept.through + 1, floor):
        state_root = _header_fields(rollup, kv, number)[3]
        if last is None or last[0] != state_root:
            accounts = HexaryTrie(kv, state_root)
            roots = tuple(_storage_root(accounts, a) for a in addresses)
            if last is None or last[1] != roots:
                values = _read(kv, dict(zip(addresses, roots)), kept.watched)
            last = (state_root, roots)
        kept.record(number, values)


def _storage_root(accounts: HexaryTrie, address: bytes) -> bytes:
    raw = accounts.get(keccak(address))
    return rlp.decode(raw)[2] if raw else BLANK_ROOT_HASH  # type: ignore[no-any-return]


def _read(
    kv: dict[bytes, bytes],
    roots: dict[bytes, bytes],
    watched: tuple[tuple[bytes, int], ...],
) -> dict[tuple[bytes, int], int]:
    """The ``watched`` storage values, given the storage roots of their accounts."""
    out: dict[tuple[bytes, int], int] = {}
    for address, slot in watched:
        value = HexaryTrie(kv, roots[address]).get(keccak(slot.to_bytes(32, "big")))
        out[(address, slot)] = rlp.decode(value, sedes=rlp.sedes.big_endian_int) if value else 0
    return out

"""State pruning of one rollup's key-value store (pure logic over py-evm's in-memory db).

py-evm writes every trie node of every block's state into the rollup's key-value store
and never deletes one, so memory grows with every transaction. ``prune`` keeps what the
rollup must still serve and deletes the rest, mark and sweep:

- the state tries (accounts, their storage tries, their code) of the blocks that are kept:
  every block from ``floor`` to the head, and the ``pinned`` ones (an ``evm_snapshot`` to
  revert to, a withdrawal's state);
- the transaction, receipt and withdrawal tries of those blocks;
- headers of the blocks from 257 below ``floor`` (``BLOCKHASH`` and py-evm's ancestor walk
  read the 256 headers before a block whose state is read), and the genesis header.

Only keys written after the previous prune are candidates for deletion (a generational
sweep: what survived one prune and is no longer reachable goes at the next full one, once
the keys written since genesis have grown ``FULL_GROWTH`` times since the last full one),
so a prune costs what changed since the last one, not the size of the state. A full sweep
too leaves the genesis keys alone (chains/store.py ``fresh``): it costs what was written
since genesis, not a walk of a 100,000-account genesis trie (1.5 s). Marking never needs
to descend below an older node: a trie node is never younger than its parent (a node's
children are in the store when it is written, and only unreachable candidates are
deleted). What a prune never frees is bounded: genesis nodes no state uses any more, at
most the genesis itself. A block below the floor has no
state any more: ``Rollup.state_at`` refuses it with ``StateUnavailable``
(chains/rollup.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableMapping
from dataclasses import dataclass

import rlp
from eth.constants import BLANK_ROOT_HASH
from eth.db.schema import SchemaV1
from eth_hash.auto import keccak

from xseqd.chains.store import TrackedStore

EMPTY_CODE_HASH = keccak(b"")
HEADER_DEPTH = 257  # headers kept below the floor (py-evm walks 256 ancestors)
FULL_GROWTH = 2  # a full sweep once the store has doubled since the last one


@dataclass(frozen=True)
class Roots:
    """What one kept block needs: its header hash, state root and body tries' roots."""

    number: int
    hash: bytes
    state_root: bytes
    body_roots: tuple[bytes, ...]


@dataclass(frozen=True)
class PruneStats:
    """What a prune did (for logs and benches)."""

    kept: int
    deleted: int
    full: bool


def decode_node(raw: bytes) -> object:
    """``rlp.decode(raw)`` for a trie node or an account from our own store: the top
    list's items are sliced out directly (pyrlp's generic decoder is most of a prune's
    time); a list nested in it (an embedded node, rare) goes through ``rlp.decode``."""
    if not raw or raw[0] < 0xC0:
        return rlp.decode(raw)
    first = raw[0]
    if first <= 0xF7:
        pos, end = 1, 1 + first - 0xC0
    else:
        pos = 1 + first - 0xF7
        end = pos + int.from_bytes(raw[1:pos], "big")
    items: list[object] = []
    while pos < end:
        b = raw[pos]
        if b < 0x80:
            items.append(raw[pos : pos + 1])
            pos += 1
        elif b <= 0xB7:
            start = pos + 1
            pos = start + b - 0x80
            items.append(raw[start:pos])
        elif b < 0xC0:
            start = pos + 1 + b - 0xB7
            pos = start + int.from_bytes(raw[pos + 1 : start], "big")
            items.append(raw[start:pos])
        else:
            if b <= 0xF7:
                size = 1 + b - 0xC0
            else:
                head = 1 + b - 0xF7
                size = head + int.from_bytes(raw[pos + 1 : pos + head], "big")
            items.append(rlp.decode(raw[pos : pos + size]))
            pos += size
    return items


def _children(node: object) -> Iterator[tuple[bytes | list[object], bool]]:
    """(reference, is a leaf value) for each child of a decoded trie node."""
    if not isinstance(node, list):
        return
    if len(node) == 17:
        for child in node[:16]:
            if child:
                yield child, False  # type: ignore[misc]
        if node[16]:
            yield node[16], True  # type: ignore[misc]
    elif len(node) == 2:
        path = node[0]
        leaf = bool(isinstance(path, bytes) and path and path[0] & 0x20)
        yield node[1], leaf  # type: ignore[misc]


def mark_trie(
    kv: MutableMapping[bytes, bytes],
    root: bytes,
    marked: set[bytes],
    stop: set[bytes] | None,
    accounts: bool,
) -> None:
    """Add to ``marked`` every node of the trie at ``root`` stored in ``kv`` (and, for the
    account trie, each account's storage trie and code). Does not descend below a node
    that is already marked, or that is not in ``stop`` when ``stop`` is given (an older
    node: everything below it is older and was kept by the prune that kept it)."""
    stack: list[tuple[bytes | list[object], bool]] = [(root, accounts)]
    while stack:
        ref, is_accounts = stack.pop()
        if isinstance(ref, bytes):
            if len(ref) != 32 or ref in marked or ref == BLANK_ROOT_HASH:
                continue
            if stop is not None and ref not in stop:
                continue
            raw = kv.get(ref)
            if raw is None:
                continue
            marked.add(ref)
            node = decode_node(raw)
        else:
            node = ref  # embedded node (under 32 bytes)
        for child, leaf in _children(node):
            if not leaf:
                stack.append((child, is_accounts))
            elif is_accounts and isinstance(child, bytes):
                _mark_account(kv, child, marked, stop, stack)


def _mark_account(
    kv: MutableMapping[bytes, bytes],
    value: bytes,
    marked: set[bytes],
    stop: set[bytes] | None,
    stack: list[tuple[bytes | list[object], bool]],
) -> None:
    fields: list[bytes] = decode_node(value)  # type: ignore[assignment]
    storage_root, code_hash = fields[2], fields[3]
    if storage_root != BLANK_ROOT_HASH:
        stack.append((storage_root, False))
    if code_hash != EMPTY_CODE_HASH and (stop is None or code_hash in stop):
        marked.add(code_hash)


def prune(
    kv: TrackedStore,
    kept: Iterable[Roots],
    headers: Iterable[Roots],
    dropped_headers: Iterable[Roots],
    full: bool,
    whole: bool = False,
) -> PruneStats:
    """Delete from ``kv`` what no ``kept`` block needs. ``headers``: blocks whose header
    stays; ``dropped_headers``: blocks whose header (and lookups) go. Candidates: the keys
    written since the last prune; with ``full``, every key written since genesis (the
    store's ``fresh`` keys); with ``whole``, every key, genesis ones too."""
    stop = None if whole else kv.fresh if full else kv.young
    marked: set[bytes] = set()
    for roots in kept:
        mark_trie(kv, roots.state_root, marked, stop, accounts=True)
        for body in roots.body_roots:
            mark_trie(kv, body, marked, stop, accounts=False)
    for roots in headers:
        marked.add(roots.hash)
    candidates = list(kv) if stop is None else list(stop)
    deleted = 0
    for key in candidates:
        if len(key) == 32 and key not in marked and key in kv:
            del kv[key]
            deleted += 1
    for roots in dropped_headers:
        for key in (
            roots.hash,
            SchemaV1.make_block_hash_to_score_lookup_key(roots.hash),  # type: ignore[arg-type]
            SchemaV1.make_block_number_to_hash_lookup_key(roots.number),  # type: ignore[arg-type]
        ):
            if key in kv:
                del kv[key]
                deleted += 1
    kv.young = set()
    return PruneStats(len(kv), deleted, full)

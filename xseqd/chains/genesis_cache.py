"""A large genesis, built in bulk once and kept in the data dir.

py-evm builds a genesis state by inserting account after account into its tries, hashing
and storing every intermediate node: minutes for 100,000 funded accounts (each also holds
reference tokens, so the token's storage trie is as large). ``bulk_state`` writes the same
tries bottom-up from sorted keys, each final node once (the Merkle-Patricia trie of a set
of keys is unique, so the root is the one py-evm computes; tests/chains/test_genesis_cache.py
checks it). The finished key-value store is saved as ``genesis-<fingerprint>.bin`` in the
data dir and loaded on the next start; the fingerprint covers everything the genesis is made
of (fork schedule, header fields, every account, the py-evm version), so a different genesis
never loads a stale store. Genesis states under ``CACHE_MIN_ACCOUNTS`` accounts go through
py-evm's ``from_genesis`` as before and leave nothing in the data dir.
"""

from __future__ import annotations

import hashlib
import marshal
import os
from collections.abc import Iterable, MutableMapping
from importlib.metadata import version
from pathlib import Path
from typing import Any, cast

import rlp
from eth.chains.base import Chain
from eth.constants import BLANK_ROOT_HASH
from eth.db.atomic import AtomicDB
from eth.db.backends.memory import MemoryDB
from eth.rlp.accounts import Account
from eth_hash.auto import keccak

CACHE_MIN_ACCOUNTS = 1000

Db = MutableMapping[bytes, bytes]


def fingerprint(genesis: Any) -> str:
    """A digest of the genesis: fork schedule, header parameters, state, py-evm version."""
    h = hashlib.sha256(version("py-evm").encode())
    h.update(repr([(int(n), vm.__name__) for n, vm in genesis.vm_configuration]).encode())
    h.update(repr(sorted(genesis.params.items())).encode())
    for address in sorted(genesis.state):
        account = genesis.state[address]
        h.update(address)
        h.update(repr((account["balance"], account["nonce"], account["code"])).encode())
        h.update(repr(sorted(account["storage"].items())).encode())
    return h.hexdigest()[:32]


def genesis_chain(
    chain_class: type[Chain], genesis: Any, cache_dir: Path | None, bulk_from: int = 0
) -> Chain:
    """``chain_class`` at its genesis. A genesis of at least ``bulk_from`` accounts
    (default ``CACHE_MIN_ACCOUNTS``) is built in bulk, and, given a ``cache_dir``, loaded
    from there or saved there once built."""
    if len(genesis.state) < (bulk_from or CACHE_MIN_ACCOUNTS):
        return cast(Chain, chain_class.from_genesis(AtomicDB(), genesis.params, genesis.state))
    path = None if cache_dir is None else cache_dir / f"genesis-{fingerprint(genesis)}.bin"
    if path is not None and path.exists():
        kv = marshal.loads(path.read_bytes())
        return cast(Chain, chain_class(AtomicDB(MemoryDB(kv))))
    kv = {}
    root = bulk_state(kv, genesis.state)
    vm_class = chain_class.get_vm_class_for_block_number(0)  # type: ignore[arg-type]
    header = vm_class.create_genesis_header(**{**genesis.params, "state_root": root})
    chain = cast(Chain, chain_class.from_genesis_header(AtomicDB(MemoryDB(kv)), header))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(marshal.dumps(kv))
        os.replace(tmp, path)  # whole or not at all: a killed start leaves no half file
    return chain


def bulk_state(db: Db, state: Any) -> bytes:
    """Write ``state`` (py-evm's genesis state dict) into ``db``: code by hash, each
    storage trie, the account trie. Returns the state root."""
    accounts = []
    for address, account in state.items():
        storage = [
            (keccak(slot.to_bytes(32, "big")), rlp.encode(value))
            for slot, value in account["storage"].items()
            if value
        ]
        code = bytes(account["code"])
        code_hash = keccak(code)
        if code:
            db[code_hash] = code
        encoded = Account(account["nonce"], account["balance"], trie_root(db, storage), code_hash)
        accounts.append((keccak(address), rlp.encode(encoded)))
    return trie_root(db, accounts)


def trie_root(db: Db, pairs: Iterable[tuple[bytes, bytes]]) -> bytes:
    """Build the hexary Merkle-Patricia trie of ``pairs`` (keys of equal length) bottom-up,
    storing every node of 32 bytes or more by its hash. Returns the root hash."""
    items = sorted((_nibbles(k), v) for k, v in pairs)
    if not items:
        return BLANK_ROOT_HASH

    def ref(node: list[Any]) -> Any:
        encoded = rlp.encode(node)
        if len(encoded) < 32:
            return node  # embedded in its parent
        digest = keccak(encoded)
        db[digest] = encoded
        return digest

    def build(lo: int, hi: int, depth: int) -> list[Any]:
        if hi - lo == 1:
            key, value = items[lo]
            return [_compact(key[depth:], leaf=True), value]
        first, last = items[lo][0], items[hi - 1][0]
        common = depth
        while first[common] == last[common]:
            common += 1
        if common > depth:
            return [_compact(first[depth:common], leaf=False), ref(build(lo, hi, common))]
        branch: list[Any] = [b""] * 17
        i = lo
        while i < hi:
            nibble, j = items[i][0][depth], i
            while j < hi and items[j][0][depth] == nibble:
                j += 1
            branch[nibble] = ref(build(i, j, depth + 1))
            i = j
        return branch

    encoded = rlp.encode(build(0, len(items), 0))
    root = keccak(encoded)
    db[root] = encoded
    return root


def _nibbles(key: bytes) -> bytes:
    return bytes(n for b in key for n in (b >> 4, b & 15))


def _compact(nibbles: bytes, leaf: bool) -> bytes:
    """Hex-prefix encoding of a path (Yellow Paper, appendix C)."""
    flag = 2 if leaf else 0
    if len(nibbles) % 2:
        head, rest = [(flag + 1) * 16 + nibbles[0]], nibbles[1:]
    else:
        head, rest = [flag * 16], nibbles
    return bytes(head + [rest[i] * 16 + rest[i + 1] for i in range(0, len(rest), 2)])

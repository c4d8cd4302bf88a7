"""EIP-1186 Merkle proofs (``eth_getProof``) from the state trie in the chain database.

The account proof is the path of trie nodes from the state root to ``keccak(address)``;
each storage proof the path in the account's storage trie to ``keccak(slot)``. As in geth,
a node embedded in its parent (RLP shorter than 32 bytes) is not listed on its own, and an
account that does not exist answers zero balance and nonce with zero code and storage
hashes (geth since v1.13.4) and a proof of its absence.
"""

from __future__ import annotations

from dataclasses import dataclass

import rlp
from eth.abc import BlockHeaderAPI
from eth.constants import BLANK_ROOT_HASH
from eth.rlp.accounts import Account
from eth_utils import keccak
from trie import HexaryTrie

from xseqd.chains.rollup import Rollup

ZERO_HASH = b"\x00" * 32


@dataclass(frozen=True)
class StorageProof:
    slot: int
    value: int
    proof: tuple[bytes, ...]


@dataclass(frozen=True)
class AccountProof:
    address: bytes
    proof: tuple[bytes, ...]
    balance: int
    nonce: int
    code_hash: bytes
    storage_hash: bytes
    storage: tuple[StorageProof, ...]


def _path(trie: HexaryTrie, key: bytes) -> tuple[bytes, ...]:
    """The RLP of each node on the path to ``key`` that is stored by hash."""
    nodes = trie.get_proof(key)
    encoded = [rlp.encode(node) for node in nodes]
    return tuple(e for i, e in enumerate(encoded) if i == 0 or len(e) >= 32)


def get_proof(
    rollup: Rollup, header: BlockHeaderAPI, addr: bytes, slots: list[int]
) -> AccountProof:
    """The proof of ``addr`` and its ``slots`` against ``header``'s state root."""
    rollup.require_state(int(header.block_number))
    db = rollup.chaindb.db
    state_trie = HexaryTrie(db, header.state_root)
    key = keccak(addr)
    account_proof = _path(state_trie, key)
    raw = state_trie.get(key)
    if not raw:
        empty = tuple(StorageProof(s, 0, ()) for s in slots)
        return AccountProof(addr, account_proof, 0, 0, ZERO_HASH, ZERO_HASH, empty)
    account = rlp.decode(raw, sedes=Account)
    storage_trie = HexaryTrie(db, account.storage_root)
    proofs = []
    for slot in slots:
        if account.storage_root == BLANK_ROOT_HASH:
            proofs.append(StorageProof(slot, 0, ()))
            continue
        slot_key = keccak(slot.to_bytes(32, "big"))
        value_rlp = storage_trie.get(slot_key)
        value = rlp.decode(value_rlp, sedes=rlp.sedes.big_endian_int) if value_rlp else 0
        proofs.append(StorageProof(slot, value, _path(storage_trie, slot_key)))
    return AccountProof(
        addr,
        account_proof,
        account.balance,
        account.nonce,
        account.code_hash,
        account.storage_root,
        tuple(proofs),
    )

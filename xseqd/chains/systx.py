"""Signing the sequencer's system transactions (cross-rollup deliveries, L1 deposits).

A system transaction is an EIP-1559 transaction of the public system key, built for the
open block and signed at once, once per delivered message, on the hot path of every
cross-rollup call. ``eth_account.Account.sign_transaction`` takes about 1 ms for that (a
field dict validated and converted through several layers, the key's public point derived
again each time); this builds the same bytes directly: the RLP payload, its keccak, one
deterministic (RFC 6979) signature with a key object made once. The result is byte for byte
what ``Account.sign_transaction`` gives (tests/chains/test_systx.py), so block hashes on
replay and in the verifier do not depend on which one signed.
"""

from __future__ import annotations

from functools import lru_cache

import rlp
from eth_hash.auto import keccak
from eth_keys import keys
from eth_keys.datatypes import PrivateKey

DYNAMIC_FEE = 2


@lru_cache(maxsize=8)
def _key(secret: bytes) -> PrivateKey:
    return keys.PrivateKey(secret)


def sender_of(secret: bytes) -> bytes:
    """The 20-byte address of a key (derived once per key)."""
    return bytes(_key(secret).public_key.to_canonical_address())


def sign_dynamic_fee(
    secret: bytes,
    chain_id: int,
    nonce: int,
    max_priority_fee_per_gas: int,
    max_fee_per_gas: int,
    gas: int,
    to: bytes,
    value: int,
    data: bytes,
) -> bytes:
    """The raw bytes (``0x02 || rlp``) of the EIP-1559 transaction with these fields, no
    access list, signed by ``secret``."""
    body = [chain_id, nonce, max_priority_fee_per_gas, max_fee_per_gas, gas, to, value, data, []]
    signature = _key(secret).sign_msg_hash(keccak(bytes([DYNAMIC_FEE]) + rlp.encode(body)))
    y_parity, r, s = signature.vrs
    return bytes([DYNAMIC_FEE]) + rlp.encode([*body, y_parity, r, s])

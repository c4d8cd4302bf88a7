"""Signing the sequencer's system transactions (cross-rollup deliveries, L1 deposits).

A system transaction is an EIP-1559 transaction of the public system key, built for the
open block and signed at once, once per delivered message, on the hot path of every
cross-rollup call. ``eth_account.Account.sign_transaction`` takes about 1 ms for that (a
field dict validated and converted through several layers, the key's public point derived
again each time); this builds the same bytes directly: the RLP payload, its keccak, one
deterministic (RFC 6979) signature with a key object made once. The result is byte for byte
what ``Account.sign_transaction`` gives (tests/chains/test_systx.py), so block hashes on
replay and in the verifier do not depend on which one signed. The decoded transaction
carries its sender (the key's address), so executing it does not recover it again.

``sign_hash`` is the same signature for any 32-byte hash (order receipts, core/order.py).
"""

from __future__ import annotations

from functools import lru_cache

import rlp
from eth.abc import SignedTransactionAPI, TransactionBuilderAPI
from eth_hash.auto import keccak
from eth_keys import keys
from eth_keys.datatypes import PrivateKey

from xseqd.keys import sign_hash as keyed_sign

DYNAMIC_FEE = 2


@lru_cache(maxsize=8)
def _key(secret: bytes) -> PrivateKey:
    return keys.PrivateKey(secret)


def sender_of(secret: bytes) -> bytes:
    """The 20-byte address of a key (derived once per key)."""
    return bytes(_key(secret).public_key.to_canonical_address())


def sign_hash(secret: bytes, msg_hash: bytes) -> tuple[int, int, int]:
    """``(v, r, s)`` (v = 0 or 1) of the deterministic (RFC 6979) low-s signature of a
    32-byte hash: what eth_keys' coincurve backend gives for ``sign_msg_hash``, without
    its per-call backend lookup and key object (the same libsecp256k1 call on a key made
    once)."""
    signature = keyed_sign(secret, msg_hash)  # r || s || v + 27 (xseqd/keys.py)
    return (
        signature[64] - 27,
        int.from_bytes(signature[:32], "big"),
        int.from_bytes(signature[32:64], "big"),
    )


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
    y_parity, r, s = sign_hash(secret, keccak(bytes([DYNAMIC_FEE]) + rlp.encode(body)))
    return bytes([DYNAMIC_FEE]) + rlp.encode([*body, y_parity, r, s])


def system_tx(
    builder: type[TransactionBuilderAPI],
    secret: bytes,
    chain_id: int,
    nonce: int,
    base_fee: int,
    gas: int,
    to: bytes,
    data: bytes,
) -> SignedTransactionAPI:
    """The system transaction with these fields (no tip, no value) as the open block's VM
    decodes it, its sender already known."""
    raw = sign_dynamic_fee(secret, chain_id, nonce, 0, base_fee, gas, to, 0, data)
    tx = builder.decode(raw)
    tx.__dict__["sender"] = sender_of(secret)  # py-evm's cached_property, filled
    return tx

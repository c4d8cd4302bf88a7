"""The dev accounts: the standard ``test test ... junk`` mnemonic, first N keys.

Derivation is BIP32 as anvil and eth-account do it (m/44'/60'/0'/0/i), but the seed and
the parent key m/44'/60'/0'/0 are computed once, not once per account (eth-account's
``from_mnemonic`` stretches the mnemonic every call, ~5 ms): 100,000 dev accounts take
seconds, not minutes. tests/test_accounts.py pins the keys to eth-account's own derivation.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator, Mapping
from functools import lru_cache

from coincurve import PublicKey
from eth_account import Account
from eth_account.hdaccount import HDPath, seed_from_mnemonic
from eth_account.hdaccount.deterministic import SECP256K1_N, derive_child_key, hmac_sha512
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak

DEV_MNEMONIC = "test test test test test test test test test test test junk"
PARENT_PATH = "m/44'/60'/0'/0"


@lru_cache(maxsize=8)
def dev_keys(count: int = 10, mnemonic: str = DEV_MNEMONIC) -> tuple[bytes, ...]:
    """The private keys of the first ``count`` accounts at m/44'/60'/0'/0/i."""
    main = hmac_sha512(b"Bitcoin seed", seed_from_mnemonic(mnemonic, ""))
    key, chain_code = main[:32], main[32:]
    for node in HDPath(PARENT_PATH)._path:  # the hardened part, once
        key, chain_code = derive_child_key(key, chain_code, node)
    point = PublicKey.from_secret(key).format(compressed=True)
    parent = int.from_bytes(key, "big")
    keys = []
    for i in range(count):  # BIP32 CKDpriv of a soft (non-hardened) child
        child = hmac.new(chain_code, point + i.to_bytes(4, "big"), hashlib.sha512).digest()
        tweak = int.from_bytes(child[:32], "big")
        k = (tweak + parent) % SECP256K1_N
        if tweak >= SECP256K1_N or k == 0:  # probability < 2**-127: eth-account's way
            raise ValueError(f"invalid child key at index {i}")
        keys.append(k.to_bytes(32, "big"))
    return tuple(keys)


@lru_cache(maxsize=8)
def dev_accounts(count: int = 10, mnemonic: str = DEV_MNEMONIC) -> tuple[LocalAccount, ...]:
    """The first ``count`` accounts of ``mnemonic`` at m/44'/60'/0'/0/i (anvil's set)."""
    return tuple(Account.from_key(key) for key in dev_keys(count, mnemonic))


def address_of(key: bytes) -> bytes:
    """The 20-byte address of a private key."""
    return keccak(PublicKey.from_secret(key).format(compressed=False)[1:])[12:]


class DevKeyring(Mapping[bytes, LocalAccount]):
    """The dev accounts by address, for signing on their behalf (eth_sendTransaction).

    Addresses are computed once (coincurve, ~30 µs each); a ``LocalAccount`` is made only
    for an account that signs, so a devnet with 100,000 accounts starts in seconds."""

    def __init__(self, count: int = 10, mnemonic: str = DEV_MNEMONIC) -> None:
        self.private_keys = dev_keys(count, mnemonic)
        self.addresses = [address_of(k) for k in self.private_keys]
        self._index = {a: i for i, a in enumerate(self.addresses)}
        self._made: dict[int, LocalAccount] = {}

    def __getitem__(self, address: bytes) -> LocalAccount:
        i = self._index[address]
        if i not in self._made:
            self._made[i] = Account.from_key(self.private_keys[i])
        return self._made[i]

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.addresses)

    def __len__(self) -> int:
        return len(self.addresses)

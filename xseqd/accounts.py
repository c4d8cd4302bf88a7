"""The dev accounts: the standard ``test test ... junk`` mnemonic, first N keys."""

from __future__ import annotations

from functools import lru_cache

from eth_account import Account
from eth_account.signers.local import LocalAccount

DEV_MNEMONIC = "test test test test test test test test test test test junk"


@lru_cache(maxsize=8)
def dev_accounts(count: int = 10, mnemonic: str = DEV_MNEMONIC) -> tuple[LocalAccount, ...]:
    """The first ``count`` accounts of ``mnemonic`` at m/44'/60'/0'/0/i (anvil's set)."""
    Account.enable_unaudited_hdwallet_features()
    return tuple(
        Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{i}") for i in range(count)
    )

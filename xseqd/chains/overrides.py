"""State overrides for calls (geth's ``StateOverride``): per address a balance, a nonce,
code, and either the whole storage (``state``) or some slots (``stateDiff``).

They are applied to the state a call runs on inside the call's snapshot, so they vanish
with the call's other effects: nothing reaches the rollup (chains/calls.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from eth.abc import StateAPI
from eth_typing import Address


@dataclass(frozen=True)
class AccountOverride:
    """What one account looks like during the call (None: as it is)."""

    balance: int | None = None
    nonce: int | None = None
    code: bytes | None = None
    state: Mapping[int, int] | None = None  # replaces all storage
    state_diff: Mapping[int, int] | None = None  # patches these slots


StateOverride = Mapping[bytes, AccountOverride]


def apply_overrides(state: StateAPI, overrides: StateOverride) -> None:
    """Write ``overrides`` into ``state`` (which the caller reverts afterwards)."""
    for raw, account in overrides.items():
        addr = Address(raw)
        if account.nonce is not None:
            state.set_nonce(addr, account.nonce)
        if account.balance is not None:
            state.set_balance(addr, account.balance)
        if account.code is not None:
            state.set_code(addr, account.code)
        if account.state is not None:
            state.delete_storage(addr)
            for slot, value in account.state.items():
                state.set_storage(addr, slot, value)
        if account.state_diff is not None:
            for slot, value in account.state_diff.items():
                state.set_storage(addr, slot, value)


def overridden_code(state: StateAPI, overrides: StateOverride, addr: bytes) -> bytes:
    """The code at ``addr`` as the call will see it."""
    account = overrides.get(addr)
    if account is not None and account.code is not None:
        return account.code
    return bytes(state.get_code(Address(addr)))

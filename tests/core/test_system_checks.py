"""The pure checks that keep deliveries unforgeable: who a transaction acts as (its sender,
an impersonated sender, EIP-7702 authorities) and which accounts cheat methods may touch."""

from __future__ import annotations

import pytest
from eth.vm.forks.prague import PragueVM
from eth_account import Account

from xseqd.chains.predeploys import MAILBOX, REFERENCE_TOKEN, SYSTEM, SYSTEM_KEY, TOKEN_BRIDGE
from xseqd.core.checks import (
    authorities,
    refuse_protected_account,
    refuse_system_account,
    refuse_system_sender,
)
from xseqd.errors import ProtectedAccount, SystemAccountRefused

USER = Account.from_key(b"\x07" * 32)
TARGET = "0x000000000000000000000000000000000000f0F0"


def decoded(fields: dict[str, object], key: bytes) -> object:
    base: dict[str, object] = {
        "chainId": 901,
        "nonce": 0,
        "to": TARGET,
        "gas": 100_000,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 1,
    }
    base.update(fields)
    raw = bytes(Account.sign_transaction(base, key).raw_transaction)
    return PragueVM.get_transaction_builder().decode(raw)


def authorization(key: bytes) -> object:
    return Account.sign_authorization({"chainId": 901, "address": TARGET, "nonce": 0}, key)


def test_the_system_account_is_refused_as_signer_sender_or_authority() -> None:
    plain = decoded({}, USER.key)
    refuse_system_account([(plain, None), (plain, bytes.fromhex("00" * 20))])
    for txs, index in (
        ([(plain, None), (decoded({}, SYSTEM_KEY), None)], 1),
        ([(plain, SYSTEM)], 0),
        ([(decoded({"authorizationList": [authorization(SYSTEM_KEY)]}, USER.key), None)], 0),
    ):
        with pytest.raises(SystemAccountRefused) as refusal:
            refuse_system_account(txs)  # type: ignore[arg-type]
        assert refusal.value.code == -38011 and refusal.value.data == {"index": index}


def test_authorities_are_recovered_from_eip7702_authorizations() -> None:
    tx = decoded({"authorizationList": [authorization(USER.key)]}, SYSTEM_KEY)
    assert authorities(tx) == [bytes.fromhex(USER.address[2:])]  # type: ignore[arg-type]
    assert authorities(decoded({}, USER.key)) == []  # type: ignore[arg-type]


def test_cheat_methods_may_touch_any_account_but_the_predeploys() -> None:
    refuse_protected_account(bytes.fromhex(USER.address[2:]))
    refuse_system_sender(bytes.fromhex(USER.address[2:]))
    for account in (MAILBOX, TOKEN_BRIDGE, REFERENCE_TOKEN, SYSTEM):
        with pytest.raises(ProtectedAccount):
            refuse_protected_account(account)
    with pytest.raises(SystemAccountRefused):
        refuse_system_sender(SYSTEM)

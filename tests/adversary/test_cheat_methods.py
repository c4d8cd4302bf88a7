"""Cheat methods aimed at the predeploys: anvil_/hardhat_ setBalance, setNonce, setCode and
setStorageAt work on any account except the mailbox, the token bridge, the reference
token and the system account, whose code and state are what makes messages trustworthy;
none of them can be impersonated either. Must never happen: a cheat method rewriting or
acting as a predeploy (fake inbox roots, a drained reserve, a mailbox whose deliver()
anyone may call, a system account that cannot pay, tokens minted without a burn).
"""

from __future__ import annotations

from typing import Any

import pytest
from web3 import Web3

from tests.adversary.support import (
    MAILBOX,
    PREDEPLOYS,
    REFERENCE_TOKEN,
    TOKEN_BRIDGE,
    refused,
)
from tests.conftest import artifact
from xseqd.core.messages import root_slot

PROTECTED = -38012
INBOX_ROOT_SLOT = root_slot(1, 901)  # Mailbox.inboxRoot[901]
NOT_ALLOWED = "0x6080604052348015600e575f5ffd5b50"


def state_of(w3: Web3, account: str) -> tuple[Any, ...]:
    return (
        w3.eth.get_balance(account),
        w3.eth.get_transaction_count(account),
        bytes(w3.eth.get_code(account)),
        bytes(w3.eth.get_storage_at(account, 0)),
        bytes(w3.eth.get_storage_at(account, INBOX_ROOT_SLOT)),
    )


def params(method: str, account: str) -> list[Any]:
    if method.endswith("setBalance"):
        return [account, hex(0)]
    if method.endswith("setNonce"):
        return [account, hex(99)]
    if method.endswith("setCode"):
        return [account, NOT_ALLOWED]
    return [account, hex(INBOX_ROOT_SLOT), "0x" + "ab" * 32]


@pytest.mark.parametrize(
    "method",
    [
        f"{prefix}_{name}"
        for prefix in ("anvil", "hardhat")
        for name in ("setBalance", "setNonce", "setCode", "setStorageAt")
    ],
)
def test_cheat_methods_cannot_rewrite_predeploys(w3a: Web3, method: str) -> None:
    head = w3a.eth.block_number
    for account in PREDEPLOYS:
        before = state_of(w3a, account)
        error = refused(w3a, method, *params(method, account))
        assert error["code"] == PROTECTED, error
        assert "predeploy" in error["message"] or "system account" in error["message"]
        assert state_of(w3a, account) == before
    assert w3a.eth.block_number == head  # nothing was ordered


def test_nobody_can_mint_bridged_tokens_by_impersonating_a_predeploy(
    w3a: Web3, keys: list[Any]
) -> None:
    """Impersonating the token bridge would crosschainMint any XToken without a burn;
    impersonating the mailbox would pay out its ETH reserve. Both are refused."""
    xrt = w3a.eth.contract(REFERENCE_TOKEN, abi=artifact("ReferenceXToken")["abi"])
    thief = keys[7].address
    before = xrt.functions.balanceOf(thief).call()
    for account in (MAILBOX, TOKEN_BRIDGE, REFERENCE_TOKEN):
        for method in ("anvil_impersonateAccount", "hardhat_impersonateAccount"):
            error = refused(w3a, method, account)
            assert error["code"] == PROTECTED and "predeploy" in error["message"], error
    mint = xrt.functions.crosschainMint(thief, 10**24)._encode_transaction_data()
    for send in ("eth_sendTransaction", "eth_sendUnsignedTransaction"):
        error = refused(w3a, send, {"from": TOKEN_BRIDGE, "to": REFERENCE_TOKEN, "data": mint})
        assert error["code"] == -32000  # not an account this devnet can send from
    assert xrt.functions.balanceOf(thief).call() == before

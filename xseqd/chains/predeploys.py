"""System contracts predeployed at the same address on every devnet rollup.

Mailbox (cross-rollup calls, ETH reserve), TokenBridge (ERC-7802 burn/mint bridge) and
the reference XToken "XRT" (1,000,000 XRT per dev account on every rollup), plus the
sequencer's system account that delivers messages. Code comes from the committed,
solc-built artifacts in xseqd/contracts/artifacts (tests check they are fresh).
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_hash.auto import keccak

from xseqd.abi import artifact

MAILBOX = bytes.fromhex("4200000000000000000000000000000000000023")
TOKEN_BRIDGE = bytes.fromhex("4200000000000000000000000000000000000024")
REFERENCE_TOKEN = bytes.fromhex("4200000000000000000000000000000000000025")
L1_CHAIN_ID = 900  # the L1 as a Mailbox counterparty: deposits come from it, withdrawals go to it
SYSTEM_KEY = keccak(b"xseqd devnet system account key")
SYSTEM = bytes.fromhex(Account.from_key(SYSTEM_KEY).address[2:])

MAILBOX_RESERVE = 10**9 * 10**18  # ETH the mailbox can pay out on arrival
SYSTEM_BALANCE = 10**6 * 10**18  # pays the gas of deliveries
TOKEN_PER_ACCOUNT = 10**6 * 10**18


def runtime_code(name: str) -> bytes:
    return bytes.fromhex(artifact(name)["deployedBytecode"][2:])


def mapping_slot(key: bytes, slot: int) -> int:
    """Storage slot of ``mapping[key]`` for a mapping declared at ``slot`` (Solidity)."""
    return int.from_bytes(keccak(key.rjust(32, b"\x00") + slot.to_bytes(32, "big")), "big")


def predeploy_state(dev_addresses: list[bytes]) -> dict[bytes, dict[str, Any]]:
    """Genesis accounts of the system contracts and the system account."""
    token_storage = {0: TOKEN_PER_ACCOUNT * len(dev_addresses)}
    for addr in dev_addresses:
        token_storage[mapping_slot(addr, 1)] = TOKEN_PER_ACCOUNT
    return {
        MAILBOX: {
            "balance": MAILBOX_RESERVE,
            "nonce": 1,
            "code": runtime_code("Mailbox"),
            "storage": {},
        },
        TOKEN_BRIDGE: {
            "balance": 0,
            "nonce": 1,
            "code": runtime_code("TokenBridge"),
            "storage": {},
        },
        REFERENCE_TOKEN: {
            "balance": 0,
            "nonce": 1,
            "code": runtime_code("ReferenceXToken"),
            "storage": token_storage,
        },
        SYSTEM: {"balance": SYSTEM_BALANCE, "nonce": 0, "code": b"", "storage": {}},
    }

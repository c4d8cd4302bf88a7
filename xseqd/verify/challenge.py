"""Submitting challenges to Settlement: the L1 side of the verifier's findings.

- ``challenge_data`` / ``challenge_mailbox`` / ``challenge_receipt`` are adjudicated by the
  contract alone, from the posted batch data;
- ``attest`` is the verifier's signed statement that re-execution gives other roots (an
  attestation by the registered verifier key, not an on-chain fraud proof).
Each needs the challenge bond; a successful one returns it with the sequencer's bond.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak
from eth_keys import keys

from xseqd.abi import calldata, event_topic
from xseqd.core.order import OrderReceipt
from xseqd.l1.client import L1Client
from xseqd.l1.settlement import CHALLENGE_BOND
from xseqd.verify.verifier import Finding

SLOT_INVALIDATED = "0x" + event_topic("Settlement", "SlotInvalidated").hex()


def challenge_data(
    client: L1Client, key: LocalAccount, settlement: str, slot: int, data: bytes
) -> dict[str, Any]:
    call = calldata("Settlement", "challengeData", slot, data)
    return client.send(key, settlement, call, value=CHALLENGE_BOND, gas=25_000_000)


def challenge_mailbox(
    client: L1Client,
    key: LocalAccount,
    settlement: str,
    slot: int,
    data: bytes,
    pair: tuple[int, int],
) -> dict[str, Any]:
    call = calldata("Settlement", "challengeMailbox", slot, data, pair[0], pair[1])
    return client.send(key, settlement, call, value=CHALLENGE_BOND, gas=25_000_000)


def receipt_calldata(slot: int, data: bytes, receipt: OrderReceipt) -> bytes:
    """Calldata of Settlement.challengeReceipt citing ``receipt`` against ``slot``."""
    return calldata(
        "Settlement",
        "challengeReceipt",
        slot,
        data,
        receipt.epoch,
        receipt.index,
        receipt.item_hash,
        receipt.order_chain,
        receipt.signature,
    )


def challenge_receipt(
    client: L1Client, key: LocalAccount, settlement: str, data: bytes, receipt: OrderReceipt
) -> dict[str, Any]:
    call = receipt_calldata(receipt.slot, data, receipt)
    return client.send(key, settlement, call, value=CHALLENGE_BOND, gas=25_000_000)


def attestation(
    verifier_key: bytes, chain_id: int, settlement: str, slot: int, commitment: bytes
) -> bytes:
    digest = keccak(
        b"xseqd/attest"
        + chain_id.to_bytes(32, "big")
        + bytes.fromhex(settlement[2:])
        + slot.to_bytes(32, "big")
        + commitment
    )
    sig = keys.PrivateKey(verifier_key).sign_msg_hash(digest)
    return sig.r.to_bytes(32, "big") + sig.s.to_bytes(32, "big") + bytes([sig.v + 27])


def attest(
    client: L1Client,
    sender: LocalAccount,
    verifier_key: bytes,
    settlement: str,
    slot: int,
    commitment: bytes,
) -> dict[str, Any]:
    signature = attestation(verifier_key, client.chain_id(), settlement, slot, commitment)
    call = calldata("Settlement", "attest", slot, signature)
    return client.send(sender, settlement, call, gas=1_000_000)


def challenge_finding(
    client: L1Client,
    key: LocalAccount,
    verifier_key: bytes,
    settlement: str,
    finding: Finding,
    commitment: bytes,
) -> dict[str, Any]:
    """Submit the challenge that proves ``finding`` on L1."""
    if finding.fault == "data":
        return challenge_data(client, key, settlement, finding.slot, finding.batch)
    if finding.fault == "mailbox":
        return challenge_mailbox(client, key, settlement, finding.slot, finding.batch, finding.pair)
    return attest(client, key, verifier_key, settlement, finding.slot, commitment)


def challenger(key: bytes | None = None) -> LocalAccount:
    """The challenger's L1 account (a funded dev key by default)."""
    return Account.from_key(
        key or bytes.fromhex("5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a")
    )

"""Order commitments and receipts: pinned vectors (a changed vector is a breaking change)
and signature checks (a tampered receipt fails, a genuine one verifies only for the
deployment and epoch it was given in)."""

from __future__ import annotations

from dataclasses import replace

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_hash.auto import keccak

from xseqd.core.order import (
    OrderReceipt,
    ReceiptDomain,
    chain_next,
    chain_start,
    digest,
    order_root,
    receipt_signer,
    sign_receipt,
    typed_data,
    verify_receipt,
)

KEY = bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
ADDRESS = Account.from_key(KEY).address
H1, H2 = b"\x11" * 32, b"\x22" * 32
DOMAIN = ReceiptDomain(900, b"\x5e" * 20)


def test_pinned_order_encoding() -> None:
    pinned = {
        "start7": chain_start(7).hex(),
        "root7": order_root(7, [H1, H2]).hex(),
        "digest": digest(OrderReceipt(7, 3, H1, H2, 2), DOMAIN).hex(),
    }
    assert pinned == PINNED
    assert order_root(7, [H1, H2]) == chain_next(chain_next(chain_start(7), H1), H2)
    assert order_root(7, []) == chain_start(7)
    assert order_root(8, [H1]) != order_root(7, [H1])
    assert chain_next(H1, H2) == keccak(H1 + H2)


def test_digest_matches_eth_account_eip712() -> None:
    receipt = OrderReceipt(7, 3, H1, H2, 5)
    signable = encode_typed_data(full_message=typed_data(receipt, DOMAIN))
    from eth_account.messages import _hash_eip191_message  # type: ignore[attr-defined]

    assert _hash_eip191_message(signable) == digest(receipt, DOMAIN)


def test_genuine_receipt_verifies_and_tampered_ones_fail() -> None:
    receipt = sign_receipt(OrderReceipt(7, 3, H1, H2, 1), KEY, DOMAIN)
    assert verify_receipt(receipt, ADDRESS, DOMAIN)
    assert receipt_signer(receipt, DOMAIN) == ADDRESS
    # plain eth-account recovers the same signer from the EIP-712 document
    signable = encode_typed_data(full_message=typed_data(receipt, DOMAIN))
    assert Account.recover_message(signable, signature=receipt.signature) == ADDRESS
    for tampered in (
        replace(receipt, slot=8),
        replace(receipt, index=4),
        replace(receipt, item_hash=H2),
        replace(receipt, order_chain=H1),
        replace(receipt, epoch=0),
        replace(receipt, signature=receipt.signature[:-1] + bytes([receipt.signature[-1] ^ 1])),
        replace(receipt, signature=b"\x00" * 65),
    ):
        assert not verify_receipt(tampered, ADDRESS, DOMAIN)
    # a receipt proves nothing about another L1 or another Settlement deployment
    assert not verify_receipt(receipt, ADDRESS, ReceiptDomain(901, DOMAIN.verifying_contract))
    assert not verify_receipt(receipt, ADDRESS, ReceiptDomain(900, b"\x5f" * 20))
    assert not verify_receipt(receipt, Account.create().address, DOMAIN)


def test_json_round_trip() -> None:
    receipt = sign_receipt(OrderReceipt(1, 0, H1, H2, 3), KEY, DOMAIN)
    assert OrderReceipt.from_json(receipt.to_json()) == receipt
    assert ReceiptDomain.from_json(DOMAIN.to_json()) == DOMAIN


# Pinned when the encoding was defined (2026-11; v2 added the epoch and the
# verifyingContract). Changing them breaks every receipt already handed out and every L1
# commitment: bump DOMAIN_VERSION and say so.
PINNED = {
    "start7": "5c23a61c5438255a3d6404f9f959d10bdc1c852cdf6f1225aeb254e16f7fc09a",
    "root7": "61395c97a6e794d3c6a94ff7e64ef8fbaa12e8a55ae2cafde2858cbed15d16e9",
    "digest": "2b8f3948574668b75a1307c3568f3b8d1b185740406ec0b8cba405a9b44a33a7",
}

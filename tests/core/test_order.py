"""Order commitments and receipts: pinned vectors (a changed vector is a breaking change)
and signature checks (a tampered receipt fails, a genuine one verifies)."""

from __future__ import annotations

from dataclasses import replace

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_hash.auto import keccak

from xseqd.core.order import (
    OrderReceipt,
    chain_next,
    chain_start,
    digest,
    item_hash,
    order_root,
    receipt_signer,
    sign_receipt,
    typed_data,
    verify_receipt,
)

KEY = bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
ADDRESS = Account.from_key(KEY).address
H1, H2 = b"\x11" * 32, b"\x22" * 32


def test_pinned_order_encoding() -> None:
    assert item_hash([H1], bundle=False) == H1
    assert item_hash([H1, H2], bundle=True) == keccak(H1 + H2)
    pinned = {
        "bundle": item_hash([H1, H2], bundle=True).hex(),
        "start7": chain_start(7).hex(),
        "root7": order_root(7, [H1, H2]).hex(),
    }
    assert pinned == PINNED
    assert order_root(7, [H1, H2]) == chain_next(chain_next(chain_start(7), H1), H2)
    assert order_root(7, []) == chain_start(7)
    assert order_root(8, [H1]) != order_root(7, [H1])


def test_digest_matches_eth_account_eip712() -> None:
    receipt = OrderReceipt(7, 3, H1, H2)
    signable = encode_typed_data(full_message=typed_data(receipt, 900))
    from eth_account.messages import _hash_eip191_message  # type: ignore[attr-defined]

    assert _hash_eip191_message(signable) == digest(receipt, 900)


def test_genuine_receipt_verifies_and_tampered_ones_fail() -> None:
    receipt = sign_receipt(OrderReceipt(7, 3, H1, H2), KEY, 900)
    assert verify_receipt(receipt, ADDRESS, 900)
    assert receipt_signer(receipt, 900) == ADDRESS
    # plain eth-account recovers the same signer from the EIP-712 document
    signable = encode_typed_data(full_message=typed_data(receipt, 900))
    assert Account.recover_message(signable, signature=receipt.signature) == ADDRESS
    for tampered in (
        replace(receipt, slot=8),
        replace(receipt, index=4),
        replace(receipt, item_hash=H2),
        replace(receipt, order_chain=H1),
        replace(receipt, signature=receipt.signature[:-1] + bytes([receipt.signature[-1] ^ 1])),
        replace(receipt, signature=b"\x00" * 65),
    ):
        assert not verify_receipt(tampered, ADDRESS, 900)
    assert not verify_receipt(receipt, ADDRESS, 901)  # other domain
    assert not verify_receipt(receipt, Account.create().address, 900)


def test_json_round_trip() -> None:
    receipt = sign_receipt(OrderReceipt(1, 0, H1, H2), KEY, 900)
    assert OrderReceipt.from_json(receipt.to_json()) == receipt


# Pinned when the encoding was defined (2026-11). Changing them breaks every receipt
# already handed out and every L1 commitment: bump DOMAIN_VERSION and say so.
PINNED = {
    "bundle": "3e92e0db88d6afea9edc4eedf62fffa4d92bcdfc310dccbe943747fe8302e871",
    "start7": "5c23a61c5438255a3d6404f9f959d10bdc1c852cdf6f1225aeb254e16f7fc09a",
    "root7": "61395c97a6e794d3c6a94ff7e64ef8fbaa12e8a55ae2cafde2858cbed15d16e9",
}

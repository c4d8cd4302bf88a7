"""Order commitments and signed order receipts (pure logic, pinned encodings).

Every accepted submission is an *item* in a slot's global order: a bundle, or a single
transaction. Its position is committed at once by an order receipt the sequencer signs
(EIP-712), and the slot's header commits to the whole order through a hash chain:

    chain_0     = keccak256("xseqd/order" || uint64(slot))
    chain_{i+1} = keccak256(chain_i || itemHash_i)
    orderRoot   = chain_n            (n = number of items in the slot)

    itemHash    = keccak256(txHash_1 || ... || txHash_k)   for a bundle of k legs
    itemHash    = txHash                                   for a single transaction

The receipt for item i carries ``orderChain = chain_{i+1}``: anyone holding it can check
that the sealed slot's items up to i hash to it. Changing any of these encodings is a
breaking change (pinned by tests/core/test_order.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_hash.auto import keccak
from eth_keys import keys

DOMAIN_NAME = "xseqd"
DOMAIN_VERSION = "1"

RECEIPT_TYPES = {
    "OrderReceipt": [
        {"name": "slot", "type": "uint64"},
        {"name": "index", "type": "uint32"},
        {"name": "itemHash", "type": "bytes32"},
        {"name": "orderChain", "type": "bytes32"},
    ]
}


def item_hash(tx_hashes: list[bytes], bundle: bool) -> bytes:
    """The hash that identifies an item (see module docstring)."""
    if not bundle:
        if len(tx_hashes) != 1:
            raise ValueError("a single-transaction item has exactly one hash")
        return tx_hashes[0]
    return keccak(b"".join(tx_hashes))


def chain_start(slot: int) -> bytes:
    return keccak(b"xseqd/order" + slot.to_bytes(8, "big"))


def chain_next(previous: bytes, item: bytes) -> bytes:
    return keccak(previous + item)


def order_root(slot: int, items: list[bytes]) -> bytes:
    """The order root of a slot whose items, in order, have these hashes."""
    value = chain_start(slot)
    for item in items:
        value = chain_next(value, item)
    return value


@dataclass(frozen=True)
class OrderReceipt:
    """What the sequencer promises about one item: where it is in the order."""

    slot: int
    index: int
    item_hash: bytes
    order_chain: bytes
    signature: bytes = b""

    def message(self) -> dict[str, Any]:
        return {
            "slot": self.slot,
            "index": self.index,
            "itemHash": self.item_hash,
            "orderChain": self.order_chain,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "slot": hex(self.slot),
            "index": hex(self.index),
            "itemHash": "0x" + self.item_hash.hex(),
            "orderChain": "0x" + self.order_chain.hex(),
            "signature": "0x" + self.signature.hex(),
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> OrderReceipt:
        return cls(
            slot=int(doc["slot"], 16),
            index=int(doc["index"], 16),
            item_hash=bytes.fromhex(doc["itemHash"][2:]),
            order_chain=bytes.fromhex(doc["orderChain"][2:]),
            signature=bytes.fromhex(doc["signature"][2:]),
        )


def domain(chain_id: int) -> dict[str, Any]:
    """The EIP-712 domain: name "xseqd", version "1", the settlement (L1) chain id."""
    return {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": chain_id}


def typed_data(receipt: OrderReceipt, chain_id: int) -> dict[str, Any]:
    """The full EIP-712 document of a receipt (what wallets and eth-account sign)."""
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
            ],
            **RECEIPT_TYPES,
        },
        "primaryType": "OrderReceipt",
        "domain": domain(chain_id),
        "message": receipt.message(),
    }


_DOMAIN_TYPEHASH = keccak(b"EIP712Domain(string name,string version,uint256 chainId)")
_RECEIPT_TYPEHASH = keccak(
    b"OrderReceipt(uint64 slot,uint32 index,bytes32 itemHash,bytes32 orderChain)"
)


def digest(receipt: OrderReceipt, chain_id: int) -> bytes:
    """The EIP-712 digest, computed directly (the hot path: one per submission)."""
    separator = keccak(
        _DOMAIN_TYPEHASH
        + keccak(DOMAIN_NAME.encode())
        + keccak(DOMAIN_VERSION.encode())
        + chain_id.to_bytes(32, "big")
    )
    struct = keccak(
        _RECEIPT_TYPEHASH
        + receipt.slot.to_bytes(32, "big")
        + receipt.index.to_bytes(32, "big")
        + receipt.item_hash
        + receipt.order_chain
    )
    return keccak(b"\x19\x01" + separator + struct)


def sign_receipt(receipt: OrderReceipt, key: bytes, chain_id: int) -> OrderReceipt:
    """Sign with the sequencer key; the signature is r || s || v (v = 27/28)."""
    sig = keys.PrivateKey(key).sign_msg_hash(digest(receipt, chain_id))
    signature = sig.r.to_bytes(32, "big") + sig.s.to_bytes(32, "big") + bytes([sig.v + 27])
    return OrderReceipt(
        receipt.slot, receipt.index, receipt.item_hash, receipt.order_chain, signature
    )


def receipt_signer(receipt: OrderReceipt, chain_id: int) -> str:
    """The checksum address that signed ``receipt`` (raises on a malformed signature)."""
    signable = encode_typed_data(full_message=typed_data(receipt, chain_id))
    return str(Account.recover_message(signable, signature=receipt.signature))


def verify_receipt(receipt: OrderReceipt, sequencer: str, chain_id: int) -> bool:
    """True iff ``receipt`` was signed by ``sequencer`` for this domain."""
    try:
        return receipt_signer(receipt, chain_id).lower() == sequencer.lower()
    except Exception:
        return False

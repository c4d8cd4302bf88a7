"""Order commitments and signed order receipts (pure logic, pinned encodings).

Every accepted submission is an *item* in a slot's global order (core/items.py). Its
position is committed at once by an order receipt the sequencer signs (EIP-712), and the
slot's header commits to the whole order through a hash chain over the items' entry
hashes (which bind kind, inclusion, legs and senders):

    chain_0     = keccak256("xseqd/order" || uint64(slot))
    chain_{i+1} = keccak256(chain_i || entryHash_i)
    orderRoot   = chain_n            (n = number of items in the slot)

The receipt for item i carries the item's id, ``orderChain = chain_{i+1}`` and the
settlement **epoch** (it changes at every rollback of settled history); its EIP-712 domain
names the L1 chain id and the Settlement contract (``verifyingContract``), so a receipt
proves something only about the deployment and epoch it was given for. Changing any of
these encodings is a breaking change (pinned by tests/core/test_order.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from eth_hash.auto import keccak

from xseqd.chains.systx import sign_hash

DOMAIN_NAME = "xseqd"
DOMAIN_VERSION = "2"

RECEIPT_TYPES = {
    "OrderReceipt": [
        {"name": "epoch", "type": "uint64"},
        {"name": "slot", "type": "uint64"},
        {"name": "index", "type": "uint32"},
        {"name": "itemHash", "type": "bytes32"},
        {"name": "orderChain", "type": "bytes32"},
    ]
}


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
    epoch: int = 0
    signature: bytes = b""

    def message(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "slot": self.slot,
            "index": self.index,
            "itemHash": self.item_hash,
            "orderChain": self.order_chain,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "epoch": hex(self.epoch),
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
            epoch=int(doc.get("epoch", "0x0"), 16),
            signature=bytes.fromhex(doc["signature"][2:]),
        )


@dataclass(frozen=True)
class ReceiptDomain:
    """Where receipts are valid: the settlement L1's chain id and Settlement's address
    (the zero address when the devnet runs without settlement)."""

    chain_id: int
    verifying_contract: bytes = b"\x00" * 20

    def to_json(self) -> dict[str, Any]:
        return {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": self.chain_id,
            "verifyingContract": "0x" + self.verifying_contract.hex(),
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> ReceiptDomain:
        return cls(int(doc["chainId"]), bytes.fromhex(str(doc["verifyingContract"])[2:]))

    def separator(self) -> bytes:
        return _separator(self.chain_id, self.verifying_contract)


@lru_cache(maxsize=64)
def _separator(chain_id: int, verifying_contract: bytes) -> bytes:
    """The EIP-712 domain separator (computed once per domain: one per submission
    otherwise, on the hot path)."""
    return keccak(
        _DOMAIN_TYPEHASH
        + keccak(DOMAIN_NAME.encode())
        + keccak(DOMAIN_VERSION.encode())
        + chain_id.to_bytes(32, "big")
        + verifying_contract.rjust(32, b"\x00")
    )


def typed_data(receipt: OrderReceipt, domain: ReceiptDomain) -> dict[str, Any]:
    """The full EIP-712 document of a receipt (what wallets and eth-account sign)."""
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            **RECEIPT_TYPES,
        },
        "primaryType": "OrderReceipt",
        "domain": domain.to_json(),
        "message": receipt.message(),
    }


_DOMAIN_TYPEHASH = keccak(
    b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
_RECEIPT_TYPEHASH = keccak(
    b"OrderReceipt(uint64 epoch,uint64 slot,uint32 index,bytes32 itemHash,bytes32 orderChain)"
)


def digest(receipt: OrderReceipt, domain: ReceiptDomain) -> bytes:
    """The EIP-712 digest, computed directly (the hot path: one per submission)."""
    struct = keccak(
        _RECEIPT_TYPEHASH
        + receipt.epoch.to_bytes(32, "big")
        + receipt.slot.to_bytes(32, "big")
        + receipt.index.to_bytes(32, "big")
        + receipt.item_hash
        + receipt.order_chain
    )
    return keccak(b"\x19\x01" + domain.separator() + struct)


def sign_receipt(receipt: OrderReceipt, key: bytes, domain: ReceiptDomain) -> OrderReceipt:
    """Sign with the sequencer key; the signature is r || s || v (v = 27/28)."""
    v, r, s = sign_hash(key, digest(receipt, domain))  # eth_keys' signature, key made once
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v + 27])
    return replace(receipt, signature=signature)


def receipt_signer(receipt: OrderReceipt, domain: ReceiptDomain) -> str:
    """The checksum address that signed ``receipt`` (raises on a malformed signature)."""
    from eth_account import Account  # imported here: keypers load this module, not it
    from eth_account.messages import encode_typed_data

    signable = encode_typed_data(full_message=typed_data(receipt, domain))
    return str(Account.recover_message(signable, signature=receipt.signature))


def verify_receipt(receipt: OrderReceipt, sequencer: str, domain: ReceiptDomain) -> bool:
    """True iff ``receipt`` was signed by ``sequencer`` for this domain."""
    try:
        return receipt_signer(receipt, domain).lower() == sequencer.lower()
    except Exception:
        return False

"""Devnet state changes (anvil_setBalance & co.) as values that can be ordered, logged
and replayed like transactions (pure data + one apply function)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from eth_hash.auto import keccak

KINDS = ("balance", "nonce", "code", "storage")


@dataclass(frozen=True)
class DevChange:
    """Set one field of one account on one rollup: balance, nonce, code or a storage slot."""

    chain_id: int
    kind: str
    address: bytes
    value: int | bytes
    slot: int = 0

    def apply(self, state: Any) -> None:
        if self.kind == "balance":
            state.set_balance(self.address, int(self.value))  # type: ignore[arg-type]
        elif self.kind == "nonce":
            state.set_nonce(self.address, int(self.value))  # type: ignore[arg-type]
        elif self.kind == "code":
            state.set_code(self.address, bytes(self.value))  # type: ignore[arg-type]
        elif self.kind == "storage":
            state.set_storage(self.address, self.slot, int(self.value))  # type: ignore[arg-type]
        else:
            raise ValueError(f"unknown dev change {self.kind}")

    def to_json(self) -> dict[str, Any]:
        value = self.value.hex() if isinstance(self.value, bytes) else hex(self.value)
        return {
            "chainId": self.chain_id,
            "kind": self.kind,
            "address": self.address.hex(),
            "value": value,
            "slot": self.slot,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> DevChange:
        raw = doc["value"]
        value: int | bytes = bytes.fromhex(raw) if doc["kind"] == "code" else int(raw, 16)
        return cls(
            int(doc["chainId"]), doc["kind"], bytes.fromhex(doc["address"]), value, int(doc["slot"])
        )

    @classmethod
    def from_canonical(cls, payload: bytes) -> DevChange:
        return cls.from_json(json.loads(payload))

    def canonical(self) -> bytes:
        """The JSON bytes that are posted on L1 and hashed."""
        return json.dumps(self.to_json(), sort_keys=True).encode()

    @property
    def hash(self) -> bytes:
        """Identifies the change as an item of the order."""
        return keccak(b"xseqd/devchange" + self.canonical())

"""A small Python client for the sequencer API (``xseq_*``).

    from xseqd.client import SequencerClient
    seq = SequencerClient("http://127.0.0.1:9545")
    result = seq.send_bundle([signed_a.raw_transaction, signed_b.raw_transaction])
    assert seq.verify(result["receipt"])

Transactions are signed with eth-account (or anything producing raw bytes); the client
only encodes, sends, and checks order receipts against the sequencer's advertised key.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import httpx

from xseqd.abi import calldata
from xseqd.core import encrypted
from xseqd.core.order import OrderReceipt, ReceiptDomain, verify_receipt
from xseqd.core.threshold import Keyset


class SequencerError(Exception):
    """Raised when the sequencer answers with a JSON-RPC error."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.data = code, message, data


class SequencerClient:
    """Talks to ``POST /`` of an xseqd node."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/") + "/"
        self.http = httpx.Client(timeout=timeout)
        self._ids = itertools.count(1)
        self._info: dict[str, Any] | None = None

    def call(self, method: str, *params: Any) -> Any:
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}
        reply = self.http.post(self.url, json=body).json()
        if "error" in reply:
            err = reply["error"]
            raise SequencerError(err["code"], err["message"], err.get("data"))
        return reply["result"]

    @staticmethod
    def _hex(raw: bytes | str) -> str:
        return raw if isinstance(raw, str) else "0x" + bytes(raw).hex()

    def send_bundle(
        self,
        txs: list[bytes | str],
        min_slot: int | None = None,
        max_slot: int | None = None,
        replacement_uuid: str | None = None,
    ) -> Any:
        bundle: dict[str, Any] = {"txs": [self._hex(t) for t in txs]}
        if min_slot is not None:
            bundle["minSlot"] = hex(min_slot)
        if max_slot is not None:
            bundle["maxSlot"] = hex(max_slot)
        if replacement_uuid is not None:
            bundle["replacementUuid"] = replacement_uuid
        return self.call("xseq_sendBundle", bundle)

    def encryption_key(self) -> dict[str, Any]:
        return dict(self.call("xseq_encryptionKey"))

    def encrypt_bundle(self, txs: list[bytes | str], max_slot: int = 0) -> bytes:
        """Encrypt signed raw transactions (any mix of rollups) to this devnet's keyset
        (``xseq_encryptionKey``), bound to its deployment and ``max_slot`` (0 = none)."""
        return encrypt_bundle(self.encryption_key(), txs, max_slot)

    def send_encrypted_bundle(self, txs: list[bytes | str], max_slot: int = 0) -> Any:
        """Encrypt and send: ``{bundleHash, status: sealed, slot, index, receipt}``."""
        envelope = self.encrypt_bundle(txs, max_slot)
        params: dict[str, Any] = {"ciphertext": "0x" + envelope.hex()}
        if max_slot:
            params["maxSlot"] = hex(max_slot)
        return self.call("xseq_sendEncryptedBundle", params)

    def wait_bundle(self, bundle_hash: str, timeout: float = 10.0) -> Any:
        """``xseq_waitBundle``: the bundle once its outcome is known (no longer ``ordered``
        or ``sealed``), or as it is after ``timeout`` seconds (at most 60)."""
        return self.call("xseq_waitBundle", bundle_hash, timeout)

    def wait_revealed(self, bundle_hash: str, timeout: float = 30.0) -> Any:
        """Wait (``xseq_waitBundle``, no polling) until the item is no longer ``sealed``."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            found = self.wait_bundle(bundle_hash, max(0.0, min(left, 10.0)))
            if found is not None and found["status"] != "sealed":
                return found
            if left <= 0:
                raise TimeoutError(f"{bundle_hash} is still sealed after {timeout}s")
            if found is None:
                time.sleep(0.01)  # not known (yet): xseq_waitBundle answered at once

    def call_bundle(self, txs: list[bytes | str]) -> Any:
        return self.call("xseq_callBundle", {"txs": [self._hex(t) for t in txs]}, "latest")

    def get_bundle(self, bundle_hash: str) -> Any:
        return self.call("xseq_getBundle", bundle_hash)

    def cancel_bundle(self, uuid: str) -> bool:
        return bool(self.call("xseq_cancelBundle", {"replacementUuid": uuid}))

    def get_slot(self, slot: int | str = "latest") -> Any:
        return self.call("xseq_getSlot", hex(slot) if isinstance(slot, int) else slot)

    def info(self) -> dict[str, Any]:
        if self._info is None:
            self._info = dict(self.call("xseq_sequencer"))
        return self._info

    def verify(self, receipt: dict[str, Any]) -> bool:
        """True iff ``receipt`` is signed by this sequencer's key for its domain."""
        info = self.info()
        domain = ReceiptDomain.from_json(info["receiptDomain"])
        return verify_receipt(OrderReceipt.from_json(receipt), info["address"], domain)

    def get_withdrawal_proof(self, tx_hash: str) -> Any:
        """``xseq_getWithdrawalProof``: the withdrawals a rollup transaction made, their
        slot's L1 status, ``claimable`` once finalized, and each one's proof."""
        return self.call("xseq_getWithdrawalProof", tx_hash)


def encrypt_bundle(key_info: dict[str, Any], txs: list[bytes | str], max_slot: int = 0) -> bytes:
    """The envelope ``xseq_sendEncryptedBundle`` takes, from an ``xseq_encryptionKey``
    answer (checked: the keyset id must match its commitments)."""
    keyset = Keyset(
        int(key_info["threshold"]),
        int(key_info["n"]),
        tuple(bytes.fromhex(c[2:]) for c in key_info["commitments"]),
    )
    if "0x" + keyset.id.hex() != key_info["keysetId"]:
        raise ValueError("the advertised keyset id does not match its commitments")
    raws = [bytes.fromhex(t[2:]) if isinstance(t, str) else bytes(t) for t in txs]
    domain = ReceiptDomain.from_json(key_info["domain"])
    return encrypted.encrypt_bundle(keyset, raws, domain, max_slot).encode()


def finalize_withdrawal_calldata(entry: dict[str, Any]) -> bytes:
    """Calldata of ``Portal.finalizeWithdrawal`` for one element of
    ``get_withdrawal_proof(...)["withdrawals"]`` (send it to the Portal from any account)."""
    w, p = entry["withdrawal"], entry["proof"]
    st = p["state"]

    def b(x: str) -> bytes:
        return bytes.fromhex(x[2:])

    withdrawal = (
        w["source"],
        w["nonce"],
        w["sender"],
        w["target"],
        int(w["value"], 16),
        b(w["data"]),
    )
    state = (
        st["chainId"],
        b(st["blockHash"]),
        b(st["stateRoot"]),
        st["counterparties"],
        [b(x) for x in st["outbox"]],
        [b(x) for x in st["inbox"]],
    )
    proof = (
        p["slot"],
        p["timestamp"],
        b(p["orderRoot"]),
        [b(x) for x in p["leaves"]],
        p["index"],
        state,
        b(p["prevRoot"]),
        [b(x) for x in p["later"]],
    )
    return calldata("Portal", "finalizeWithdrawal", withdrawal, proof)

"""A small synchronous L1 JSON-RPC client: calls, signed transactions, contract deploys.

Used from a worker thread (l1/poster.py) so that L1 latency never blocks the sequencer.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount

from xseqd.abi import decode_error
from xseqd.errors import XseqError

KNOWN_CONTRACTS = ("Settlement",)  # whose declared errors a revert is decoded against


class L1Error(XseqError):
    """Raised when the L1 refuses a request or a transaction fails."""


def describe(error: dict[str, Any]) -> str:
    """An L1 JSON-RPC error in words: a revert is named from the contract's ABI
    (``execution reverted: BadBatch(rollup set)``), never shown as raw bytes."""
    message = str(error.get("message"))
    data = error.get("data")
    if isinstance(data, str) and data.startswith("0x") and len(data) >= 10:
        try:
            raw = bytes.fromhex(data[2:])
        except ValueError:
            return message
        for contract in KNOWN_CONTRACTS:
            reason = decode_error(contract, raw)
            if reason is not None:
                return f"execution reverted: {reason}"
    return message


class L1Client:
    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url
        self.http = httpx.Client(timeout=timeout)
        self._ids = itertools.count(1)

    def call(self, method: str, *params: Any) -> Any:
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}
        try:
            reply = self.http.post(self.url, json=body).json()
        except ValueError:
            raise L1Error(f"L1 at {self.url} did not answer JSON-RPC to {method}") from None
        if not isinstance(reply, dict):
            raise L1Error(f"L1 at {self.url} answered {method} with a non-object")
        if "error" in reply:
            raise L1Error(f"L1 {method}: {describe(reply['error'])}", reply["error"])
        return reply["result"]

    def chain_id(self) -> int:
        return int(self.call("eth_chainId"), 16)

    def block_number(self) -> int:
        return int(self.call("eth_blockNumber"), 16)

    def send(
        self,
        key: LocalAccount,
        to: str | None,
        data: bytes,
        gas: int | None = None,
        value: int = 0,
        wait: float = 30.0,
    ) -> dict[str, Any]:
        """Sign and send a transaction, wait for its receipt; raises L1Error on status 0."""
        tx: dict[str, Any] = {
            "chainId": self.chain_id(),
            "nonce": int(self.call("eth_getTransactionCount", key.address, "pending"), 16),
            "data": data,
            "value": value,
            "maxPriorityFeePerGas": 10**9,
        }
        base = int(self.call("eth_getBlockByNumber", "latest", False)["baseFeePerGas"], 16)
        tx["maxFeePerGas"] = 2 * base + 10**9
        if to is not None:
            tx["to"] = bytes.fromhex(to[2:])
        estimate = {"from": key.address, "data": "0x" + data.hex(), "value": hex(value)}
        if to is not None:
            estimate["to"] = to
        tx["gas"] = gas or int(int(self.call("eth_estimateGas", estimate), 16) * 1.2) + 10_000
        raw = Account.sign_transaction(tx, key.key).raw_transaction
        tx_hash = self.call("eth_sendRawTransaction", "0x" + bytes(raw).hex())
        deadline = time.time() + wait
        while time.time() < deadline:
            receipt = self.call("eth_getTransactionReceipt", tx_hash)
            if receipt is not None:
                if receipt["status"] != "0x1":
                    raise L1Error(f"L1 transaction {tx_hash} failed")
                return dict(receipt)
            time.sleep(0.05)
        raise L1Error(f"L1 transaction {tx_hash} not mined in {wait}s")

    def eth_call(self, to: str, data: bytes) -> bytes:
        out = self.call("eth_call", {"to": to, "data": "0x" + data.hex()}, "latest")
        return bytes.fromhex(out[2:])

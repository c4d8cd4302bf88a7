"""The one exception root of xseqd.

Every error a user can cause is an ``XseqError`` subclass carrying its JSON-RPC code, a
message in the wording clients match on (geth's, see notes/clients.md) and optional data.
``rpc/envelope.py`` turns them into JSON-RPC error objects; anything that is not an
``XseqError`` becomes -32603 and is logged with its traceback.
"""

from __future__ import annotations

from typing import Any


class XseqError(Exception):
    """Raised when a request cannot be served; the message is shown to the client."""

    code: int = -32603

    def __init__(self, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data


class ParseError(XseqError):
    """Raised when the request body is not valid JSON."""

    code = -32700


class InvalidRequest(XseqError):
    """Raised when the body is JSON but not a JSON-RPC 2.0 request (or is too large)."""

    code = -32600


class MethodNotFound(XseqError):
    """Raised for a method this endpoint does not serve."""

    code = -32601

    def __init__(self, method: str) -> None:
        super().__init__(f"the method {method} does not exist/is not available")


class InvalidParams(XseqError):
    """Raised when parameters have the wrong type, shape or value."""

    code = -32602


class ExecutionReverted(XseqError):
    """Raised when a call or gas estimate reverts; ``data`` holds the revert bytes (hex)."""

    code = 3


class TxRejected(XseqError):
    """Raised when a submitted transaction is invalid (nonce, funds, fees, gas, signature)."""

    code = -32000


def go_duration(seconds: float) -> str:
    """A duration as Go prints it (geth's wording): 5s, 1.5s, 500ms."""
    if seconds >= 1:
        return f"{seconds:g}s"
    return f"{seconds * 1000:g}ms"


class ExecutionTimeout(XseqError):
    """Raised when a call runs past ``--rpc-evm-timeout`` (or the node is shutting down)."""

    code = -32000

    def __init__(self, timeout: float, shutting_down: bool = False) -> None:
        reason = "shutting down" if shutting_down else f"timeout = {go_duration(timeout)}"
        super().__init__(f"execution aborted ({reason})")


class ResourceNotFound(XseqError):
    """Raised when a referenced block, snapshot or filter does not exist."""

    code = -32001


class ServerBusy(XseqError):
    """Raised when a queue or limit of the devnet is full."""

    code = -32005


class InvalidInput(XseqError):
    """Raised where geth answers -32000 for malformed input (e.g. a storage key)."""

    code = -32000


class SystemAccountRefused(XseqError):
    """Raised when a submission would act as the system account, which alone delivers
    cross-rollup messages: signed with its (public) key, sent or impersonated as it, or
    carrying an EIP-7702 authorization that would give it code."""

    code = -38011


class ProtectedAccount(XseqError):
    """Raised when a cheat method (setBalance, setNonce, setCode, setStorageAt) is aimed at
    a predeploy (mailbox, token bridge, reference token) or the system account."""

    code = -38012

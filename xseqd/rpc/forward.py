"""A follower replica forwards writes to the leader; it answers every read itself.

Writes are the methods that change the order or the devnet: sending transactions and
bundles, cancelling bundles, and every cheat method (anvil_*, hardhat_*, evm_*,
impersonation, signing with dev accounts). On a follower each is sent, as the same
JSON-RPC request on the same path, to the URL in the lease row; the leader's answer
(result or error, code and data kept) is the follower's answer. With no live leader
(a failover in progress) the answer is error -38032 and nothing was done: retry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import httpx

from xseqd.errors import XseqError
from xseqd.rpc.envelope import Handler, OffLoop, Registry

FORWARD_TIMEOUT = 10.0  # a paused leader accepts connections but never answers
WRITES = frozenset(
    {
        "eth_sendRawTransaction",
        "eth_sendRawTransactionSync",
        "xseq_sendBundle",
        "xseq_cancelBundle",
        "xseq_sendEncryptedBundle",
    }
)


class NoLeader(XseqError):
    """Raised on a follower when no replica holds the lease (or the leader is
    unreachable): the write was not forwarded, nothing changed."""

    code = -38032


class LeaderError(XseqError):
    """The leader's own error answer, passed on as it was."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(str(error.get("message", "error from the leader")), error.get("data"))
        self.code = int(error.get("code", -32603))


_client: httpx.Client | None = None


def _http() -> httpx.Client:
    global _client
    if _client is None:
        _client = httpx.Client(timeout=FORWARD_TIMEOUT)
    return _client


def forward(url: str, method: str, params: list[Any]) -> Any:
    """Send one request to the leader and return its result (or raise its error)."""
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    try:
        reply = _http().post(url, json=body).json()
    except (httpx.HTTPError, ValueError) as exc:
        raise NoLeader(f"the leader at {url} did not answer ({exc}); retry") from None
    if "error" in reply:
        raise LeaderError(reply["error"])
    return reply.get("result")


def forwarding(
    registry: Registry[Any],
    writes: Iterable[str],
    replica: Any,
    path: Callable[[Any], str],
) -> Registry[Any]:
    """``registry`` with each of ``writes`` forwarded to the leader while ``replica``
    follows; ``path(ctx)`` is the endpoint's path (``/`` or ``/rollup/<chainId>``)."""
    methods = dict(registry.methods)
    for name in set(writes) & set(methods):
        methods[name] = _forwarded(name, methods[name], replica, path)
    return Registry(methods)


def _forwarded(name: str, local: Handler[Any], replica: Any, path: Callable[[Any], str]) -> Any:
    def handler(ctx: Any, params: list[Any]) -> Any:
        if replica.is_leader:
            return local(ctx, params)
        leader = replica.leader_url()
        if leader is None:
            raise NoLeader("no replica leads right now (failover in progress); retry")
        url = leader.rstrip("/") + path(ctx)
        return OffLoop(lambda: forward(url, name, params))

    return handler

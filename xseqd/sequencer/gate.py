"""The order gate: while the decryption loop has asked keypers for shares bound to the
latest sealed slot M, nothing but reveals may be ordered (the reveals must be the first
items of slot M+1). Writes wait at the gate (the JSON-RPC dispatch, rpc/envelope.py, for
the methods ``is_write`` names; the interval timer; L1 deposits); reads never do. The
gate is closed for at most the keyper timeout plus a margin: a writer that waited that
long goes on (the reveal is then voided instead, never misplaced).

``on_close`` / ``on_open`` run when the gate changes state: ``xseqd devnet`` keeps its
event loop on its own CPU while a round is out with the keypers (xseqd/cpus.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

WRITES = frozenset(
    {
        "eth_sendRawTransaction",
        "eth_sendTransaction",
        "eth_sendUnsignedTransaction",
        "xseq_sendBundle",
        "xseq_sendEncryptedBundle",
        "xseq_cancelBundle",
    }
)
WRITE_PREFIXES = ("evm_", "anvil_", "hardhat_")


def is_write(method: str) -> bool:
    """Whether ``method`` may order something or seal a slot."""
    return method in WRITES or (method.startswith(WRITE_PREFIXES) and method != "anvil_getAutomine")


class OrderGate:
    """An open/closed gate for ordering (open unless the decryption loop holds it)."""

    def __init__(self, bound: float = 3.0) -> None:
        self.bound = bound
        self._open = asyncio.Event()
        self._open.set()
        self.on_close: Callable[[], None] = _nothing  # when an open gate closes
        self.on_open: Callable[[], None] = _nothing  # when a closed gate opens

    @property
    def closed(self) -> bool:
        return not self._open.is_set()

    def close(self) -> None:
        if self._open.is_set():
            self._open.clear()
            self.on_close()

    def open(self) -> None:
        if not self._open.is_set():
            self._open.set()
            self.on_open()

    async def wait(self) -> None:
        """Until the gate is open, or ``bound`` seconds."""
        if self._open.is_set():
            return
        try:
            async with asyncio.timeout(self.bound):
                await self._open.wait()
        except TimeoutError:
            pass


def _nothing() -> None:
    pass

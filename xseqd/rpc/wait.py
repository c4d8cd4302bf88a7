"""``xseq_waitBundle``: wait, without polling, until a bundle's outcome is known.

``xseq_waitBundle(bundleHash, timeoutSeconds?)`` answers what ``xseq_getBundle`` answers,
as soon as the item is no longer ``ordered`` (held for a later slot) or ``sealed`` (an
encrypted commit not revealed yet) — at once if it already is — or, after
``timeoutSeconds`` (default 10, at most 60), whatever it is then. An unknown hash answers
``null`` at once, as ``xseq_getBundle`` does. It orders nothing (not a write; the order
gate never holds it).

Waiters are kept by the hash they wait on. Whenever something may have changed an item
(a sealed block, a transaction made pending — a reveal's legs —, a rewind, or the
decryption loop's end of round: a reveal or a void; ``Waits.changed``, wired in
xseqd/encryption.py), each waited hash is looked up once and only the waiters of a hash
whose outcome is now known wake and re-read it; at most ``MAX_WAITERS`` requests wait at
once (past it -32005), so a flood of waiters costs plain traffic one dict look-up per
distinct hash per change, not a wake-up per waiter. An encrypted
bundle's reveal is answered as soon as it is executed, before the reveal's slot is
sealed — as a plain bundle's ``xseq_sendBundle`` answer is in instant mode. Changes no
listener reports (a cancel, an expiry) are seen at the next seal, or at the latest
``RECHECK`` seconds later (one timer for all waiters).
"""

from __future__ import annotations

import asyncio
from typing import Any

from xseqd.errors import InvalidParams, ServerBusy
from xseqd.rpc import params as p
from xseqd.rpc.envelope import Registry
from xseqd.rpc.xseq import Ctx, get_bundle
from xseqd.sequencer.encrypted import is_commit

DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 60.0
RECHECK = 1.0
MAX_WAITERS = 1000  # requests waiting at once, over all clients; past it -32005
WAITING = frozenset({"ordered", "sealed"})  # statuses whose outcome is still to come

waits: Registry[Any] = Registry({})


class Waits:
    """The waiting requests, by the hash they wait on: on a change, only the waiters of a
    hash whose outcome is now known are woken."""

    def __init__(self, services: Any) -> None:
        self._book = services.sequencer.book
        self._waiting: dict[bytes, set[asyncio.Future[None]]] = {}
        self.count = 0  # requests waiting now
        self._ticker: asyncio.TimerHandle | None = None
        listeners = services.sequencer.listeners
        listeners.on_block.append(lambda cid, record: self.changed())
        listeners.on_pending.append(lambda cid, tx_hash: self.changed())
        listeners.on_rewind.append(lambda head: self.changed())

    def changed(self) -> None:
        """Something may have changed an item: wake the waiters of each waited hash whose
        outcome is known now (one look-up per distinct hash, none if nobody waits)."""
        for key in [k for k in self._waiting if _known(self._book, k)]:
            for future in self._waiting.pop(key):
                if not future.done():
                    future.set_result(None)

    async def until_known(self, key: bytes, timeout: float) -> None:
        """Return once ``key``'s outcome may be known, or after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._waiting.setdefault(key, set()).add(future)
        self.count += 1
        if self._ticker is None:  # one timer for all: changes no listener reports
            self._ticker = loop.call_later(RECHECK, self._tick)
        try:
            async with asyncio.timeout(timeout):
                await future
        except TimeoutError:
            pass
        finally:
            self.count -= 1
            futures = self._waiting.get(key)
            if futures is not None:
                futures.discard(future)
                if not futures:
                    del self._waiting[key]

    def _tick(self) -> None:
        self._ticker = None
        self.changed()
        if self._waiting:
            self._ticker = asyncio.get_running_loop().call_later(RECHECK, self._tick)


def _known(book: Any, key: bytes) -> bool:
    """Whether ``xseq_getBundle`` of ``key`` would answer a status outside ``WAITING``
    (or null): a commit shows ``sealed`` until its reveal or void replaces it."""
    item = book.find(key)
    if item is None:
        return True
    return item.status not in WAITING and not is_commit(item)


def waits_of(services: Any) -> Waits:
    """The node's ``Waits``, made (and wired to the sequencer) on first use."""
    if services.bundle_waits is None:
        services.bundle_waits = Waits(services)
    return services.bundle_waits  # type: ignore[no-any-return]


@waits.method("xseq_waitBundle")
def wait_bundle(c: Ctx, params: list[Any]) -> Any:
    value, *rest = p.positional(params, 1, 2)
    timeout = DEFAULT_TIMEOUT
    if rest and rest[0] is not None:
        if not isinstance(rest[0], (int, float)) or isinstance(rest[0], bool):
            raise InvalidParams("timeoutSeconds must be a number")
        timeout = float(rest[0])
        if not 0 <= timeout <= MAX_TIMEOUT:
            raise InvalidParams(f"timeoutSeconds must be between 0 and {MAX_TIMEOUT:g}")
    first = get_bundle(c, [value])  # checks the hash; null if unknown
    if first is None or first["status"] not in WAITING or timeout == 0:
        return first
    if waits_of(c.services).count >= MAX_WAITERS:
        raise ServerBusy(f"{MAX_WAITERS} xseq_waitBundle requests wait already; retry later")
    return _wait(c, p.hash32(value, "bundle hash"), timeout)


async def _wait(c: Ctx, key: bytes, timeout: float) -> Any:
    changes = waits_of(c.services)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    value = "0x" + key.hex()
    while True:
        left = deadline - loop.time()
        if left > 0:
            await changes.until_known(key, left)
        found = get_bundle(c, [value])
        if found is None or found["status"] not in WAITING or loop.time() >= deadline:
            return found

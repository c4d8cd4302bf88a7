"""``xseq_waitBundle``: wait, without polling, until a bundle's outcome is known.

``xseq_waitBundle(bundleHash, timeoutSeconds?)`` answers what ``xseq_getBundle`` answers,
as soon as the item is no longer ``ordered`` (held for a later slot) or ``sealed`` (an
encrypted commit not revealed yet) — at once if it already is — or, after
``timeoutSeconds`` (default 10, at most 60), whatever it is then. An unknown hash answers
``null`` at once, as ``xseq_getBundle`` does. It orders nothing (not a write; the order
gate never holds it).

The wait re-reads the item whenever something may have changed it: a sealed block, a
transaction made pending (a reveal's legs), a rewind, or the decryption loop's end of
round (a reveal or a void; ``Waits.changed``, wired in xseqd/encryption.py). An encrypted
bundle's reveal is answered as soon as it is executed, before the reveal's slot is
sealed — as a plain bundle's ``xseq_sendBundle`` answer is in instant mode. Changes no
listener reports (a cancel, an expiry) are seen at the next seal, or at the latest
``RECHECK`` seconds later.
"""

from __future__ import annotations

import asyncio
from typing import Any

from xseqd.errors import InvalidParams
from xseqd.rpc import params as p
from xseqd.rpc.envelope import Registry
from xseqd.rpc.xseq import Ctx, get_bundle

DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 60.0
RECHECK = 1.0
WAITING = frozenset({"ordered", "sealed"})  # statuses whose outcome is still to come

waits: Registry[Any] = Registry({})


class Waits:
    """Wakes every waiting request when something may have changed an item's status."""

    def __init__(self, services: Any) -> None:
        self._event = asyncio.Event()
        listeners = services.sequencer.listeners
        listeners.on_block.append(lambda cid, record: self.changed())
        listeners.on_pending.append(lambda cid, tx_hash: self.changed())
        listeners.on_rewind.append(lambda head: self.changed())

    def changed(self) -> None:
        self._event.set()
        self._event = asyncio.Event()  # later waiters wait for the next change

    async def next_change(self, timeout: float) -> None:
        event = self._event
        try:
            async with asyncio.timeout(timeout):
                await event.wait()
        except TimeoutError:
            pass


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
    return _wait(c, value, timeout)


async def _wait(c: Ctx, value: Any, timeout: float) -> Any:
    services = c.services
    changes = waits_of(services)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        left = deadline - loop.time()
        if left > 0:
            await changes.next_change(min(left, RECHECK))
        found = get_bundle(c, [value])
        if found is None or found["status"] not in WAITING or loop.time() >= deadline:
            return found

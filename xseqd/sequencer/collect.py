"""Getting decryption shares from the keypers, for the decryption loop
(sequencer/decryption.py): whom to ask first, asking with hedging, checking each share
and its binding, and the early ask.

Who first: the connected keypers, fastest known first (a smoothed answer time; a failure
counts as ``TIMEOUT``). ``first`` asks t of them, the next one for each that fails, and
all the rest after ``HEDGE`` seconds, until enough answers are good or ``TIMEOUT`` is up.

Early ask (``ask_early``): when a slot's order becomes final (``Sequencer.seal_slot``,
before its blocks are built), and that slot holds commits while nothing older waits, the
decryption loop signs the slot's seal and the binding to M = N and this writes the
release requests to the t fastest keypers at once, on idle kept-alive connections, before
the seal goes on. The keypers work while the sequencer builds the slot's blocks, logs it
and opens the next one; the round that follows awaits those answers instead of asking
again (``collect`` with the same request). The order gate is closed from that moment, as
the round would close it. A keyper never sees a request before the slot's order is
final, and every item in it was logged before it was answered: a restart re-seals the
same items under the same order root.

Each answer is checked (``bound``): the share's proof under its binding, and a binding
other than this round's (a keyper that released in an earlier, partial round) must name
this sequencer's own slots N+1..M_i. Any failure, timeout or odd answer counts as no
answer from that keyper.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from xseqd.core import threshold
from xseqd.core.encrypted import Envelope, release_context, split_payload
from xseqd.core.items import Item
from xseqd.core.threshold import Share
from xseqd.sequencer.encrypted import Binding, EncryptedDesk, Seal
from xseqd.sequencer.keyperwatch import KeyperWatch, rpc_result
from xseqd.sequencer.settle import release_request

Bound = tuple[Share, int, bytes]  # a share and the binding (M_i, span_i) it was released under

log = logging.getLogger("xseqd.keypers")
TIMEOUT = 2.0
HEDGE = 0.25  # ask the other keypers too when the t fastest have not answered by then
T = TypeVar("T")


@dataclass
class Early:
    """Release requests written before a round began: for commits ``ids`` of the seal's
    slot N, bound to M = N; per keyper URL, the answer's task and when it was sent."""

    seal: Seal
    binding: Binding
    ids: tuple[bytes, ...]
    request: dict[str, Any]
    sent: dict[str, tuple[asyncio.Task[Any], float]] = field(default_factory=dict)

    def cancel(self) -> None:
        for task, _ in self.sent.values():
            task.cancel()
        self.sent.clear()


class ShareCollector:
    """Asks the keypers for shares and checks them (module docstring)."""

    def __init__(self, desk: EncryptedDesk) -> None:
        self.desk = desk
        self.urls: list[str] = []
        self.watch = KeyperWatch()
        self.answered = 0  # keypers that released at the last attempt
        self.early: Early | None = None
        self._latency: dict[str, float] = {}  # url -> smoothed answer time (s)

    def connected(self) -> int:
        self.watch.follow(self.urls)
        return sum(self.watch.connected(url) for url in self.urls)

    def ranked(self) -> list[str]:
        """The keypers, connected and fastest known first (a failure counts as TIMEOUT);
        those the early ask went to before the others."""
        early = self.early.sent if self.early is not None else {}
        return sorted(
            self.urls,
            key=lambda url: (
                not self.watch.connected(url),
                url not in early,
                self._latency.get(url, 0.0),
            ),
        )

    def _timed(self, url: str, started: float, ok: bool) -> None:
        took = asyncio.get_running_loop().time() - started if ok else TIMEOUT
        self._latency[url] = 0.5 * self._latency.get(url, took) + 0.5 * took

    def ask_early(self, seal: Seal, binding: Binding, commits: list[Item]) -> bool:
        """Write the release request for ``commits`` (of ``seal``'s slot, bound to
        ``binding``) now to the t fastest keypers that have an idle connection at hand
        (those that answered the last round); whether any went out (the round awaits
        them, and asks others if fewer than t went: ``collect``)."""
        keyset = self.desk.keyset
        assert keyset is not None and self.early is None
        request = release_request(self.desk.seq.book.domain, seal, binding, commits)
        early = Early(seal, binding, tuple(c.item_hash for c in commits), request)
        # signed first, then written back to back: a write wakes a keyper, which may take
        # this process's core before the next request is out
        ready = [url for url in self.ranked() if self.watch.has_idle(url)]
        bodies = {url: self._body(url, request) for url in ready[: keyset.threshold]}
        now = asyncio.get_running_loop().time()
        for url, body in bodies.items():
            task = self.watch.send(url, body, TIMEOUT)
            if task is not None:
                early.sent[url] = (task, now)
        if early.sent:
            self.early = early
        return bool(early.sent)

    def drop_early(self) -> None:
        if self.early is not None:
            self.early.cancel()
            self.early = None

    async def first(
        self,
        ask: Callable[[str], Awaitable[T | None]],
        enough: Callable[[list[T]], bool],
        meanwhile: Callable[[], None] = lambda: None,
    ) -> list[T]:
        """Ask the t fastest keypers; ask the next one for each that fails, and all the
        rest after ``HEDGE`` seconds, or at once when every answer is in and good but not
        ``enough`` (shares under an earlier binding, after a restart), until ``enough``
        answers are good or none is left.
        Bounded by TIMEOUT overall (the gate may be closed meanwhile). ``meanwhile`` runs
        once the first requests are written."""
        keyset = self.desk.keyset
        assert keyset is not None
        loop = asyncio.get_running_loop()
        queue, good = self.ranked(), list[T]()
        running: dict[asyncio.Future[T | None], str] = {}

        def launch(count: int) -> None:
            for url in queue[:count]:
                running[asyncio.ensure_future(ask(url))] = url
            del queue[:count]

        launch(keyset.threshold)
        deadline, hedge = loop.time() + TIMEOUT, loop.time() + HEDGE
        await asyncio.sleep(0)  # the requests are written (their tasks' first step) ...
        meanwhile()  # ... then use the wait
        try:
            while not enough(good):
                if not running:  # every answer is in, good but not enough (answers under
                    if not queue:  # an earlier binding): ask the others now, not never
                        break
                    launch(len(queue))
                now = loop.time()
                if now >= deadline:
                    break
                wake = hedge if queue and now < hedge else deadline
                done, _ = await asyncio.wait(
                    running, timeout=wake - now, return_when=asyncio.FIRST_COMPLETED
                )
                if queue and loop.time() >= hedge:
                    launch(len(queue))
                for future in done:
                    del running[future]
                    result = None if future.exception() else future.result()
                    if result is None:
                        launch(1)
                    else:
                        good.append(result)
        finally:
            for future in running:
                future.cancel()
        return good

    async def up(self) -> int:
        """How many keypers answer ``keyper_status`` (at least t, or all of them)."""
        body = {"jsonrpc": "2.0", "id": 1, "method": "keyper_status", "params": []}
        keyset = self.desk.keyset
        assert keyset is not None

        async def one(url: str) -> bool | None:
            started = asyncio.get_running_loop().time()
            try:
                reply = await self.watch.post(url, body, TIMEOUT / 4)
            except Exception:
                self._timed(url, started, False)
                return None
            return True if isinstance(rpc_result(reply)[0], dict) else None

        return len(await self.first(one, lambda good: len(good) >= keyset.threshold))

    async def collect(
        self,
        seal: Seal,
        after: Binding,
        commits: list[Item],
        meanwhile: Callable[[], None] = lambda: None,
    ) -> list[tuple[Bound, ...]] | None:
        """Per commit, t shares each with its binding (M_i, span_i): the current one, or
        the one a keyper released it under in an earlier, partial round (at least one
        must be current, so that the reveal at M+1 is at max(M_i)+1)."""
        if not commits:
            return []
        keyset = self.desk.keyset
        assert keyset is not None
        early = self.early
        if early is not None and (
            early.seal is seal
            and early.binding is after
            and early.ids == tuple(c.item_hash for c in commits)
        ):
            request = early.request  # already with the fastest keypers: ``ask`` awaits it
            meanwhile()  # they are working: use the wait before their answers are read
            meanwhile = _nothing
        else:
            request = release_request(self.desk.seq.book.domain, seal, after, commits)
        c1s = [envelope_of(c).c1 for c in commits]

        async def one(url: str) -> list[Bound] | None:
            reply = await self.ask(url, request)
            if reply is None or len(reply) != len(commits):
                return None
            out = []
            for c1, answer in zip(c1s, reply, strict=True):
                bound = self.bound(seal, after, c1, answer)
                if bound is None:
                    return None
                out.append(bound)
            return out

        def enough(good: list[list[Bound]]) -> bool:
            return len(good) >= keyset.threshold and all(
                any(k[j][1] == after.slot for k in good) for j in range(len(commits))
            )

        good = await self.first(one, enough, meanwhile)
        self.answered = len(good)
        if not enough(good):
            return None
        out = []
        for j in range(len(commits)):  # current bindings first, then the oldest others
            ranked = sorted((k[j] for k in good), key=lambda b: (b[1] != after.slot, b[1]))
            out.append(tuple(ranked[: keyset.threshold]))
        return out

    def bound(self, seal: Seal, after: Binding, c1: bytes, answer: Any) -> Bound | None:
        """One keyper's share of one commit with its binding, if its proof verifies and
        the binding's span is that of this sequencer's own slots N+1..M_i."""
        keyset, domain = self.desk.keyset, self.desk.seq.book.domain
        assert keyset is not None
        try:
            share = Share.from_json(answer)
            binding = answer.get("binding")
            if binding is None:
                m, span = after.slot, after.span
            else:
                m, span = int(binding["slot"]), bytes.fromhex(str(binding["span"])[2:])
                if not seal.slot <= m < after.slot or self.desk.span(seal.slot, m) != span:
                    return None
        except Exception:
            return None
        context = release_context(domain, seal.slot, seal.order_root, m, span)
        return (share, m, span) if threshold.verify_share(keyset, c1, context, share) else None

    def authorize(self, url: str, request: dict[str, Any], method: str) -> dict[str, Any]:
        """``request`` signed for the keyper at ``url`` (``urls`` are keypers 1..n, in
        order): keypers act only on requests signed for them (core/asks.py)."""
        return self.desk.authorize(request, self.urls.index(url) + 1, method)

    def _body(self, url: str, request: dict[str, Any]) -> dict[str, Any]:
        asked = self.authorize(url, request, "keyper_release")
        return {"jsonrpc": "2.0", "id": 1, "method": "keyper_release", "params": [asked]}

    async def ask(self, url: str, request: dict[str, Any]) -> list[dict[str, Any]] | None:
        """Keyper ``url``'s answer to ``keyper_release`` of ``request`` (the early ask's,
        if this is its request and it went to ``url``); None if it failed or refused."""
        early = self.early
        sent = early.sent.pop(url, None) if early is not None and early.request is request else None
        try:
            if sent is not None:
                task, started = sent
                reply = await task
            else:
                started = asyncio.get_running_loop().time()
                reply = await self.watch.post(url, self._body(url, request), TIMEOUT)
        except Exception:
            self._timed(url, started, False)
            return None
        result, error = rpc_result(reply)  # a reply of the wrong shape: no answer
        self._timed(url, started, isinstance(result, list))
        if error is not None:
            log.warning("keyper %s refused: %s", url, error)
        return result if isinstance(result, list) else None


def _nothing() -> None:
    pass


def envelope_of(commit: Item) -> Envelope:
    """The commit's envelope (decoded once: core/encrypted.py)."""
    return Envelope.decode(split_payload(commit.payload)[0])

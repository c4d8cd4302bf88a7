"""The decryption loop: after each seal, ask the keypers for the shares of every sealed,
unrevealed ciphertext, and reveal them in their sealed order at the top of the next slot.

One round: check that at least t keypers are up (their watch connections,
sequencer/keyperwatch.py, while the last round succeeded; else ``keyper_status``) — if
not, the commits wait (``status`` says so) and plain items flow; the loop retries every
``RETRY`` seconds. Otherwise close the order gate (sequencer/gate.py: writes wait), seal
the open slot if it holds anything but reveals, so that M = the latest sealed slot and
M+1 is empty, and send the keypers, per commit slot N, the seal of N, the ciphertexts to
open and the binding (M, the order roots of N+1..M, signed): the t fastest known first,
the next one for each that fails, all of them after ``HEDGE`` seconds (``_first``). With
t shares whose proofs verify, each commit is revealed, in order, at the top of M+1; then
the gate reopens. Commits whose shares did not come (a keyper died mid-request) and
expired ones are settled (sequencer/settle.py): every keyper is asked ``keyper_refuse``;
t shares (from keypers that released under this binding) reveal it at M+1, a certificate
of n-t+1 refusals voids it there, and otherwise it — and every later commit, to keep the
sealed order — waits for a later round (``status.unsettled``). It runs on the node's
event loop; only the HTTP calls wait, and the gate is held for at most two keyper
timeouts.

A round asks about at most ``MAX_SLOTS_PER_ROUND`` commit slots (the oldest); the next
round takes the rest, in order. A keyper answer that fails, times out or has the wrong
shape (``keyperwatch.rpc_result``) counts as no answer from that keyper.

``fault="withhold"`` (DEV ONLY, tests): once the shares are in, the sequencer orders a
transaction of its own and seals, then reveals one slot late — the withholding that
``xseqd verify`` names (core/reveals.py). ``fault="readvoid"`` (DEV ONLY): once the shares
are in, it voids every commit anyway, without a refusal certificate (it has none: the
keypers released) — the void after reading that ``xseqd verify`` names.
``fault="splitread"`` (DEV ONLY, sequencer/splitread.py): asks t keypers each under a
different binding, reads, and neither reveals nor voids — named only by ``xseqd verify
--keyper URL`` from the keypers' published releases.

A keyper that released a commit in an earlier, partial round answers its share under
that old binding again; with at least one share under the current binding M the commit
is revealed at M+1 with a mixed opening (core/encrypted.py), so a round that got fewer
than t shares no longer leaves the commit stuck while a keyper remains unbound.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from xseqd.core import threshold
from xseqd.core.encrypted import Envelope, release_context, split_payload
from xseqd.core.items import Item
from xseqd.core.threshold import Share
from xseqd.sequencer.encrypted import Binding, EncryptedDesk, Seal
from xseqd.sequencer.gate import OrderGate
from xseqd.sequencer.keyperwatch import KeyperWatch, rpc_result
from xseqd.sequencer.settle import Settled, release_request, settle
from xseqd.sequencer.splitread import split_read

Bound = tuple[Share, int, bytes]  # a share and the binding (M_i, span_i) it was released under

log = logging.getLogger("xseqd.keypers")
RETRY = 0.5
TIMEOUT = 2.0
HEDGE = 0.25  # ask the other keypers too when the t fastest have not answered by then
T = TypeVar("T")
# commit slots asked for per round: keypers answer one release at a time, so a backlog of
# many slots asked at once (after an outage, or a flood) would time out and be voided
MAX_SLOTS_PER_ROUND = 8


class Decryptor:
    """Fetches shares from keypers and reveals sealed commits through the desk."""

    def __init__(
        self,
        desk: EncryptedDesk,
        urls: list[str],
        on_reveal: Callable[[], None] = lambda: None,
        gate: OrderGate | None = None,
    ) -> None:
        self.desk, self.urls, self.on_reveal = desk, urls, on_reveal
        self.gate = gate or OrderGate()
        self.fault = ""  # DEV ONLY: "withhold", "readvoid", "splitread" (module docstring)
        self.withhold: Callable[[], None] = lambda: None  # orders the sequencer's own tx
        self.voided = 0
        self.read: list[bytes] = []  # DEV ONLY --fault splitread: commits read, never revealed
        self.unsettled = 0  # commits neither revealed nor voided at the last round
        self.answered = 0  # keypers that released at the last attempt
        self.waiting_since: float | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._latency: dict[str, float] = {}  # url -> smoothed answer time (s)
        self._watch = KeyperWatch()
        self._trusted = False  # the last round got t shares for every slot it asked for
        self._bindings: dict[bytes, tuple[tuple[int, bytes], ...]] = {}  # per share (M, span)

    def kick(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())
        self.kick()

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task], timeout=5)
            self._task = None
        await self._watch.stop()

    def status(self) -> dict[str, Any]:
        keyset = self.desk.keyset
        return {
            "pending": len(self.desk.pending()),
            "keypersAnswering": self.answered,
            "threshold": None if keyset is None else keyset.threshold,
            "waiting": bool(self.desk.pending()) and self.waiting_since is not None,
            "unsettled": self.unsettled,
        }

    async def _run(self) -> None:
        while not self._stopping:
            try:  # asyncio.timeout, not wait_for: wait_for may swallow a cancel (3.11)
                async with asyncio.timeout(RETRY):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                while await self._reveal_next_slot():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("revealing sealed items failed")

    async def _reveal_next_slot(self) -> bool:
        """One round (module docstring); False if nothing is pending or it must wait."""
        pending = self.desk.pending()
        if not pending or self.fault == "splitread-done":
            self.waiting_since = None
            return False
        keyset = self.desk.keyset
        assert keyset is not None
        self._watch.follow(self.urls)
        connected = sum(self._watch.connected(url) for url in self.urls)
        if self._trusted and connected >= keyset.threshold:
            up = connected  # no status round trip: see sequencer/keyperwatch.py
        else:
            up = await self._up()
        if up < keyset.threshold:
            self.answered = up
            self._waiting(len(pending), keyset.threshold)
            return False
        self.gate.close()
        more = False
        try:
            after = self.desk.bind()
            pending = self.desk.pending()  # with the commits the seal just made pending
            groups: dict[int, list[Item]] = {}
            for commit in pending:
                assert commit.slot is not None
                if commit.slot not in groups and len(groups) == MAX_SLOTS_PER_ROUND:
                    more = True  # the rest wait for the next round (still in commit order)
                    break
                groups.setdefault(commit.slot, []).append(commit)
            # seal M is often seal N (instant mode): signed once
            seals = {slot: after if slot == after.slot else self.desk.seal(slot) for slot in groups}
            binds = {slot: self.desk.binding(seals[slot], after) for slot in groups}
            # a commit whose maxSlot its reveal at M+1 cannot meet is voided unopened:
            # keypers refuse its shares, so its content is never released
            live = {slot: [c for c in commits if not _expired(c, after)]
                    for slot, commits in groups.items()}  # fmt: skip
            if self.fault == "splitread":  # DEV ONLY: read under split bindings, hide it
                self.unsettled = await split_read(self, seals, live)
                return False
            collected = await asyncio.gather(
                *(
                    self._collect(seals[slot], binds[slot], commits)
                    for slot, commits in live.items()
                )
            )
            got: list[list[tuple[Share, ...]] | None] = []
            self._bindings.clear()
            for slot, found in zip(live, collected, strict=True):
                for commit, bound in zip(live[slot], found or [], strict=False):
                    self._bindings[commit.item_hash] = tuple((m, sp) for _, m, sp in bound)
                got.append(None if found is None else [tuple(b[0] for b in f) for f in found])
            self._trusted = all(g is not None for g in got)
            if self.fault == "withhold" and all(g is not None for g in got):
                self.withhold()  # DEV ONLY: trade on what it read, then reveal a slot late
                self.desk.seq.seal_slot()
            settled: dict[bytes, Settled | None] = {}
            for slot, shares in zip(live, got, strict=True):
                for j, commit in enumerate(live[slot]):
                    settled[commit.item_hash] = None if shares is None else shares[j]
            await self._settle(seals, binds, groups, settled)
            self._order(seals, binds, groups, settled)
            self.desk.run_due()
        finally:
            self.gate.open()
        self.waiting_since = None
        self.on_reveal()
        return more

    async def _settle(
        self,
        seals: dict[int, Seal],
        binds: dict[int, Binding],
        groups: dict[int, list[Item]],
        settled: dict[bytes, Settled | None],
    ) -> None:
        """Ask every keyper to refuse the commits that got no shares (sequencer/settle.py)."""
        keyset, domain = self.desk.keyset, self.desk.seq.book.domain
        assert keyset is not None
        asks = {slot: [c for c in commits if settled.get(c.item_hash) is None]
                for slot, commits in groups.items()}  # fmt: skip
        asks = {slot: commits for slot, commits in asks.items() if commits}
        answers = await asyncio.gather(*(
            settle(self._watch.post, self.urls, keyset, domain,
                   release_request(domain, seals[slot], binds[slot], commits),
                   release_context(domain, slot, seals[slot].order_root, binds[slot].slot,
                                   binds[slot].span), commits, TIMEOUT,
                   lambda url, request: self._authorize(url, request, "keyper_refuse"))
            for slot, commits in asks.items()
        ))  # fmt: skip
        for commits, outcomes in zip(asks.values(), answers, strict=True):
            for commit, outcome in zip(commits, outcomes, strict=True):
                settled[commit.item_hash] = outcome

    def _order(
        self,
        seals: dict[int, Seal],
        binds: dict[int, Binding],
        groups: dict[int, list[Item]],
        settled: dict[bytes, Settled | None],
    ) -> None:
        """Reveal or void each commit at the top of M+1, in sealed order; from the first
        one that is neither (no t shares, no certificate), every later one waits too."""
        self.unsettled, force = 0, self.fault == "withhold"
        for slot, commits in groups.items():
            for commit in commits:
                if self.desk.seq.book.items.get(commit.item_hash) is not commit:
                    continue  # revealed meanwhile, or rewound
                outcome = settled.get(commit.item_hash)
                if (
                    self.unsettled
                    or outcome is None
                    or not (force or self.desk.can_reveal_after(binds[slot]))
                ):
                    self.unsettled += 1
                elif isinstance(outcome, bytes):  # n-t+1 keypers refused it: provably unread
                    if not _expired(commit, binds[slot]):
                        log.warning("slot %d: voiding 0x%s: keypers did not release in time",
                                    slot, commit.item_hash.hex())  # fmt: skip
                        self.voided += 1
                    self.desk.void(commit, outcome)
                elif self.fault == "readvoid":  # DEV ONLY: read it, then void it anyway
                    self.desk.void(commit, b"")
                else:
                    bound = self._bindings.pop(commit.item_hash, ())
                    self.desk.reveal(commit, seals[slot], binds[slot], outcome, force, bound)
        if self.unsettled:
            log.warning("%d sealed item(s) wait: neither t shares nor n-t+1 refusals came",
                        self.unsettled)  # fmt: skip

    def _waiting(self, commits: int, need: int) -> None:
        if self.waiting_since is None:
            self.waiting_since = asyncio.get_running_loop().time()
            log.warning(
                "%d sealed item(s) wait: %d keyper(s) up, %d needed", commits, self.answered, need
            )

    def _ranked(self) -> list[str]:
        """The keypers, connected and fastest known first (a failure counts as TIMEOUT)."""
        return sorted(
            self.urls,
            key=lambda url: (not self._watch.connected(url), self._latency.get(url, 0.0)),
        )

    def _timed(self, url: str, started: float, ok: bool) -> None:
        took = asyncio.get_running_loop().time() - started if ok else TIMEOUT
        self._latency[url] = 0.5 * self._latency.get(url, took) + 0.5 * took

    async def _first(
        self,
        ask: Callable[[str], Awaitable[T | None]],
        enough: Callable[[list[T]], bool],
        meanwhile: Callable[[], None] = lambda: None,
    ) -> list[T]:
        """Ask the t fastest keypers; ask the next one for each that fails, and all the
        rest after ``HEDGE`` seconds, until ``enough`` answers are good or none is left.
        Bounded by TIMEOUT overall (the gate may be closed meanwhile). ``meanwhile`` runs
        once the first requests are written."""
        keyset = self.desk.keyset
        assert keyset is not None
        loop = asyncio.get_running_loop()
        queue, good = self._ranked(), list[T]()
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
            while running and not enough(good):
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

    async def _up(self) -> int:
        """How many keypers answer ``keyper_status`` (at least t, or all of them)."""
        body = {"jsonrpc": "2.0", "id": 1, "method": "keyper_status", "params": []}
        keyset = self.desk.keyset
        assert keyset is not None

        async def one(url: str) -> bool | None:
            started = asyncio.get_running_loop().time()
            try:
                reply = await self._watch.post(url, body, TIMEOUT / 4)
            except Exception:
                self._timed(url, started, False)
                return None
            return True if isinstance(rpc_result(reply)[0], dict) else None

        return len(await self._first(one, lambda good: len(good) >= keyset.threshold))

    async def _collect(
        self, seal: Seal, after: Binding, commits: list[Item]
    ) -> list[tuple[Bound, ...]] | None:
        """Per commit, t shares each with its binding (M_i, span_i): the current one, or
        the one a keyper released it under in an earlier, partial round (at least one
        must be current, so that the reveal at M+1 is at max(M_i)+1)."""
        if not commits:
            return []
        keyset = self.desk.keyset
        assert keyset is not None
        domain = self.desk.seq.book.domain
        request = release_request(domain, seal, after, commits)
        c1s = [_envelope(c).c1 for c in commits]

        async def one(url: str) -> list[Bound] | None:
            reply = await self._ask(url, request)
            if reply is None or len(reply) != len(commits):
                return None
            out = []
            for c1, answer in zip(c1s, reply, strict=True):
                bound = self._bound(seal, after, c1, answer)
                if bound is None:
                    return None
                out.append(bound)
            return out

        def enough(good: list[list[Bound]]) -> bool:
            return len(good) >= keyset.threshold and all(
                any(k[j][1] == after.slot for k in good) for j in range(len(commits))
            )

        # M+1 opens while the keypers work (the driver left it to this round: driver.py)
        good = await self._first(one, enough, self.desk.seq.prepare_next_slot)
        self.answered = len(good)
        if not enough(good):
            return None
        out = []
        for j in range(len(commits)):  # current bindings first, then the oldest others
            ranked = sorted((k[j] for k in good), key=lambda b: (b[1] != after.slot, b[1]))
            out.append(tuple(ranked[: keyset.threshold]))
        return out

    def _bound(self, seal: Seal, after: Binding, c1: bytes, answer: Any) -> Bound | None:
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

    def _authorize(self, url: str, request: dict[str, Any], method: str) -> dict[str, Any]:
        """``request`` signed for the keyper at ``url`` (``urls`` are keypers 1..n, in
        order): keypers act only on requests signed for them (core/asks.py)."""
        return self.desk.authorize(request, self.urls.index(url) + 1, method)

    async def _ask(self, url: str, request: dict[str, Any]) -> list[dict[str, Any]] | None:
        request = self._authorize(url, request, "keyper_release")
        body = {"jsonrpc": "2.0", "id": 1, "method": "keyper_release", "params": [request]}
        started = asyncio.get_running_loop().time()
        try:
            reply = await self._watch.post(url, body, TIMEOUT)
        except Exception:
            self._timed(url, started, False)
            return None
        result, error = rpc_result(reply)  # a reply of the wrong shape: no answer
        self._timed(url, started, isinstance(result, list))
        if error is not None:
            log.warning("keyper %s refused: %s", url, error)
        return result if isinstance(result, list) else None


def _expired(commit: Item, after: Seal | Binding) -> bool:
    """Whether ``commit``'s reveal at the top of after+1 would be past its maxSlot."""
    max_slot = _envelope(commit).max_slot  # as restored
    return bool(max_slot) and max_slot < after.slot + 1


def _envelope(commit: Item) -> Envelope:
    """The commit's envelope, decoded once per round rather than three times."""
    return _decode(split_payload(commit.payload)[0])


@functools.lru_cache(maxsize=256)
def _decode(envelope: bytes) -> Envelope:
    return Envelope.decode(envelope)

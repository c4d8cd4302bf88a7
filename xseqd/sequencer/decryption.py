"""The decryption loop: after each seal, ask the keypers for the shares of every sealed,
unrevealed ciphertext, and reveal them in their sealed order at the top of the next slot.

One round: check that at least t keypers are up (their watch connections,
sequencer/keyperwatch.py, while the last round succeeded; else ``keyper_status``) — if
not, the commits wait (``status`` says so) and plain items flow; the loop retries every
``RETRY`` seconds. Otherwise close the order gate (sequencer/gate.py: writes wait), seal
the open slot if it holds anything but reveals, so that M = the latest sealed slot and
M+1 is empty, and send the keypers, per commit slot N, the seal of N, the ciphertexts to
open and the binding (M, the order roots of N+1..M, signed) — sequencer/collect.py asks
and checks the answers. With t shares whose proofs verify, each commit is revealed, in
order, at the top of M+1; then the gate reopens. Commits whose shares did not come (a
keyper died mid-request) and expired ones are settled (sequencer/settle.py): every keyper
is asked ``keyper_refuse``; t shares (from keypers that released under this binding)
reveal it at M+1, a certificate of n-t+1 refusals voids it there, and otherwise it — and
every later commit, to keep the sealed order — waits for a later round
(``status.unsettled``). It runs on the node's event loop; only the HTTP calls wait, and
the gate is held for at most two keyper timeouts.

Early ask (``order_final``, the steady state): when a slot holding commits is being
sealed, nothing older waits and the last round went well, the round's first step happens
as soon as the slot's order is final, before its blocks are built: the gate closes, the
seal and the binding to M = N are signed and the requests written (collect.py). The
round that follows awaits those answers.

A round asks about at most ``MAX_SLOTS_PER_ROUND`` commit slots (the oldest); the next
round takes the rest, in order. A keyper that released a commit in an earlier, partial
round answers its share under that old binding again; with at least one share under the
current binding M the commit is revealed at M+1 with a mixed opening (core/encrypted.py),
so a round that got fewer than t shares does not leave the commit stuck while a keyper
remains unbound.

DEV ONLY faults (``--fault``, tests): ``withhold`` — once the shares are in, the
sequencer orders a transaction of its own and seals, then reveals one slot late, the
withholding ``xseqd verify`` names (core/reveals.py); ``readvoid`` — it voids every
commit after reading it, without a refusal certificate (it has none: the keypers
released), named by ``xseqd verify``; ``splitread`` (sequencer/splitread.py) — asks t
keypers each under a different binding, reads, and neither reveals nor voids, named only
by ``xseqd verify --keyper URL``; ``crash-early-ask`` — the process exits (code 70) right
after an early ask went out, before the slot's blocks are built or its seal is logged,
what a restart must survive.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from xseqd.core.encrypted import release_context
from xseqd.core.items import Item
from xseqd.core.threshold import Share
from xseqd.sequencer.collect import TIMEOUT, ShareCollector, envelope_of
from xseqd.sequencer.encrypted import Binding, EncryptedDesk, Seal, is_commit
from xseqd.sequencer.gate import OrderGate
from xseqd.sequencer.settle import Settled, release_request, settle
from xseqd.sequencer.splitread import split_read

log = logging.getLogger("xseqd.keypers")
RETRY = 0.5
CRASH_EARLY = "crash-early-ask"  # DEV ONLY --fault: exit right after an early ask
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
        self.desk, self.on_reveal = desk, on_reveal
        self.shares = ShareCollector(desk)
        self.shares.urls = urls
        self.gate = gate or OrderGate()
        self.fault = ""  # DEV ONLY (module docstring)
        self.withhold: Callable[[], None] = lambda: None  # orders the sequencer's own tx
        self.voided = 0
        self.read: list[bytes] = []  # DEV ONLY --fault splitread: commits read, never revealed
        self.unsettled = 0  # commits neither revealed nor voided at the last round
        self.waiting_since: float | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._trusted = False  # the last round got t shares for every slot it asked for
        self._bindings: dict[bytes, tuple[tuple[int, bytes], ...]] = {}  # per share (M, span)

    @property
    def urls(self) -> list[str]:
        return self.shares.urls

    @urls.setter
    def urls(self, urls: list[str]) -> None:
        self.shares.urls = urls

    @property
    def answered(self) -> int:  # keypers that released at the last attempt
        return self.shares.answered

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
        self.shares.drop_early()
        self.gate.open()
        await self.shares.watch.stop()

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

    def order_final(self, number: int, items: tuple[Item, ...], root: bytes) -> None:
        """Slot ``number``'s order is final, its blocks not built yet (``Sequencer
        .seal_slot``). If it holds commits, nothing older waits and the round could start
        at once, close the gate and ask the keypers now, bound to M = ``number``
        (sequencer/collect.py, "Early ask"); the round that follows awaits the answers."""
        keyset, desk = self.desk.keyset, self.desk
        if keyset is None or self.fault not in ("", CRASH_EARLY) or self.gate.closed:
            return
        if not self._trusted:
            return
        commits = [i for i in items if is_commit(i)]
        if not commits or self.shares.early is not None or self._task is None:
            return
        if self.shares.connected() < keyset.threshold or desk.pending():
            return
        seal = desk.seal_of(number, items, root)
        if any(_expired(c, seal) for c in commits):
            return  # the round voids it unopened
        self.gate.close()
        if not self.shares.ask_early(seal, desk.binding(seal, seal), commits):
            self.gate.open()
        elif self.fault == CRASH_EARLY:  # DEV ONLY: die as the requests went out
            log.warning("DEV FAULT %s: exiting after asking the keypers early", CRASH_EARLY)
            time.sleep(0.5)  # frozen, not sealing: the keypers answer (their records stay)
            os._exit(70)

    async def _reveal_next_slot(self) -> bool:
        """One round (module docstring); False if nothing is pending or it must wait."""
        early = self.shares.early
        pending = self.desk.pending()
        if not pending or self.fault == "splitread-done":
            self.waiting_since = None
            if early is not None:
                self.shares.drop_early()
                self.gate.open()
            return False
        keyset = self.desk.keyset
        assert keyset is not None
        if early is None:
            connected = self.shares.connected()
            if self._trusted and connected >= keyset.threshold:
                up = connected  # no status round trip: see sequencer/keyperwatch.py
            else:
                up = await self.shares.up()
            if up < keyset.threshold:
                self.shares.answered = up
                self._waiting(len(pending), keyset.threshold)
                return False
        self.gate.close()
        more = False
        try:
            if early is not None and self.desk.can_reveal_after(early.seal):
                after = early.seal  # M = N, as the early ask said
            else:
                self.shares.drop_early()
                early, after = None, self.desk.bind()
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
            binds = {slot: early.binding if early is not None and slot == after.slot
                     else self.desk.binding(seals[slot], after) for slot in groups}  # fmt: skip
            # a commit whose maxSlot its reveal at M+1 cannot meet is voided unopened:
            # keypers refuse its shares, so its content is never released
            live = {slot: [c for c in commits if not _expired(c, after)]
                    for slot, commits in groups.items()}  # fmt: skip
            if self.fault == "splitread":  # DEV ONLY: read under split bindings, hide it
                self.unsettled = await split_read(self, seals, live)
                return False
            collected = await asyncio.gather(
                *(
                    self.shares.collect(seals[slot], binds[slot], commits, self._open_reveal_slot)
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
            self.shares.drop_early()
            self.gate.open()
        self.waiting_since = None
        self.on_reveal()
        return more

    def _open_reveal_slot(self) -> None:
        """Open M+1 while the keypers work, with its blocks' VMs built: the reveals run
        there first thing (after a slot of commits only they would be built lazily, on
        the reveal's path)."""
        seq = self.desk.seq
        seq.prepare_next_slot()
        if seq.has_open_slot:
            for rollup in seq.rollups.values():
                rollup.require_open().vm  # noqa: B018

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
            settle(self.shares.watch.post, self.urls, keyset, domain,
                   release_request(domain, seals[slot], binds[slot], commits),
                   release_context(domain, slot, seals[slot].order_root, binds[slot].slot,
                                   binds[slot].span), commits, TIMEOUT,
                   lambda url, request: self.shares.authorize(url, request, "keyper_refuse"))
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


def _expired(commit: Item, after: Seal | Binding) -> bool:
    """Whether ``commit``'s reveal at the top of after+1 would be past its maxSlot."""
    max_slot = envelope_of(commit).max_slot  # as restored
    return bool(max_slot) and max_slot < after.slot + 1

"""The decryption loop: after each seal, ask the keypers for the shares of every sealed,
unrevealed ciphertext, and reveal them in their sealed order.

For the earliest sealed slot with pending commits it sends every keyper the sequencer's
seal of that slot (sequencer/encrypted.py) and the ciphertexts to open, keeps the shares
whose proofs verify against the keyset, and once t keypers answered for all of them
reveals each commit, in order, at the top of the open slot. With fewer than t keypers up
the commits wait (``status`` says so and how many answered) and plain items flow; the
loop retries every ``RETRY`` seconds. It runs on the node's event loop; only the HTTP
calls wait, never the sequencer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import httpx

from xseqd.core import threshold
from xseqd.core.encrypted import Envelope, seal_digest, split_payload
from xseqd.core.items import Item
from xseqd.core.threshold import Share
from xseqd.sequencer.encrypted import EncryptedDesk, Seal

log = logging.getLogger("xseqd.keypers")
RETRY = 0.5
TIMEOUT = 2.0


class Decryptor:
    """Fetches shares from keypers and reveals sealed commits through the desk."""

    def __init__(
        self, desk: EncryptedDesk, urls: list[str], on_reveal: Callable[[], None] = lambda: None
    ) -> None:
        self.desk, self.urls, self.on_reveal = desk, urls, on_reveal
        self.answered = 0  # keypers that released at the last attempt
        self.waiting_since: float | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._http: httpx.AsyncClient | None = None

    def kick(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._http = httpx.AsyncClient(timeout=TIMEOUT)
        self._task = asyncio.get_running_loop().create_task(self._run())
        self.kick()

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task], timeout=5)
            self._task = None
        if self._http is not None:
            await self._http.aclose()

    def status(self) -> dict[str, Any]:
        keyset = self.desk.keyset
        return {
            "pending": len(self.desk.pending()),
            "keypersAnswering": self.answered,
            "threshold": None if keyset is None else keyset.threshold,
            "waiting": bool(self.desk.pending()) and self.waiting_since is not None,
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
        """Reveal the earliest sealed slot's pending commits; False if none or waiting."""
        pending = self.desk.pending()
        if not pending:
            self.waiting_since = None
            return False
        slot = pending[0].slot
        assert slot is not None
        commits = [i for i in pending if i.slot == slot]
        seal = self.desk.seal(slot)
        shares = await self._collect(seal, commits)
        if shares is None:
            if self.waiting_since is None:
                self.waiting_since = asyncio.get_running_loop().time()
                need = self.desk.keyset.threshold if self.desk.keyset else 0
                log.warning(
                    "slot %d: %d sealed item(s) wait: %d keyper(s) answered, %d needed",
                    slot, len(commits), self.answered, need,
                )  # fmt: skip
            return False
        self.waiting_since = None
        for commit, item_shares in zip(commits, shares, strict=True):
            if self.desk.seq.book.items.get(commit.item_hash) is not commit:
                continue  # revealed meanwhile, or rewound
            self.desk.reveal(commit, seal, item_shares)
        self.on_reveal()
        return True

    async def _collect(self, seal: Seal, commits: list[Item]) -> list[tuple[Share, ...]] | None:
        keyset = self.desk.keyset
        assert keyset is not None and self._http is not None
        domain = self.desk.seq.book.domain
        request = {
            "domain": domain.to_json(),
            "slot": seal.slot,
            "orderRoot": "0x" + seal.order_root.hex(),
            "signature": "0x" + seal.signature.hex(),
            "entries": ["0x" + e.hex() for e in seal.entries],
            "items": [
                {"index": c.index, "envelope": "0x" + split_payload(c.payload)[0].hex()}
                for c in commits
            ],
        }
        context = seal_digest(domain, seal.slot, seal.order_root)
        c1s = [Envelope.decode(split_payload(c.payload)[0]).c1 for c in commits]
        good: list[list[Share]] = []
        asks = [asyncio.ensure_future(self._ask(url, request)) for url in self.urls]
        try:  # the first t keypers whose shares verify are enough
            for next_reply in asyncio.as_completed(asks):
                reply = await next_reply
                if reply is None or len(reply) != len(commits):
                    continue
                try:
                    parsed = [Share.from_json(s) for s in reply]
                except Exception:
                    continue
                if all(
                    threshold.verify_share(keyset, c1, context, s) for c1, s in zip(c1s, parsed)
                ):
                    good.append(parsed)
                    if len(good) == keyset.threshold:
                        break
        finally:
            for ask in asks:
                ask.cancel()
        self.answered = len(good)
        if len(good) < keyset.threshold:
            return None
        chosen = good
        return [tuple(k[j] for k in chosen) for j in range(len(commits))]

    async def _ask(self, url: str, request: dict[str, Any]) -> list[dict[str, Any]] | None:
        assert self._http is not None
        body = {"jsonrpc": "2.0", "id": 1, "method": "keyper_release", "params": [request]}
        try:
            reply = (await self._http.post(url, json=body)).json()
        except Exception:
            return None
        if "error" in reply:
            log.warning("keyper %s refused: %s", url, reply["error"].get("message"))
            return None
        result = reply.get("result")
        return result if isinstance(result, list) else None

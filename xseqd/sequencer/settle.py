"""Settling commits whose shares did not come: ask every keyper ``keyper_refuse`` and
turn the answers into, per commit, either t verified shares (keypers that released under
this round's binding give their share again: the sequencer missed an answer) or a refusal
certificate of n-t+1 keypers (core/refusals.py) that makes its void provable — or nothing,
and the commit keeps waiting (it cannot be voided without a certificate, nor revealed
without t shares). A keyper whose answer fails or has the wrong shape (not an object
with a list ``result``) counts as not answering; it never aborts the round. Also the
release request both ``keyper_release`` and ``keyper_refuse`` take (xseqd/keyper.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from xseqd.core import threshold
from xseqd.core.encrypted import Envelope, split_payload
from xseqd.core.items import Item
from xseqd.core.order import ReceiptDomain
from xseqd.core.refusals import Certificate, Refusal, needed, refusal_digest, refusal_valid
from xseqd.core.threshold import Keyset, Share
from xseqd.sequencer.encrypted import Binding, Seal
from xseqd.sequencer.keyperwatch import rpc_result

log = logging.getLogger("xseqd.keypers")
Settled = tuple[Share, ...] | bytes  # t shares to reveal with, or a certificate to void with


def release_request(
    domain: ReceiptDomain, seal: Seal, after: Binding | None, commits: list[Item]
) -> dict[str, Any]:
    """The request keypers answer: the seal of slot N, its entries, the commits to open,
    and the binding (M, the roots of N+1..M, the sequencer's signature)."""
    request: dict[str, Any] = {
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
    if after is not None:
        request["after"] = after.to_json()
    return request


async def settle(
    post: Callable[[str, dict[str, Any], float], Awaitable[Any]],
    urls: list[str],
    keyset: Keyset,
    domain: ReceiptDomain,
    request: dict[str, Any],
    context: bytes,
    commits: list[Item],
    timeout: float,
    authorize: Callable[[str, dict[str, Any]], dict[str, Any]] = lambda url, r: r,
) -> list[Settled | None]:
    """Ask every keyper (over ``post``: url, JSON body, timeout → the JSON answer) to
    refuse ``commits`` (or give its share again under ``context``), ``request`` signed
    for each keyper by ``authorize`` (url, request → request with its ``auth``);
    per commit, what settles it, or None. Bounded by ``timeout``; returns as soon as
    every commit is settled."""
    envs = [Envelope.decode(split_payload(c.payload)[0]) for c in commits]
    digests = [refusal_digest(domain, env.id, keyset.id) for env in envs]
    shares: list[dict[int, Share]] = [{} for _ in commits]
    refusals: list[dict[int, Refusal]] = [{} for _ in commits]

    async def one(url: str) -> list[Any] | None:
        try:  # any failure, or an answer of the wrong shape, is "no answer from that keyper"
            asked = authorize(url, request)  # signed for this keyper (core/asks.py)
            body = {"jsonrpc": "2.0", "id": 1, "method": "keyper_refuse", "params": [asked]}
            result, error = rpc_result(await post(url, body, timeout))
        except Exception:
            return None
        if error is not None:
            log.warning("keyper %s did not refuse: %s", url, error)
        return result if isinstance(result, list) and len(result) == len(commits) else None

    def outcome(j: int) -> Settled | None:
        if len(shares[j]) >= keyset.threshold:
            return tuple(sorted(shares[j].values(), key=lambda s: s.index)[: keyset.threshold])
        if len(refusals[j]) >= needed(keyset):
            chosen = sorted(refusals[j].values(), key=lambda r: r.index)[: needed(keyset)]
            return Certificate(keyset, tuple(chosen)).encode()
        return None

    tasks = {asyncio.ensure_future(one(url)) for url in urls}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        while tasks and not all(outcome(j) is not None for j in range(len(commits))):
            done, tasks = await asyncio.wait(
                tasks, timeout=max(0.0, deadline - loop.time()), return_when=asyncio.FIRST_COMPLETED
            )
            if not done:
                break
            for task in done:
                for j, answer in enumerate(task.result() or []):
                    _take(keyset, envs[j].c1, context, digests[j], answer, shares[j], refusals[j])
    finally:
        for task in tasks:
            task.cancel()
    return [outcome(j) for j in range(len(commits))]


def _take(
    keyset: Keyset,
    c1: bytes,
    context: bytes,
    digest: bytes,
    answer: Any,
    shares: dict[int, Share],
    refusals: dict[int, Refusal],
) -> None:
    """Keep one keyper's answer about one commit if it verifies."""
    if not isinstance(answer, dict):
        return
    try:
        if "share" in answer:
            share = Share.from_json(answer["share"])
            if threshold.verify_share(keyset, c1, context, share):
                shares[share.index] = share
        elif "refusal" in answer:
            refusal = Refusal.from_json(answer["refusal"])
            if refusal_valid(keyset, digest, refusal):
                refusals[refusal.index] = refusal
    except Exception:
        return

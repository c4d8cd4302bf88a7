"""Installed filters (eth_newFilter & co.) and WebSocket subscriptions of one rollup.

The sequencer calls ``on_block`` / ``on_pending`` synchronously when a block is sealed or
a transaction accepted; filters buffer what they have not yet returned, subscriptions push
into their connection's queue. Filters not polled for ``FILTER_TTL`` seconds are dropped.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from xseqd.chains.records import BlockRecord, TxRecord
from xseqd.core.logfilter import LogCriteria
from xseqd.errors import ResourceNotFound, ServerBusy
from xseqd.rpc import format as fmt

FILTER_TTL = 300.0
MAX_FILTERS = 10_000  # installed filters per rollup
MAX_SUBSCRIPTIONS = 10_000  # eth_subscribe subscriptions per rollup
MAX_SUBSCRIPTIONS_PER_CONNECTION = 1_000  # ... and per WebSocket connection
MAX_BUFFER = 10_000


def matching_logs(record: BlockRecord, criteria: LogCriteria) -> list[dict[str, Any]]:
    """The JSON logs of ``record`` that ``criteria`` selects, in log index order."""
    if not criteria.may_match_bloom(record.block.header.bloom):
        return []
    out = []
    for tx in record.txs:
        out.extend(_tx_logs(tx, criteria))
    return out


def _tx_logs(tx: TxRecord, criteria: LogCriteria) -> list[dict[str, Any]]:
    out = []
    for i, log in enumerate(tx.receipt.logs):
        topics = [t.to_bytes(32, "big") for t in log.topics]
        if criteria.matches(bytes(log.address), topics):
            out.append(fmt.log_json(tx, i, log))
    return out


@dataclass
class Filter:
    """One installed filter: what it selects and what it has buffered since last poll."""

    kind: str  # "block", "pending", "logs"
    criteria: LogCriteria | None = None
    from_block: int | None = None
    to_block: int | None = None
    buffer: list[Any] = field(default_factory=list)
    last_poll: float = field(default_factory=time.monotonic)


@dataclass
class Subscription:
    """One eth_subscribe subscription; ``send`` queues a notification for its socket."""

    kind: str  # "newHeads", "logs", "newPendingTransactions"
    send: Callable[[str, Any], None]
    criteria: LogCriteria | None = None
    full_txs: bool = False


class FilterHub:
    """All filters and subscriptions of one rollup."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.filters: dict[str, Filter] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self.clock = clock

    @staticmethod
    def _new_id() -> str:
        return "0x" + secrets.token_hex(16)

    def install(self, flt: Filter) -> str:
        self._expire()
        if len(self.filters) >= MAX_FILTERS:
            raise ServerBusy(f"too many filters installed (at most {MAX_FILTERS} per rollup)")
        fid = self._new_id()
        flt.last_poll = self.clock()
        self.filters[fid] = flt
        return fid

    def get(self, fid: str) -> Filter:
        flt = self.filters.get(fid)
        if flt is None:
            raise ResourceNotFound("filter not found")
        return flt

    def poll(self, fid: str) -> list[Any]:
        flt = self.get(fid)
        flt.last_poll = self.clock()
        out, flt.buffer = flt.buffer, []
        return out

    def uninstall(self, fid: str) -> bool:
        return self.filters.pop(fid, None) is not None

    def subscribe(self, sub: Subscription) -> str:
        if len(self.subscriptions) >= MAX_SUBSCRIPTIONS:
            raise ServerBusy(f"too many subscriptions (at most {MAX_SUBSCRIPTIONS} per rollup)")
        mine = sum(1 for s in self.subscriptions.values() if s.send is sub.send)
        if mine >= MAX_SUBSCRIPTIONS_PER_CONNECTION:
            raise ServerBusy(
                f"too many subscriptions on this connection "
                f"(at most {MAX_SUBSCRIPTIONS_PER_CONNECTION})"
            )
        sid = self._new_id()
        self.subscriptions[sid] = sub
        return sid

    def unsubscribe(self, sid: str) -> bool:
        return self.subscriptions.pop(sid, None) is not None

    def _expire(self) -> None:
        now = self.clock()
        for fid in [f for f, flt in self.filters.items() if now - flt.last_poll > FILTER_TTL]:
            del self.filters[fid]

    # -- events from the sequencer ------------------------------------------------------

    def on_block(self, record: BlockRecord) -> None:
        for flt in self.filters.values():
            if flt.kind == "block":
                _push(flt, [fmt.h(record.hash)])
            elif flt.kind == "logs" and flt.criteria is not None:
                if flt.to_block is not None and record.number > flt.to_block:
                    continue
                _push(flt, matching_logs(record, flt.criteria))
        heads = None
        for sid, sub in self.subscriptions.items():
            if sub.kind == "newHeads":
                heads = heads or fmt.new_heads_json(record)
                sub.send(sid, heads)
            elif sub.kind == "logs" and sub.criteria is not None:
                for log in matching_logs(record, sub.criteria):
                    sub.send(sid, log)

    def on_pending(self, tx_hash: bytes, tx_json: Callable[[], Any]) -> None:
        for flt in self.filters.values():
            if flt.kind == "pending":
                _push(flt, [fmt.h(tx_hash)])
        for sid, sub in self.subscriptions.items():
            if sub.kind == "newPendingTransactions":
                sub.send(sid, tx_json() if sub.full_txs else fmt.h(tx_hash))

    def drop_connection(self, send: Callable[[str, Any], None]) -> None:
        for sid in [s for s, sub in self.subscriptions.items() if sub.send is send]:
            del self.subscriptions[sid]


def _push(flt: Filter, items: list[Any]) -> None:
    flt.buffer.extend(items)
    if len(flt.buffer) > MAX_BUFFER:
        del flt.buffer[: len(flt.buffer) - MAX_BUFFER]


def queue_sender(queue: asyncio.Queue[tuple[str, Any]]) -> Callable[[str, Any], None]:
    """A ``send`` for subscriptions that drops notifications if the socket falls behind."""

    def send(sid: str, result: Any) -> None:
        if queue.qsize() < MAX_BUFFER:
            queue.put_nowait((sid, result))

    return send

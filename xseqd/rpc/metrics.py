"""Prometheus metrics of one node, served at ``GET /metrics`` (prometheus_client).

Instrumentation stays out of core/: counters move from outside the order and execution
code, through three cheap hooks — the sequencer's ``on_slot`` listener (slots, items by
kind and status, bundle aborts, message deliveries and failures, per-rollup gas and
transactions, counted once per sealed slot), a wrapper around each registered RPC handler
(requests by method and outcome, latency histograms), and a timing proxy around the
sequencer log (commit latency). Gauges that are already state somewhere (L1 posting,
open filters and subscriptions, head slot) are read at scrape time by a collector, so
they cost nothing between scrapes. Each node has its own ``CollectorRegistry`` (tests run
several nodes in one process).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from xseqd.core.transition import Slot
from xseqd.rpc.context import Services
from xseqd.rpc.envelope import Handler, OffLoop, Registry
from xseqd.sequencer.journal import Journal

disable_created_metrics()  # no *_created series: they double the output and say nothing here

RPC_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
LOG_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)


class Metrics:
    """Every metric of one node, and the hooks that move them."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.slots = Counter("xseqd_slots_sealed", "Slots sealed", registry=r)
        self.items = Counter(
            "xseqd_items", "Items ordered in sealed slots", ["kind", "status"], registry=r
        )
        self.aborts = Counter(
            "xseqd_bundle_aborts",
            "Bundles dropped, by what failed: invalid (a leg), reverted (a leg's execution), "
            "message (a cross-rollup action)",
            ["reason"],
            registry=r,
        )
        self.messages = Counter(
            "xseqd_messages",
            "Cross-rollup messages: delivered, or failed (the unit that sent it was dropped)",
            ["source", "destination", "outcome"],
            registry=r,
        )
        self.gas = Counter(
            "xseqd_rollup_gas_used", "Gas used in sealed blocks", ["chain_id"], registry=r
        )
        self.txs = Counter(
            "xseqd_rollup_transactions",
            "Transactions in sealed blocks (system deliveries included)",
            ["chain_id"],
            registry=r,
        )
        self.rpc_requests = Counter(
            "xseqd_rpc_requests", "JSON-RPC requests served", ["method", "outcome"], registry=r
        )
        self.rpc_seconds = Histogram(
            "xseqd_rpc_request_seconds",
            "JSON-RPC handler latency (off-loop calls included)",
            ["method"],
            buckets=RPC_BUCKETS,
            registry=r,
        )
        self.log_seconds = Histogram(
            "xseqd_log_commit_seconds",
            "Sequencer log write latency, by operation",
            ["operation"],
            buckets=LOG_BUCKETS,
            registry=r,
        )

    # -- hooks --------------------------------------------------------------------------

    def watch(self, services: Services) -> None:
        """Count every slot the sequencer seals from now on, time its log writes, and read
        the node's state (``node_state``) at each scrape."""
        sequencer = services.sequencer
        sequencer.listeners.on_slot.append(self.on_slot)
        sequencer.journal = TimedJournal(sequencer.journal, self.log_seconds)
        self.registry.register(NodeState(lambda: node_state(services)))

    def on_slot(self, slot: Slot) -> None:
        self.slots.inc()
        for chain_id, record in slot.blocks.items():
            label = str(chain_id)
            self.txs.labels(label).inc(len(record.txs))
            self.gas.labels(label).inc(int(record.block.header.gas_used))
        for item in slot.items:
            self.items.labels(item.kind.label, item.status).inc()
            outcome = item.outcome
            if outcome is None:
                continue
            if item.status == "included":
                for d in outcome.deliveries:
                    sent = d.message
                    self.messages.labels(str(sent.source), str(sent.destination), "delivered").inc()
            elif outcome.abort is not None:
                self.aborts.labels(outcome.abort.kind).inc()
                failed = outcome.abort.message
                if failed is not None:
                    self.messages.labels(
                        str(failed.source), str(failed.destination), "failed"
                    ).inc()

    def instrument(self, registry: Registry[Any]) -> Registry[Any]:
        """The same methods, each counted and timed under its registered name."""
        return Registry({name: self._timed(name, fn) for name, fn in registry.methods.items()})

    def _timed(self, name: str, fn: Handler[Any]) -> Handler[Any]:
        requests, seconds = self.rpc_requests, self.rpc_seconds

        def observe(started: float, outcome: str) -> None:
            seconds.labels(name).observe(time.perf_counter() - started)
            requests.labels(name, outcome).inc()

        def handler(ctx: Any, params: list[Any]) -> Any:
            started = time.perf_counter()
            try:
                result = fn(ctx, params)
            except Exception:
                observe(started, "error")
                raise
            if not isinstance(result, OffLoop):
                observe(started, "ok")
                return result
            inner = result.fn

            def off_loop() -> Any:
                try:
                    value = inner()
                except Exception:
                    observe(started, "error")
                    raise
                observe(started, "ok")
                return value

            return OffLoop(off_loop, result.then)  # keep the on-loop step, if any

        return handler

    def exposition(self) -> bytes:
        """The Prometheus text format of every metric."""
        return generate_latest(self.registry)


class TimedJournal:
    """A ``Journal`` that times each write of the journal it wraps."""

    def __init__(self, inner: Journal, seconds: Histogram) -> None:
        self.inner = inner
        self.seconds = seconds

    def _time(self, operation: str, fn: Callable[..., Any], *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self.seconds.labels(operation).observe(time.perf_counter() - started)

    def item(self, item: Any, slot_timestamp: int | None) -> None:
        self._time("item", self.inner.item, item, slot_timestamp)

    def retime(self, slot: int, timestamp: int, items: list[Any]) -> None:
        self._time("retime", self.inner.retime, slot, timestamp, items)

    def sealed(self, number: int, timestamp: int, order_root: bytes, epoch: int) -> None:
        self._time("sealed", self.inner.sealed, number, timestamp, order_root, epoch)

    def queued(self, chain_id: int, tx: Any, sender: bytes) -> None:
        self._time("queued", self.inner.queued, chain_id, tx, sender)

    def dequeued(self, tx_hash: bytes) -> None:
        self._time("dequeued", self.inner.dequeued, tx_hash)

    def rewound(self, slot: int, epoch: int) -> None:
        self._time("rewound", self.inner.rewound, slot, epoch)

    def wants_snapshot(self, slot: int) -> bool:
        return self.inner.wants_snapshot(slot)

    def snapshot(self, slot: int, payload: bytes) -> None:
        self._time("snapshot", self.inner.snapshot, slot, payload)

    def __getattr__(self, name: str) -> Any:  # anything else the wrapped journal offers
        return getattr(self.inner, name)


# (name, help, kind) of what NodeState reads at scrape time; kind "counter" for totals
STATE_METRICS = (
    ("xseqd_head_slot", "Latest sealed slot", "gauge"),
    ("xseqd_l1_posted_through", "Highest slot committed on L1 (safe)", "gauge"),
    ("xseqd_l1_finalized_through", "Highest slot past its challenge window", "gauge"),
    ("xseqd_l1_backlog", "Sealed slots not yet committed on L1", "gauge"),
    ("xseqd_l1_head", "L1 block number last seen by the poster", "gauge"),
    ("xseqd_l1_post_failures", "Failed attempts to post to L1", "counter"),
    ("xseqd_l1_posts", "Batches posted to L1", "counter"),
    ("xseqd_l1_gas_used", "L1 gas used by posts", "counter"),
    ("xseqd_l1_invalidations", "Challenges that invalidated posted slots", "counter"),
    ("xseqd_open_filters", "Installed eth_newFilter-style filters, all rollups", "gauge"),
    ("xseqd_open_subscriptions", "eth_subscribe subscriptions, all rollups", "gauge"),
)


def node_state(services: Services) -> dict[str, Any]:
    """The values of ``STATE_METRICS`` now."""
    hubs = services.filters.values()
    out: dict[str, Any] = {
        "xseqd_head_slot": services.sequencer.head_slot,
        "xseqd_open_filters": sum(len(hub.filters) for hub in hubs),
        "xseqd_open_subscriptions": sum(len(hub.subscriptions) for hub in hubs),
    }
    poster = services.l1
    if poster is not None:
        out.update(
            xseqd_l1_posted_through=poster.safe_slot,
            xseqd_l1_finalized_through=poster.finalized_slot,
            xseqd_l1_backlog=poster.backlog,
            xseqd_l1_head=poster.l1_head,
            xseqd_l1_post_failures=poster.failures,
            xseqd_l1_posts=len(poster.batches),
            xseqd_l1_gas_used=poster.gas_used,
            xseqd_l1_invalidations=poster.invalidations,
        )
    return out


class NodeState(Collector):
    """Gauges and totals read from the node's parts at scrape time; ``read()`` returns
    values by metric name (an L1 metric absent when not settling)."""

    def __init__(self, read: Callable[[], dict[str, Any]]) -> None:
        self.read = read

    def collect(self) -> Iterator[Metric]:
        values = self.read()
        for name, doc, kind in STATE_METRICS:
            if name not in values:
                continue
            family: Metric
            if kind == "counter":
                family = CounterMetricFamily(name, doc, value=float(values[name]))
            else:
                family = GaugeMetricFamily(name, doc, value=float(values[name]))
            yield family

    def describe(self) -> Iterator[Metric]:
        return iter(())

"""``debug_trace*``: call traces in geth's shapes (chains/tracing.py does the work).

* ``debug_traceTransaction(txHash, options?)`` and ``debug_traceCall(callObject, block?,
  options?)``; ``debug_traceBlockByNumber`` / ``debug_traceBlockByHash(block, options?)``
  answer ``[{txHash, result}]``.
* ``options.tracer``: ``"callTracer"`` (``tracerConfig.onlyTopCall`` honoured) or none (the
  struct logger: ``disableStack``, ``limit``); any other tracer is -32602.
* Cross-rollup links (docs/messaging.md): the callTracer result of a transaction whose
  cross-rollup actions the sequencer delivered carries ``xseqDeliveries``, one entry per
  delivery (nested ones included) naming the message, the destination rollup, the
  delivery transaction there and that rollup's RPC URL; the trace of a delivery
  transaction carries ``xseqDeliveredFrom`` pointing back at the origin.

Every trace runs off the event loop, a traceCall at ``pending`` on a copy of the open
block's state (``chains/forks.py``). All are bounded by --rpc-evm-timeout.
"""

from __future__ import annotations

from typing import Any

from xseqd.chains import tracing
from xseqd.chains.calls import _call_state
from xseqd.core.deposits import origin_tx
from xseqd.errors import InvalidParams, ResourceNotFound
from xseqd.rpc import params as p
from xseqd.rpc.context import RollupCall
from xseqd.rpc.envelope import OffLoop, Registry

debug: Registry[RollupCall] = Registry({})


def _links(c: RollupCall, tx_hash: bytes) -> dict[str, Any]:
    """The cross-rollup links of ``tx_hash`` from the sequencer's order book."""
    book = c.services.sequencer.book
    base = c.services.base_url
    out: dict[str, Any] = {}
    item = book.find(tx_hash)
    if item is not None and item.outcome is not None and item.status == "included":
        legs = {i for i, leg in enumerate(item.legs) if leg.tx_hash == tx_hash}
        found = [
            {
                "messageId": "0x" + d.message.id.hex(),
                "source": d.message.source,
                "destination": d.message.destination,
                "deliveryTx": "0x" + d.tx_hash.hex(),
                "depth": d.depth,
                "rpcUrl": f"{base}/rollup/{d.message.destination}",
            }
            for d in item.outcome.deliveries
            if d.leg in legs
        ]
        if found:
            out["xseqDeliveries"] = found
    for origin, delivery in book.messages.values():
        if delivery.tx_hash == tx_hash:
            m = delivery.message
            out["xseqDeliveredFrom"] = {
                "messageId": "0x" + m.id.hex(),
                "source": m.source,
                "originTx": "0x" + origin_tx(origin, delivery.leg).hex(),
                "rpcUrl": f"{base}/rollup/{m.source}",
            }
            break
    return out


@debug.method("debug_traceTransaction")
def trace_transaction(c: RollupCall, params: list[Any]) -> OffLoop:
    value, options = p.positional(params, 1, 2)
    tx_hash = p.hash32(value, "transaction hash")
    config = tracing.trace_config(options)
    record = c.rollup.txs.get(tx_hash)
    if record is None:
        raise ResourceNotFound("transaction not found (only sealed transactions are traced)")
    job = tracing.prepare_tx_trace(c.rollup, record, config, c.services.limits)
    links = _links(c, tx_hash) if config.tracer == "callTracer" else {}

    def run() -> dict[str, Any]:
        result = job()
        result.update(links)
        return result

    return OffLoop(run)


def _trace_block(c: RollupCall, record: Any, options: Any) -> OffLoop:
    if record is None:
        raise ResourceNotFound("block not found")
    config = tracing.trace_config(options)
    job = tracing.prepare_block_trace(c.rollup, record, config, c.services.limits)
    links = {}
    if config.tracer == "callTracer":
        links = {"0x" + t.hash.hex(): _links(c, t.hash) for t in record.txs}

    def run() -> list[dict[str, Any]]:
        out = job()
        for entry in out:
            entry["result"].update(links.get(entry["txHash"], {}))
        return out

    return OffLoop(run)


@debug.method("debug_traceBlockByNumber")
def trace_block_by_number(c: RollupCall, params: list[Any]) -> OffLoop:
    ref, options = p.positional(params, 1, 2)
    block_ref = p.block_ref(ref)
    if block_ref.tag == "pending":
        raise InvalidParams("the pending block cannot be traced")
    return _trace_block(c, c.record(block_ref), options)


@debug.method("debug_traceBlockByHash")
def trace_block_by_hash(c: RollupCall, params: list[Any]) -> OffLoop:
    value, options = p.positional(params, 1, 2)
    return _trace_block(c, c.rollup.block_by_hash(p.hash32(value, "block hash")), options)


@debug.method("debug_traceCall")
def trace_call(c: RollupCall, params: list[Any]) -> Any:
    obj, ref, options = p.positional(params, 1, 3)
    config = tracing.trace_config(options)
    if isinstance(options, dict) and options.get("stateOverrides"):
        raise InvalidParams("state overrides are not supported")
    req = p.call_request(obj)
    header = c.header_for_state(p.block_ref(ref))
    state, own = _call_state(c.rollup, header)
    job = tracing.prepare_trace_call(c.rollup, state, req, config, c.services.limits)
    return OffLoop(job) if own else job()

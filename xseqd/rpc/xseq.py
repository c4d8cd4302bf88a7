"""The sequencer namespace ``xseq_*``, served on ``/`` and on every rollup path."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xseqd.rpc import format as fmt
from xseqd.rpc import params as p
from xseqd.rpc.context import RollupCall, Services
from xseqd.rpc.envelope import Registry


@dataclass
class RootCall:
    """Context of a request made on ``/`` (no particular rollup)."""

    services: Services


Ctx = RootCall | RollupCall
xseq_root: Registry[Any] = Registry({})


@xseq_root.method("xseq_slotNumber")
def slot_number(c: Ctx, params: list[Any]) -> str:
    return fmt.q(c.services.sequencer.head_slot)


@xseq_root.method("xseq_rollups")
def rollups(c: Ctx, params: list[Any]) -> list[dict[str, Any]]:
    base = c.services.base_url
    return [
        {"chainId": cid, "name": r.name, "rpcUrl": f"{base}/rollup/{cid}"}
        for cid, r in sorted(c.services.sequencer.rollups.items())
    ]


@xseq_root.method("xseq_getSlot")
def get_slot(c: Ctx, params: list[Any]) -> Any:
    (ref_value,) = p.positional(params, 1, 1)
    seq = c.services.sequencer
    ref = p.block_ref(ref_value)
    number = seq.head_slot if ref.number is None else ref.number
    if ref.tag == "earliest":
        number = 0
    blocks = []
    for cid, rollup in sorted(seq.rollups.items()):
        record = rollup.block(number)
        if record is None:
            return None
        header = record.block.header
        blocks.append(
            {
                "chainId": cid,
                "blockHash": fmt.h(header.hash),
                "stateRoot": fmt.h(header.state_root),
                "transactions": [fmt.h(t.hash) for t in record.txs],
            }
        )
    timestamp = next(iter(seq.rollups.values())).blocks[number].block.header.timestamp
    return {"number": fmt.q(number), "timestamp": fmt.q(timestamp), "rollups": blocks}


xseq_rollup: Registry[Any] = Registry(dict(xseq_root.methods))

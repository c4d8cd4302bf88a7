"""State proofs and access lists of a rollup endpoint: ``eth_createAccessList`` (geth's
shape) and ``eth_getProof`` (EIP-1186)."""

from __future__ import annotations

from typing import Any

from xseqd.chains import accesslist
from xseqd.rpc import format as fmt
from xseqd.rpc import params as p
from xseqd.rpc.context import RollupCall
from xseqd.rpc.envelope import Registry

state_methods: Registry[RollupCall] = Registry({})


@state_methods.method("eth_createAccessList")
def create_access_list(c: RollupCall, params: list[Any]) -> dict[str, Any]:
    obj, ref = p.positional(params, 1, 2)
    req = p.call_request(obj)
    header = c.header_for_state(p.block_ref(ref, p.PENDING))
    result = accesslist.create_access_list(c.rollup, header, req)
    answer: dict[str, Any] = {
        "accessList": [
            {"address": fmt.h(addr), "storageKeys": [fmt.h(k.to_bytes(32, "big")) for k in keys]}
            for addr, keys in result.access_list
        ],
        "gasUsed": fmt.q(result.gas_used),
    }
    if result.error is not None:
        answer["error"] = result.error
    return answer

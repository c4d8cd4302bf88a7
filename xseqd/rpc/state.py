"""State proofs and access lists of a rollup endpoint: ``eth_createAccessList`` (geth's
shape) and ``eth_getProof`` (EIP-1186)."""

from __future__ import annotations

from typing import Any

from xseqd.chains import accesslist, calls, proofs
from xseqd.chains.limits import deadline
from xseqd.errors import InvalidParams
from xseqd.rpc import format as fmt
from xseqd.rpc import params as p
from xseqd.rpc.context import RollupCall
from xseqd.rpc.envelope import OffLoop, Registry

state_methods: Registry[RollupCall] = Registry({})


@state_methods.method("eth_createAccessList")
def create_access_list(c: RollupCall, params: list[Any]) -> OffLoop:
    """Runs off the loop on a state of its own, bounded like eth_call."""
    obj, ref = p.positional(params, 1, 2)
    req = p.call_request(obj)
    header = c.header_for_state(p.block_ref(ref, p.PENDING))
    state = calls.call_state(c.rollup, header)  # on the loop: may copy the open block's
    limits = c.services.limits

    def run() -> dict[str, Any]:
        with deadline(limits):
            return _access_list_json(accesslist.create_access_list(c.rollup, header, req, state))

    return OffLoop(run)


def _access_list_json(result: accesslist.AccessListResult) -> dict[str, Any]:
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


MAX_PROOF_KEYS = 1_000  # storage keys one eth_getProof may ask for


def _proof_key(value: Any) -> tuple[int, str]:
    """geth's decodeHash: up to 32 bytes of hex. Answered back as given when 32 bytes,
    else as a quantity (geth's compatibility rule)."""
    if not isinstance(value, str):
        raise InvalidParams("invalid storage key: expected hex string")
    text = value[2:] if value[:2] in ("0x", "0X") else value
    if len(text) > 64:
        raise InvalidParams("invalid storage key: hex string too long, want at most 32 bytes")
    if not p.is_hex(text):
        raise InvalidParams(f"invalid storage key: {value!r} is not hex")
    slot = int(text or "0", 16)
    as_given = "0x" + slot.to_bytes(32, "big").hex() if len(text) == 64 else fmt.q(slot)
    return slot, as_given


@state_methods.method("eth_getProof")
def get_proof(c: RollupCall, params: list[Any]) -> dict[str, Any]:
    who, keys, ref = p.positional(params, 2, 3)
    addr = p.address(who)
    if not isinstance(keys, list):
        raise InvalidParams("invalid storage keys: expected an array")
    if len(keys) > MAX_PROOF_KEYS:
        raise InvalidParams(f"too many storage keys: at most {MAX_PROOF_KEYS}")
    parsed = [_proof_key(k) for k in keys]
    header = c.header_for_state(p.block_ref(ref))
    if header is None:  # pending: proofs are against a sealed block's state root
        header = c.rollup.head.block.header
    result = proofs.get_proof(c.rollup, header, bytes(addr), [s for s, _ in parsed])
    return {
        "address": fmt.h(result.address),
        "accountProof": [fmt.h(n) for n in result.proof],
        "balance": fmt.q(result.balance),
        "codeHash": fmt.h(result.code_hash),
        "nonce": fmt.q(result.nonce),
        "storageHash": fmt.h(result.storage_hash),
        "storageProof": [
            {"key": shown, "value": fmt.q(sp.value), "proof": [fmt.h(n) for n in sp.proof]}
            for (_, shown), sp in zip(parsed, result.storage, strict=True)
        ],
    }

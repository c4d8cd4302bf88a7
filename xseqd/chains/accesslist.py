"""eth_createAccessList as geth computes it: run the call with an access-list tracer, feed
the list found back into the call, and repeat until the list stops changing.

The tracer is geth's ``AccessListTracer``: before SLOAD/SSTORE it records the slot of the
running contract's storage; before BALANCE, EXTCODE{SIZE,COPY,HASH} and SELFDESTRUCT the
address on top of the stack; before CALL, CALLCODE, DELEGATECALL and STATICCALL the callee.
The sender, the recipient (or the created contract) and the precompiles are left out as
addresses, but a slot of any of them is recorded (with its address). py-evm has no tracing
hooks, so the tracer wraps those opcodes in a subclass of the state's computation class,
installed on the one state object for the length of a run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from eth._utils.address import generate_contract_address
from eth.abc import BlockHeaderAPI, ComputationAPI, StateAPI
from eth_typing import Address

from xseqd.chains import calls
from xseqd.chains.limits import DEFAULT_GAS_CAP
from xseqd.chains.rollup import Rollup
from xseqd.errors import TxRejected

AccessList = tuple[tuple[bytes, tuple[int, ...]], ...]

SLOT_OPS = (0x54, 0x55)  # SLOAD, SSTORE
ADDRESS_OPS = (0x31, 0x3B, 0x3C, 0x3F, 0xFF)  # BALANCE, EXTCODESIZE/COPY/HASH, SELFDESTRUCT
CALL_OPS = (0xF1, 0xF2, 0xF4, 0xFA)  # CALL, CALLCODE, DELEGATECALL, STATICCALL
MAX_ROUNDS = 32  # geth loops until stable; each round only adds, this bounds a request


def _word(value: int | bytes) -> int:
    return value if isinstance(value, int) else int.from_bytes(value, "big")


def _address(value: int | bytes) -> bytes:
    return (_word(value) & ((1 << 160) - 1)).to_bytes(20, "big")


class AccessTracer:
    """The addresses and slots one run touched (geth's ``accessList``)."""

    def __init__(self, exclude: set[bytes], initial: AccessList = ()) -> None:
        self.exclude = exclude
        self.slots: dict[bytes, set[int]] = {}
        for addr, keys in initial:
            if addr not in exclude:
                self.slots.setdefault(addr, set())
            for key in keys:
                self.slots.setdefault(addr, set()).add(key)

    def _on_op(self, op: int, computation: Any) -> None:
        stack = computation._stack.values
        if op in SLOT_OPS and stack:
            addr = bytes(computation.msg.storage_address)
            self.slots.setdefault(addr, set()).add(_word(stack[-1]))
        elif op in ADDRESS_OPS and stack:
            self._add_address(_address(stack[-1]))
        elif op in CALL_OPS and len(stack) >= 5:
            self._add_address(_address(stack[-2]))

    def _add_address(self, addr: bytes) -> None:
        if addr not in self.exclude:
            self.slots.setdefault(addr, set())

    def access_list(self) -> AccessList:
        """Sorted by address, slots sorted (geth's order)."""
        return tuple((a, tuple(sorted(self.slots[a]))) for a in sorted(self.slots))

    @contextmanager
    def installed(self, state: StateAPI) -> Iterator[None]:
        """Run ``state``'s transactions with the traced opcodes, on top of the computation
        class the state has (a call state's checks the clock: chains/limits.py)."""
        base = state.computation_class
        own = vars(state).get("computation_class")
        wrapped: dict[int, Any] = dict(base.opcodes)
        for op in (*SLOT_OPS, *ADDRESS_OPS, *CALL_OPS):
            if op in wrapped:
                wrapped[op] = _TracedOpcode(wrapped[op], op, self)
        traced = type(f"Traced{base.__name__}", (base,), {"opcodes": wrapped})
        state.computation_class = traced  # type: ignore[misc]  # instance, not class
        try:
            yield
        finally:
            if own is None:
                del state.computation_class  # type: ignore[misc]
            else:
                state.computation_class = own  # type: ignore[misc]


class _TracedOpcode:
    """An opcode that tells the tracer before it runs."""

    def __init__(self, inner: Any, op: int, tracer: AccessTracer) -> None:
        self.inner = inner
        self.op = op
        self.tracer = tracer
        self.mnemonic = getattr(inner, "mnemonic", hex(op))
        self.gas_cost = getattr(inner, "gas_cost", 0)

    def __call__(self, computation: ComputationAPI) -> Any:
        self.tracer._on_op(self.op, computation)
        return self.inner(computation=computation)


@dataclass(frozen=True)
class AccessListResult:
    access_list: AccessList
    gas_used: int
    error: str | None


def create_access_list(
    rollup: Rollup,
    header: BlockHeaderAPI | None,
    req: calls.CallRequest,
    state: StateAPI | None = None,
) -> AccessListResult:
    """The access list of the call at ``header`` (None: pending), and the gas the call uses
    with it. A call that fails still answers, with ``error`` set (geth's behaviour).
    ``state``: the call's state, taken on the loop thread (``calls.call_state``), when this
    runs on another."""
    if state is None:
        state = calls.call_state(rollup, header)
    gas = req.gas if req.gas is not None else min(state.gas_limit, DEFAULT_GAS_CAP)
    sender = Address(req.sender)
    if req.to is not None:
        to = bytes(req.to)
    else:
        to = bytes(generate_contract_address(sender, state.get_nonce(sender)))
    precompiles = {bytes(a) for a in type(state).computation_class.get_precompiles()}
    exclude = {bytes(req.sender), to, *precompiles}
    prev = AccessTracer(exclude, req.access_list)
    for _ in range(MAX_ROUNDS):
        acl = prev.access_list()
        tracer = AccessTracer(exclude, acl)
        built: list[Any] = []
        with tracer.installed(state):
            computation = calls.run(rollup, state, replace(req, access_list=acl), gas, None, built)
        outcome = calls.outcome(computation)
        gas_used = calls.tx_gas_used(rollup, state, built[0], computation)
        if tracer.slots == prev.slots:
            break
        prev = tracer
    else:
        raise TxRejected(f"access list did not settle after {MAX_ROUNDS} runs")
    return AccessListResult(acl, gas_used, outcome.error)

"""eth_call and exact eth_estimateGas on a rollup, at any block, changing nothing.

A call runs as a transaction with a spoofed sender between a snapshot and a revert, in
the context of the block it is made at (geth's behaviour, notes/clients.md pitfall 5).
Without fee fields it runs at base fee 0 and gas price 0, so the sender's balance only
has to cover ``value``. Gas estimation is geth's: one run at the cap, an optimistic guess
from the gas used, then a binary search to the exact minimum that does not fail.

Bounds (chains/limits.py): the gas of a call, and the top of the estimate's search, is at
most the gas cap; a call or estimate running longer than the timeout raises
``ExecutionTimeout``. ``prepare_call`` / ``prepare_estimate`` take what a call needs on the
caller's (event loop) thread and return a ``CallJob`` to run: a call always gets a state of
its own, built from a sealed block's state root or (``pending`` while a block is open) a
copy of the open block's working state, and may run on another thread while the sequencer
keeps writing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from eth.abc import BlockHeaderAPI, ComputationAPI, StateAPI
from eth.exceptions import OutOfGas, Revert
from eth.vm.spoof import SpoofTransaction
from eth_keys import keys
from eth_typing import Address
from eth_utils import ValidationError

from xseqd.abi import decode_revert_reason
from xseqd.chains.forks import open_state_copy
from xseqd.chains.limits import CallLimits, deadline, limit, limited
from xseqd.chains.overrides import StateOverride, apply_overrides, overridden_code
from xseqd.chains.rollup import Rollup, _geth_wording
from xseqd.chains.workspace import Workspace
from xseqd.errors import ExecutionReverted, TxRejected

TX_GAS = 21_000
T = TypeVar("T")
# Calls run as transactions signed by this throwaway key, executed as the requested sender.
_CALL_KEY = keys.PrivateKey(b"\x01" * 32)


@dataclass(frozen=True)
class CallRequest:
    """A call object as parsed from JSON-RPC (all optional fields resolved to values)."""

    sender: bytes = b"\x00" * 20
    to: bytes | None = None
    gas: int | None = None
    gas_price: int | None = None
    max_fee_per_gas: int | None = None
    max_priority_fee_per_gas: int | None = None
    value: int = 0
    data: bytes = b""
    access_list: tuple[tuple[bytes, tuple[int, ...]], ...] = ()
    nonce: int | None = None  # used by eth_sendTransaction; calls ignore it

    @property
    def has_fees(self) -> bool:
        return any(
            v is not None
            for v in (self.gas_price, self.max_fee_per_gas, self.max_priority_fee_per_gas)
        )


@dataclass(frozen=True)
class CallOutcome:
    """What a call did: success flag, gas used, return or revert bytes, and logs."""

    success: bool
    gas_used: int
    output: bytes
    error: str | None
    logs: tuple[tuple[bytes, tuple[int, ...], bytes], ...]


@dataclass(frozen=True)
class CallJob(Generic[T]):
    """A prepared read-only execution: ``run()`` it; ``own_state`` says whether it has a
    state of its own (then any thread may run it) or the open block's (owner thread only)."""

    run: Callable[[], T]
    own_state: bool


def _call_state(rollup: Rollup, header: BlockHeaderAPI | None) -> tuple[StateAPI, bool]:
    """The state a call runs on, always one of its own that checks the clock from now on:
    a fresh one at ``header``, or (None: pending) a copy of the open block's working state
    (``Rollup.open_state_copy``), else the head's. The flag says it is its own (any thread
    may run the call)."""
    if header is None:
        state = open_state_copy(rollup) if rollup.open is not None else None
        if state is None:
            state = rollup.state_at(rollup.head.block.header)
    else:
        rollup.require_state(int(header.block_number))
        state = rollup.state_at(header)
    limit(state)
    return state, True


def _job(state: StateAPI, own: bool, limits: CallLimits, body: Callable[[], T]) -> CallJob[T]:
    def run() -> T:
        with deadline(limits), nullcontext() if own else limited(state):
            return body()

    return CallJob(run, own)


@contextmanager
def _fee_context(state: StateAPI, req: CallRequest) -> Iterator[None]:
    """Without fee fields, run in a block context whose base fee is 0 (as geth does)."""
    ctx = state.execution_context
    if req.has_fees or getattr(ctx, "_base_fee_per_gas", None) in (None, 0):
        yield
        return
    zero = copy.copy(ctx)
    zero._base_fee_per_gas = 0  # type: ignore[attr-defined]
    state.execution_context = zero
    try:
        yield
    finally:
        state.execution_context = ctx


def _build_tx(rollup: Rollup, state: StateAPI, req: CallRequest, gas: int) -> Any:
    vm_class = rollup.vm_class_for(state.block_number)
    builder: Any = vm_class.get_transaction_builder()
    # A call's own nonce is ignored, as geth (SkipNonceChecks) and anvil do: ethers v6 sends
    # the nonce of the transaction it is about to sign in eth_estimateGas/eth_call. The
    # sender's current nonce is used (it also decides a CREATE's address).
    nonce = state.get_nonce(Address(req.sender))
    to = req.to if req.to is not None else b""
    base_fee = getattr(state.execution_context, "base_fee_per_gas", None)
    if base_fee is None:
        unsigned = builder.create_unsigned_transaction(
            nonce=nonce,
            gas_price=req.gas_price or 0,
            gas=gas,
            to=to,
            value=req.value,
            data=req.data,
        )
    else:
        max_fee = req.max_fee_per_gas if req.max_fee_per_gas is not None else req.gas_price
        prio = req.max_priority_fee_per_gas
        if prio is None:
            prio = req.gas_price if req.gas_price is not None else 0
        max_fee = max_fee if max_fee is not None else (base_fee + prio if req.has_fees else 0)
        if req.has_fees and max_fee < base_fee:
            raise TxRejected(
                f"max fee per gas less than block base fee: maxFeePerGas: {max_fee}, "
                f"baseFee: {base_fee}"
            )
        access_list = [(a, list(slots)) for a, slots in req.access_list]
        # (calls with an authorizationList are refused at the RPC edge for now)
        unsigned = builder.new_unsigned_dynamic_fee_transaction(
            chain_id=rollup.chain_id,
            nonce=nonce,
            max_priority_fee_per_gas=prio,
            max_fee_per_gas=max_fee,
            gas=gas,
            to=to,
            value=req.value,
            data=req.data,
            access_list=access_list,
        )
    signed = unsigned.as_signed_transaction(_CALL_KEY)
    return SpoofTransaction(signed, sender=req.sender)


def run(
    rollup: Rollup,
    state: StateAPI,
    req: CallRequest,
    gas: int,
    overrides: StateOverride | None = None,
    built: list[Any] | None = None,
) -> ComputationAPI:
    """Run once and undo (state overrides included). Raises ``TxRejected`` if the call is
    not a valid transaction. The transaction run is appended to ``built`` if given."""
    ob = rollup.open
    shared = ob is not None and state is ob.workspace.state
    workspace = ob.workspace if (shared and ob is not None) else Workspace(state)

    def prepare(s: StateAPI) -> Any:
        if overrides:
            apply_overrides(s, overrides)
        with _fee_context(s, req):
            tx = _build_tx(rollup, s, req, gas)
        if built is not None:
            built.append(tx)
        return tx

    try:
        with _fee_context(state, req):
            return workspace.try_with(prepare)
    except ValidationError as exc:
        raise TxRejected(_geth_wording(str(exc))) from exc


def tx_gas_used(rollup: Rollup, state: StateAPI, tx: Any, computation: ComputationAPI) -> int:
    """What the call would pay for as a transaction: intrinsic gas included, refunds
    deducted (a receipt's ``gasUsed``)."""
    vm_class: Any = rollup.vm_class_for(state.block_number)
    return int(vm_class.finalize_gas_used(tx, computation))


def call_state(rollup: Rollup, header: BlockHeaderAPI | None) -> StateAPI:
    """The state a call runs on (see ``_call_state``), for callers on the loop thread."""
    return _call_state(rollup, header)[0]


def outcome(computation: ComputationAPI) -> CallOutcome:
    if computation.is_error:
        err = computation.error
        reverted = isinstance(err, Revert)
        output = bytes(computation.output) if reverted else b""
        name = "execution reverted" if reverted else _vm_error_wording(err)
        return CallOutcome(False, int(computation.get_gas_used()), output, name, ())
    logs = tuple((bytes(a), tuple(t), bytes(d)) for a, t, d in computation.get_log_entries())
    return CallOutcome(True, int(computation.get_gas_used()), bytes(computation.output), None, logs)


def prepare_call(
    rollup: Rollup,
    header: BlockHeaderAPI | None,
    req: CallRequest,
    limits: CallLimits,
    overrides: StateOverride | None = None,
) -> CallJob[CallOutcome]:
    """A call at ``header`` (None: pending), ready to run; it never changes state."""
    state, own = _call_state(rollup, header)
    gas = limits.cap(req.gas if req.gas is not None else int(state.gas_limit))
    return _job(state, own, limits, lambda: outcome(run(rollup, state, req, gas, overrides)))


def call(
    rollup: Rollup,
    header: BlockHeaderAPI | None,
    req: CallRequest,
    limits: CallLimits | None = None,
    overrides: StateOverride | None = None,
) -> CallOutcome:
    """Execute a call at ``header`` (None: pending) on this thread; never changes state."""
    return prepare_call(rollup, header, req, limits or CallLimits(), overrides).run()


def raise_for_failure(outcome: CallOutcome) -> None:
    """Raise code 3 (with revert bytes) for a revert, -32000 for other failures."""
    if outcome.success:
        return
    if outcome.error == "execution reverted":
        reason = decode_revert_reason(outcome.output)
        message = "execution reverted" + (f": {reason}" if reason else "")
        raise ExecutionReverted(message, "0x" + outcome.output.hex())
    raise TxRejected(outcome.error or "execution failed")


def _vm_error_wording(error: Exception) -> str:
    if isinstance(error, OutOfGas):
        return "out of gas"
    text = type(error).__name__
    if "InvalidInstruction" in text:
        return "invalid opcode"
    if "StackDepth" in text:
        return "max call depth exceeded"
    return f"execution failed: {text}"


def prepare_estimate(
    rollup: Rollup,
    header: BlockHeaderAPI | None,
    req: CallRequest,
    limits: CallLimits,
    overrides: StateOverride | None = None,
) -> CallJob[int]:
    """A gas estimate at ``header`` (None: pending), ready to run."""
    state, own = _call_state(rollup, header)
    cap = limits.cap(req.gas if req.gas is not None else int(state.gas_limit))
    return _job(state, own, limits, lambda: _estimate(rollup, state, req, cap, overrides or {}))


def estimate_gas(
    rollup: Rollup,
    header: BlockHeaderAPI | None,
    req: CallRequest,
    limits: CallLimits | None = None,
    overrides: StateOverride | None = None,
) -> int:
    """The exact minimum gas with which the call does not fail (on this thread)."""
    return prepare_estimate(rollup, header, req, limits or CallLimits(), overrides).run()


def _estimate(
    rollup: Rollup, state: StateAPI, req: CallRequest, cap: int, ov: StateOverride
) -> int:
    """The exact minimum gas with which the call does not fail, searched up to ``cap``."""
    if req.to is not None and not req.data and not overridden_code(state, ov, req.to):
        first = outcome(run(rollup, state, req, TX_GAS, ov))
        if first.success:
            return TX_GAS
    top = outcome(run(rollup, state, req, cap, ov))
    if not top.success:
        if top.error == "out of gas":
            raise TxRejected(f"gas required exceeds allowance ({cap})")
        raise_for_failure(top)
    lo = top.gas_used - 1
    hi = cap
    optimistic = (top.gas_used + 2300) * 64 // 63
    if optimistic < hi and _succeeds(rollup, state, req, optimistic, ov):
        hi = optimistic
    while lo + 1 < hi:
        mid = (lo + hi) // 2
        if _succeeds(rollup, state, req, mid, ov):
            hi = mid
        else:
            lo = mid
    return hi


def _succeeds(
    rollup: Rollup, state: StateAPI, req: CallRequest, gas: int, overrides: StateOverride
) -> bool:
    try:
        computation = run(rollup, state, req, gas, overrides)
    except TxRejected:
        return False
    if computation.is_error and not isinstance(computation.error, (OutOfGas, Revert)):
        return False
    return not computation.is_error

"""Transaction traces in geth's shapes: the ``callTracer`` call tree and the default struct
logger (debug_traceTransaction, debug_traceCall, debug_traceBlockBy*).

A trace re-executes: a transaction of a sealed block runs on a state built from the
parent's state root in the block's own context (the fork's block pre-processing applied,
then the block's earlier transactions replayed), a call on the state ``eth_call`` would use.
Only the traced transaction gets a computation class that records; it is built per trace
on top of chains/limits.py's clock-checking class, so traces are bounded by the call
timeout like ``eth_call`` (and a traced call's gas by the gas cap).

* callTracer: every message (``apply_computation``, which py-evm runs for the top call and
  for each child through ``apply_child_computation``) opens a frame; its kind comes from
  the CALL*/CREATE* opcode that made it. Results (output, error, gas used) are read from
  the finished computations once the transaction is done, so a CREATE's code-deposit
  charge or failure is included.
* struct logger: every opcode is wrapped: ``pc``, ``op``, ``gas`` before it, ``gasCost``
  (gas it consumed in its own frame; for CALL*/CREATE* that includes what the child used),
  ``depth`` (1 at the top) and the ``stack`` (unless ``disableStack``). At most
  ``MAX_STRUCT_LOGS`` entries (100 000) are kept, or ``limit`` if smaller; a longer run
  is cut and the result says ``"truncated": true``. Memory and storage are not recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eth.abc import ComputationAPI, StateAPI
from eth.exceptions import Revert
from eth.vm.spoof import SpoofTransaction
from eth_utils import ValidationError

from xseqd.abi import decode_revert_reason
from xseqd.chains.calls import CallRequest, _build_tx, _fee_context, _vm_error_wording
from xseqd.chains.limits import CallLimits, deadline, limit, limited_class
from xseqd.chains.records import BlockRecord, TxRecord
from xseqd.chains.rollup import Rollup, _geth_wording
from xseqd.chains.workspace import Workspace
from xseqd.errors import InvalidParams, TxRejected

MAX_STRUCT_LOGS = 100_000
TRACERS = ("callTracer",)  # and the default struct logger (no tracer)

_CALL_KINDS = {
    0xF0: "CREATE",
    0xF1: "CALL",
    0xF2: "CALLCODE",
    0xF4: "DELEGATECALL",
    0xF5: "CREATE2",
    0xFA: "STATICCALL",
}


@dataclass(frozen=True)
class TraceConfig:
    """What to record: ``tracer`` None is the struct logger."""

    tracer: str | None = None
    disable_stack: bool = False
    limit: int = MAX_STRUCT_LOGS
    only_top_call: bool = False


def trace_config(options: Any) -> TraceConfig:
    """Parse a trace options object; unknown tracers raise ``InvalidParams`` (-32602)."""
    if options is None:
        return TraceConfig()
    if not isinstance(options, dict):
        raise InvalidParams("trace options must be an object")
    tracer = options.get("tracer")
    if tracer is not None and tracer not in TRACERS:
        raise InvalidParams(
            f"unsupported tracer {tracer!r}: supported are 'callTracer' and the default "
            "struct logger (no tracer)"
        )
    if options.get("tracerConfig") not in (None, {}) and tracer is None:
        raise InvalidParams("tracerConfig needs a tracer")
    tcfg = options.get("tracerConfig") or {}
    if not isinstance(tcfg, dict):
        raise InvalidParams("tracerConfig must be an object")
    if tcfg.get("withLog"):
        raise InvalidParams("callTracer withLog is not supported")
    limit_value = options.get("limit") or MAX_STRUCT_LOGS
    if not isinstance(limit_value, int) or limit_value < 0:
        raise InvalidParams("limit must be a non-negative integer")
    return TraceConfig(
        tracer=tracer,
        disable_stack=bool(options.get("disableStack", False)),
        limit=min(limit_value, MAX_STRUCT_LOGS),
        only_top_call=bool(tcfg.get("onlyTopCall", False)),
    )


@dataclass
class Frame:
    kind: str
    sender: bytes
    to: bytes
    value: int | None
    gas: int
    input: bytes
    computation: ComputationAPI | None = None
    calls: list[Frame] = field(default_factory=list)

    def to_json(self, only_top: bool = False) -> dict[str, Any]:
        comp = self.computation
        out: dict[str, Any] = {
            "type": self.kind,
            "from": "0x" + self.sender.hex(),
            "to": "0x" + self.to.hex(),
            "gas": hex(self.gas),
            "gasUsed": hex(int(comp.get_gas_used()) if comp is not None else self.gas),
            "input": "0x" + self.input.hex(),
        }
        if self.value is not None:
            out["value"] = hex(self.value)
        if comp is None:
            out["error"] = "execution failed"
        elif comp.is_error:
            err = comp.error
            if isinstance(err, Revert):
                output = bytes(comp.output)
                out["output"] = "0x" + output.hex()
                out["error"] = "execution reverted"
                reason = decode_revert_reason(output)
                if reason:
                    out["revertReason"] = reason
            else:
                out["error"] = _vm_error_wording(err)
        else:
            out["output"] = "0x" + bytes(comp.output).hex()
        if self.calls and not only_top:
            out["calls"] = [c.to_json() for c in self.calls]
        return out


class Recorder:
    """What one trace records while its transaction runs."""

    def __init__(self, config: TraceConfig) -> None:
        self.config = config
        self.struct = config.tracer is None
        self.root: Frame | None = None
        self.stack: list[Frame] = []
        self.next_kind: str | None = None
        self.logs: list[dict[str, Any]] = []
        self.truncated = False

    # -- frames --------------------------------------------------------------------------

    def enter(self, message: Any) -> None:
        kind = self.next_kind or ("CREATE" if message.is_create else "CALL")
        self.next_kind = None
        to = bytes(message.code_address if kind == "DELEGATECALL" else message.storage_address)
        frame = Frame(
            kind=kind,
            sender=bytes(message.sender),
            to=to,
            value=None if kind == "STATICCALL" else int(message.value),
            gas=int(message.gas),
            input=bytes(message.code if message.is_create else message.data),
        )
        if self.stack:
            self.stack[-1].calls.append(frame)
        elif self.root is None:
            self.root = frame
        self.stack.append(frame)

    def exit(self, computation: ComputationAPI) -> None:
        if self.stack:
            self.stack.pop().computation = computation

    # -- struct logs ---------------------------------------------------------------------

    def step(self, computation: Any, mnemonic: str) -> dict[str, Any] | None:
        if len(self.logs) >= self.config.limit:
            self.truncated = True
            return None
        entry: dict[str, Any] = {
            "pc": max(0, computation.code.program_counter - 1),
            "op": mnemonic,
            "gas": int(computation.get_gas_remaining()),
            "gasCost": 0,
            "depth": int(computation.msg.depth) + 1,
        }
        if not self.config.disable_stack:
            entry["stack"] = [
                hex(v if isinstance(v, int) else int.from_bytes(v, "big"))
                for v in computation._stack.values
            ]
        self.logs.append(entry)
        return entry


class _Hook:
    """An opcode that reports to a recorder before (and after) it runs."""

    def __init__(self, inner: Any, opcode: int, rec: Recorder) -> None:
        self.inner = inner
        self.rec = rec
        self.kind = _CALL_KINDS.get(opcode)
        self.mnemonic = getattr(inner, "mnemonic", "?")
        self.gas_cost = getattr(inner, "gas_cost", 0)

    def __call__(self, computation: Any) -> None:
        rec = self.rec
        entry = rec.step(computation, self.mnemonic) if rec.struct else None
        if self.kind is not None:
            rec.next_kind = self.kind
        try:
            self.inner(computation=computation)
        finally:
            rec.next_kind = None
            if entry is not None:
                entry["gasCost"] = entry["gas"] - int(computation.get_gas_remaining())


def traced_class(base: type[Any], rec: Recorder) -> type[Any]:
    """``base`` (a computation class) with the clock checks of chains/limits.py and hooks
    reporting to ``rec``."""
    checked = limited_class(base)
    opcodes = dict(checked.opcodes)
    for op, fn in list(opcodes.items()):
        if rec.struct or op in _CALL_KINDS:
            opcodes[op] = _Hook(fn, op, rec)

    def apply_computation(
        cls: Any,
        state: StateAPI,
        message: Any,
        transaction_context: Any,
        parent_computation: Any = None,
    ) -> ComputationAPI:
        rec.enter(message)
        computation: ComputationAPI = super(traced, cls).apply_computation(
            state, message, transaction_context, parent_computation
        )
        rec.exit(computation)
        return computation

    traced: type[Any] = type(
        f"Traced{base.__name__}",
        (checked,),
        {"opcodes": opcodes, "apply_computation": classmethod(apply_computation)},
    )
    return traced


# -- running ------------------------------------------------------------------------------


def _tx_gas_used(tx: Any, computation: ComputationAPI) -> int:
    """What the transaction paid for: gas limit minus what is left, less the refund (EIP-3529)."""
    used = int(tx.gas) - int(computation.get_gas_remaining())
    if computation.is_error:
        return used
    return used - min(int(computation.get_gas_refund()), used // 5)


def _result(
    rec: Recorder, tx: Any, computation: ComputationAPI, gas_used: int | None = None
) -> dict[str, Any]:
    used = _tx_gas_used(tx, computation) if gas_used is None else gas_used
    if rec.struct:
        failed = computation.is_error
        ret = (
            bytes(computation.output)
            if (not failed or isinstance(computation.error, Revert))
            else b""
        )
        out: dict[str, Any] = {
            "gas": used,
            "failed": failed,
            "returnValue": "0x" + ret.hex(),
            "structLogs": rec.logs,
        }
        if rec.truncated:
            out["truncated"] = True
        return out
    root = rec.root
    if root is None:  # a transfer to an account without code still runs a message
        raise TxRejected("nothing was executed")
    top = root.to_json(rec.config.only_top_call)
    top["gas"] = hex(int(tx.gas))
    top["gasUsed"] = hex(used)
    return top


def _run_traced(
    state: StateAPI, executed: Any, config: TraceConfig, shared: bool = False
) -> tuple[Recorder, ComputationAPI]:
    """Run ``executed`` on ``state`` with a recording computation class; with ``shared``
    the state is the open block's and the run is undone."""
    rec = Recorder(config)
    before = vars(state).get("computation_class")
    state.computation_class = traced_class(type(state).computation_class, rec)  # type: ignore[misc]
    try:
        workspace = Workspace(state)
        computation = workspace.try_run(executed) if shared else workspace.run(executed)
    except ValidationError as exc:
        raise TxRejected(_geth_wording(str(exc))) from exc
    finally:
        if before is None:
            vars(state).pop("computation_class", None)
        else:
            state.computation_class = before  # type: ignore[misc]
    return rec, computation


def _executed(record: TxRecord) -> Any:
    tx = record.tx
    return tx if record.sender == bytes(tx.sender) else SpoofTransaction(tx, sender=record.sender)


def block_start_state(rollup: Rollup, record: BlockRecord, parent: BlockRecord) -> StateAPI:
    """The state block ``record`` started from: the parent's post-state in this block's
    context, with the fork's block pre-processing applied (clock-checked, chains/limits)."""
    number = record.number
    rollup.require_state(parent.number)
    header = record.block.header.copy(state_root=parent.block.header.state_root, gas_used=0)
    vm_class = rollup.vm_class_for(number)
    consensus = rollup.chain.consensus_context  # type: ignore[attr-defined]
    vm: Any = vm_class(header, rollup.chaindb, rollup.context, consensus)
    state: StateAPI = vm.state
    limit(state)
    vm.block_preprocessing(vm.get_block())
    return state


def prepare_block_trace(
    rollup: Rollup,
    record: BlockRecord,
    config: TraceConfig,
    limits: CallLimits,
    only: int | None = None,
) -> Callable[[], list[dict[str, Any]]]:
    """Trace every transaction of a sealed block (or only the one at index ``only``):
    ``[{txHash, result}]``. Resolved here; the returned job may run on any thread."""
    if record.number == 0:
        raise InvalidParams("genesis is not traceable")
    parent = rollup.block(record.number - 1)
    if parent is None:
        raise InvalidParams(f"parent of block {record.number} not found")

    def run() -> list[dict[str, Any]]:
        with deadline(limits):
            state = block_start_state(rollup, record, parent)
            workspace = Workspace(state)
            out: list[dict[str, Any]] = []
            for txr in record.txs:
                if only is not None and txr.index > only:
                    break
                if only is not None and txr.index < only:
                    workspace.run(_executed(txr))
                    continue
                rec, computation = _run_traced(state, _executed(txr), config)
                result = _result(rec, txr.tx, computation, txr.gas_used)
                out.append({"txHash": "0x" + txr.hash.hex(), "result": result})
            return out

    return run


def prepare_tx_trace(
    rollup: Rollup, record: TxRecord, config: TraceConfig, limits: CallLimits
) -> Callable[[], dict[str, Any]]:
    """Trace one sealed transaction by re-executing its block up to it."""
    block = rollup.block(record.block_number)
    if block is None or block.hash != record.block_hash:
        raise InvalidParams("the transaction's block is no longer canonical")
    job = prepare_block_trace(rollup, block, config, limits, only=record.index)

    def run() -> dict[str, Any]:
        [entry] = job()
        result: dict[str, Any] = entry["result"]
        return result

    return run


def prepare_trace_call(
    rollup: Rollup,
    state: StateAPI,
    req: CallRequest,
    config: TraceConfig,
    limits: CallLimits,
) -> Callable[[], dict[str, Any]]:
    """A traced call on ``state`` (a state of its own, or the open block's), undone after."""
    gas = limits.cap(req.gas if req.gas is not None else int(state.gas_limit))

    def run() -> dict[str, Any]:
        with deadline(limits), _fee_context(state, req):
            tx = _build_tx(rollup, state, req, gas)
            rec, computation = _run_traced(state, tx, config, shared=True)
            return _result(rec, tx, computation)

    return run

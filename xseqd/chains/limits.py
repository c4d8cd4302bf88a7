"""Bounds on read-only executions (eth_call, eth_estimateGas): a gas cap and a deadline.

The deadline is checked inside py-evm's interpreter loop: a call's state gets a subclass of
its fork's computation class whose backward-capable opcodes (JUMP, JUMPI) and message
opcodes (CALL*, CREATE*) first look at the clock. Every loop goes through a jump and every
recursion through a message, and straight-line code between them is bounded by the code
size, so checking there bounds the time an execution can run past its deadline. Only call
states get this class: ordered transactions never see a clock and stay deterministic.

``CallLimits.abort_all`` (at shutdown) makes every running call stop at its next check.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from eth.abc import ComputationAPI, StateAPI

from xseqd.errors import ExecutionTimeout

DEFAULT_GAS_CAP = 50_000_000
DEFAULT_TIMEOUT = 5.0

# JUMP, JUMPI, CREATE, CALL, CALLCODE, DELEGATECALL, CREATE2, STATICCALL
_CHECKED = (0x56, 0x57, 0xF0, 0xF1, 0xF2, 0xF4, 0xF5, 0xFA)


@dataclass(frozen=True)
class CallLimits:
    """The gas cap and wall-clock limit of read-only executions (0: none), and the switch
    that aborts them all (set when the node stops)."""

    gas_cap: int = DEFAULT_GAS_CAP
    timeout: float = DEFAULT_TIMEOUT
    stopping: threading.Event = field(default_factory=threading.Event, compare=False)

    def cap(self, gas: int) -> int:
        return gas if self.gas_cap <= 0 else min(gas, self.gas_cap)

    def abort_all(self) -> None:
        """Stop every running call at its next check, and every later one at once."""
        self.stopping.set()


_NEVER = threading.Event()


class _Clock(threading.local):
    deadline: float = float("inf")
    timeout: float = 0.0
    stopping: threading.Event = _NEVER


_clock = _Clock()


def _expired() -> bool:
    clock = _clock
    return time.monotonic() > clock.deadline or clock.stopping.is_set()


def _timeout() -> ExecutionTimeout:
    return ExecutionTimeout(_clock.timeout, shutting_down=_clock.stopping.is_set())


@contextmanager
def deadline(limits: CallLimits) -> Iterator[None]:
    """Run the body with this thread's calls bounded by ``limits.timeout`` seconds."""
    before = (_clock.deadline, _clock.timeout, _clock.stopping)
    timeout = limits.timeout
    _clock.deadline = time.monotonic() + timeout if timeout > 0 else float("inf")
    _clock.timeout = timeout
    _clock.stopping = limits.stopping
    try:
        if _expired():
            raise _timeout()
        yield
    finally:
        _clock.deadline, _clock.timeout, _clock.stopping = before


class _Checked:
    """An opcode that checks the clock before running."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.mnemonic = getattr(inner, "mnemonic", "?")
        self.gas_cost = getattr(inner, "gas_cost", 0)

    def __call__(self, computation: ComputationAPI) -> None:
        if _expired():
            raise _timeout()
        self.inner(computation=computation)


_limited: dict[type[Any], type[Any]] = {}
_lock = threading.Lock()


def limited_class(base: type[Any]) -> type[Any]:
    """``base`` (a computation class) with clock checks on jumps and messages (cached)."""
    with _lock:
        cls = _limited.get(base)
        if cls is None:
            opcodes = dict(base.opcodes)
            for op in _CHECKED:
                if op in opcodes:
                    opcodes[op] = _Checked(opcodes[op])
            cls = type(f"Limited{base.__name__}", (base,), {"opcodes": opcodes})
            _limited[base] = cls
        return cls


def limit(state: StateAPI) -> None:
    """Make calls on ``state`` (a state of their own) check the clock."""
    state.computation_class = limited_class(type(state).computation_class)  # type: ignore[misc]


@contextmanager
def limited(state: StateAPI) -> Iterator[None]:
    """Check the clock in calls on a shared ``state`` (the open block's) for the body only."""
    limit(state)
    try:
        yield
    finally:
        vars(state).pop("computation_class", None)  # back to the class attribute

"""Private copies of a rollup's open block, for reads and simulations that run on worker
threads while the block goes on: ``open_state_copy`` (``pending`` calls, traces, access
lists) and ``fork`` (``xseq_callBundle``)."""

from __future__ import annotations

import copy
from dataclasses import replace

from eth.abc import StateAPI

from xseqd.chains.rollup import Rollup
from xseqd.chains.workspace import Workspace


def open_state_copy(self: Rollup) -> StateAPI:
    """A state of its own equal to the open block's working state now, in the open
    block's execution context: reads on it (``pending`` calls) may run on another
    thread while the block goes on.

    The working state's changes are first written to the database (py-evm's
    ``persist``, which sealing does too; between transactions it changes nothing a
    later transaction sees: test_open_state_copy.py re-imports such blocks), at most
    once per applied operation, and the copy is a fresh state at the resulting root.
    """
    ob = self.require_open()
    state = ob.workspace.state
    if ob.copied is None or ob.copied[0] != len(ob.ops):
        state.persist()
        ob.copied = (len(ob.ops), bytes(state.state_root))
    copy: StateAPI = type(state)(self.chaindb.db, state.execution_context, ob.copied[1])
    return copy


def fork(self: Rollup) -> Rollup:
    """A throwaway twin whose open block is a private copy of this one's (its state from
    ``open_state_copy``): transactions applied to it (``xseq_callBundle`` simulations,
    on another thread) never reach this rollup. It shares the sealed chain and must
    never be sealed."""
    ob = self.require_open()
    twin = copy.copy(self)
    twin._open = replace(
        ob,
        _vm=ob.vm,
        _workspace=Workspace(open_state_copy(self)),
        txs=list(ob.txs),
        receipts=list(ob.receipts),
        senders=list(ob.senders),
        ops=list(ob.ops),
        copied=None,
    )
    return twin

"""Running transactions on one py-evm state exactly as py-evm's block import does.

Each transaction starts with ``state.lock_changes()`` (the value a slot had when the
transaction began is its EIP-2200 "original" value, and warm-access sets are reset),
then runs between a snapshot and a commit. py-evm's ``lock_changes`` flushes storage
journals, so a snapshot cannot span several transactions: groups of transactions are
undone one level up, by ``Rollup.revert`` rebuilding the open block from its committed
prefix (see chains/rollup.py). A ``Workspace`` snapshot is only ever used around a
single transaction (calls, gas estimation).
"""

from __future__ import annotations

from collections.abc import Callable

from eth.abc import ComputationAPI, SignedTransactionAPI, StateAPI
from eth.typing import JournalDBCheckpoint

StateSnapshot = tuple[bytes, JournalDBCheckpoint]


class Workspace:
    """A py-evm state that transactions are run on one at a time."""

    def __init__(self, state: StateAPI) -> None:
        self.state = state

    def run(self, tx: SignedTransactionAPI) -> ComputationAPI:
        """Execute one transaction. Raises py-evm's ``ValidationError`` for an invalid
        transaction, in which case the state is unchanged."""
        self.state.lock_changes()
        snap = self.state.snapshot()
        try:
            computation = self.state.apply_transaction(tx)
        except Exception:
            self.state.revert(snap)
            raise
        self.state.commit(snap)
        return computation

    def try_run(self, tx: SignedTransactionAPI) -> ComputationAPI:
        """Execute one transaction and undo it (eth_call, gas estimation)."""
        self.state.lock_changes()
        snap = self.state.snapshot()
        try:
            return self.state.apply_transaction(tx)
        finally:
            self.state.revert(snap)

    def try_with(self, prepare: Callable[[StateAPI], SignedTransactionAPI]) -> ComputationAPI:
        """Like ``try_run``, with ``prepare`` changing the state inside the snapshot (state
        overrides) and building the transaction from it; its changes are undone too."""
        self.state.lock_changes()
        snap = self.state.snapshot()
        try:
            return self.state.apply_transaction(prepare(self.state))
        finally:
            self.state.revert(snap)

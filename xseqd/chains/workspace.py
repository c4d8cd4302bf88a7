"""Nested snapshot/commit/revert over one py-evm state, across several transactions.

py-evm's ``VM.apply_transaction`` calls ``state.lock_changes()`` before each transaction,
which flushes storage journals and so silently breaks any snapshot taken before an earlier
transaction: reverting a two-transaction bundle would keep the first one's storage writes.
A ``Workspace`` runs transactions without that flush. Between transactions it only resets
the EIP-2929 warm-access tracking (as ``lock_changes`` does), re-recording the snapshots
that are still open so they stay valid. Re-importing our blocks with py-evm's own
``import_block`` gives identical roots and gas (tests/chains/test_workspace.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth.abc import ComputationAPI, SignedTransactionAPI, StateAPI
from eth.typing import JournalDBCheckpoint


@dataclass(frozen=True)
class Snapshot:
    """A point a workspace can return to; ``marker`` is caller data (e.g. list lengths)."""

    state_snapshot: tuple[bytes, JournalDBCheckpoint]
    depth: int
    marker: Any = None


class Workspace:
    """A py-evm state plus the stack of snapshots currently open on it."""

    def __init__(self, state: StateAPI) -> None:
        self.state = state
        self._open: list[JournalDBCheckpoint] = []

    def snapshot(self, marker: Any = None) -> Snapshot:
        """Open a snapshot; it must later be committed or reverted, innermost first."""
        state_snapshot = self.state.snapshot()
        self._open.append(state_snapshot[1])
        return Snapshot(state_snapshot, len(self._open), marker)

    def commit(self, snap: Snapshot) -> None:
        """Keep everything done since ``snap`` (merging it into the enclosing snapshot)."""
        self._close(snap)
        self.state.commit(snap.state_snapshot)

    def revert(self, snap: Snapshot) -> None:
        """Undo everything done since ``snap``."""
        self._close(snap)
        self.state.revert(snap.state_snapshot)

    def _close(self, snap: Snapshot) -> None:
        if len(self._open) != snap.depth or self._open[-1] != snap.state_snapshot[1]:
            raise RuntimeError("snapshots must be closed innermost first")
        self._open.pop()

    def run(self, tx: SignedTransactionAPI) -> ComputationAPI:
        """Execute one transaction as a fresh transaction (cold access sets).

        Raises py-evm's ``ValidationError`` for an invalid transaction, in which case the
        state is unchanged.
        """
        self._begin_transaction()
        snap = self.snapshot()
        try:
            computation = self.state.apply_transaction(tx)
        except Exception:
            self.revert(snap)
            raise
        self.commit(snap)
        return computation

    def _begin_transaction(self) -> None:
        account_db: Any = self.state._account_db  # type: ignore[attr-defined]
        account_db._reset_access_counters()
        for checkpoint in self._open:
            account_db._journal_accessed_state.record(checkpoint)

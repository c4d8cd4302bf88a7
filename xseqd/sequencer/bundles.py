"""Bundles at the sequencer: checked, then run atomically in the open slot (through the
slot transition), or held until their ``minSlot`` and dropped past their ``maxSlot``;
simulated (``xseq_callBundle``) and cancelled (``xseq_cancelBundle``).

An execution failure is an ordered item with status ``aborted`` (it has a receipt and a
place); a structural problem is a ``BundleRejected`` error and nothing is ordered.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

from xseqd.chains.forks import fork
from xseqd.chains.limits import CallLimits, deadline, limit
from xseqd.core import checks, transition
from xseqd.core.atomic import BundleOutcome, Leg
from xseqd.core.items import Item, ItemKind
from xseqd.errors import InvalidParams, ServerBusy
from xseqd.sequencer.intake import check_bundle_shape, check_not_known, check_slot_bounds, fits
from xseqd.sequencer.view import SequencerView

# Bundles held for a later slot (minSlot) at once; more are refused until some run or expire.
MAX_HELD_BUNDLES = 1_000


class BundleDesk:
    """Submission, holding, simulation and cancellation of bundles for one sequencer."""

    def __init__(self, seq: SequencerView) -> None:
        self.seq = seq
        self.searcher: Any = None  # DEV ONLY --fault frontrun: sequencer/frontrun.py

    def submit(
        self,
        legs: list[Leg],
        min_slot: int | None = None,
        max_slot: int | None = None,
        replacement_uuid: str | None = None,
    ) -> Item:
        """Order a bundle: run it atomically now, or hold it until ``min_slot``."""
        seq = self.seq
        checks.refuse_system_account([(leg.tx, leg.sender) for leg in legs])
        check_bundle_shape(legs, seq.rollups)
        held = {leg.tx_hash for item in seq.book.held for leg in item.legs}
        known = [g.tx_hash for g in legs if seq.knows(g.chain_id, g.tx_hash) or g.tx_hash in held]
        next_slot = seq.head_slot + 1
        check_slot_bounds(min_slot, max_slot, next_slot)
        item = Item(ItemKind.BUNDLE, tuple(legs), b"", "ordered", None, None, None, None,
                    min_slot, max_slot, replacement_uuid)  # fmt: skip
        check_not_known(known, seq.book.items.get(item.item_hash))
        if min_slot is not None and min_slot > next_slot:
            if len(seq.book.held) >= MAX_HELD_BUNDLES:
                raise ServerBusy(
                    f"too many held bundles (at most {MAX_HELD_BUNDLES}); "
                    "wait for some to run or cancel them"
                )
            seq.book.hold(item)
            seq.journal.item(item, None)
            return item
        self.run(item)
        return item

    def run_held(self, item: Item) -> None:
        """A held bundle whose slot has come: run it, or drop it (expired / known)."""
        seq = self.seq
        if item.max_slot is not None and item.max_slot < seq.head_slot + 1:
            item.status = "expired"
        elif any(seq.knows(leg.chain_id, leg.tx_hash) for leg in item.legs):
            item.status = "aborted"
        else:
            return self.run(item)
        seq.journal.item(item, None)

    def run(self, item: Item) -> None:
        seq = self.seq
        seq.open_slot()
        if not fits(seq.rollups, item.legs) and seq.open_slot_has_items:
            seq.seal_slot()
            seq.open_slot()
        back = self.searcher.front_run(seq.rollups, item.legs) if self.searcher else []
        item.outcome = transition.apply_item(seq.rollups, item.kind, item.legs, b"")
        item.status = "included" if item.outcome.included else "aborted"
        seq.order(item)
        for chain_id, tx in back:
            self.searcher.back_run(chain_id, tx)
        if item.outcome.included:
            for leg in item.legs:
                seq.promote(leg.chain_id, leg.sender or bytes(leg.tx.sender))
                for callback in seq.listeners.on_pending:
                    callback(leg.chain_id, leg.tx_hash)

    def simulate(self, legs: list[Leg], limits: CallLimits | None = None) -> BundleOutcome:
        """Run a bundle on the open slot's state and undo it (xseq_callBundle)."""
        return self.prepare_simulation(legs, limits)()

    def prepare_simulation(
        self, legs: list[Leg], limits: CallLimits | None = None
    ) -> Callable[[], BundleOutcome]:
        """Check a bundle and copy every rollup's open block (``chains/forks.py``), on the loop
        thread; the returned job runs the bundle on the copies, on any thread, and never
        touches the sequencer.

        With ``limits``: a leg whose gas is above the gas cap is refused here, and the job
        is aborted at the timeout (``ExecutionTimeout``).
        """
        seq = self.seq
        check_bundle_shape(legs, seq.rollups)
        if limits is not None and limits.gas_cap > 0:
            for i, leg in enumerate(legs):
                if leg.tx.gas > limits.gas_cap:
                    raise InvalidParams(
                        f"leg {i}: gas {leg.tx.gas} above the RPC gas cap {limits.gas_cap}"
                    )
        was_open = seq.has_open_slot
        # a simulation orders nothing: opening the slot for it must not run the held
        # bundles due there (they would be ordered, ahead of any reveals: red team 5)
        held, seq.book.held = seq.book.held, []
        try:
            seq.open_slot()
            forks = {cid: fork(r) for cid, r in seq.rollups.items()}
        finally:
            seq.book.held = held + seq.book.held
            if not was_open and not seq.open_slot_has_items:
                seq.discard_open_slot()
        if limits is not None:
            for twin in forks.values():
                assert twin.open is not None
                limit(twin.open.workspace.state)

        def run() -> BundleOutcome:
            with deadline(limits) if limits is not None else nullcontext():
                # kept on the copies (thrown away), so nothing is re-executed to undo it
                return transition.apply_item(forks, ItemKind.BUNDLE, legs, b"", keep=True)

        return run

    def cancel(self, uuid: str) -> bool:
        cancelled = self.seq.book.cancel(uuid)
        for item in cancelled:
            self.seq.journal.item(item, None)
        return bool(cancelled)

"""Re-derive rollup chains from sealed slots alone (the verifier's core).

Given the rollup specs and the slots (timestamp + ordered items), re-execute only the
included items on fresh rollups — with the cross-rollup actions they trigger, which are
derived again from their logs — and seal one block per rollup per slot.
An honest sequencer's chains and the replayed chains have identical block hashes.
Devnet state changes (anvil_setBalance & co.) are ordered items and replay; impersonated
sends replay here because the item keeps the sender it ran as (an L1 verifier that
recovers senders from signatures cannot reproduce them).
"""

from __future__ import annotations

from collections.abc import Iterable

from xseqd.chains.genesis import RollupSpec
from xseqd.chains.rollup import Rollup
from xseqd.core.atomic import execute_bundle
from xseqd.sequencer.sequencer import Slot


def replay(specs: Iterable[RollupSpec], slots: Iterable[Slot]) -> dict[int, Rollup]:
    rollups = {spec.chain_id: Rollup(spec) for spec in specs}
    for slot in slots:
        for rollup in rollups.values():
            rollup.open_block(slot.timestamp)
        for item in slot.items:
            if item.status != "included":
                continue
            if item.change is not None:
                rollups[item.change.chain_id].apply_change(item.change.apply)
                continue
            outcome = execute_bundle(dict(rollups), list(item.legs), abort_on_revert=item.bundle)
            if not outcome.included:
                raise ValueError(f"item 0x{item.item_hash.hex()} does not replay")
        for rollup in rollups.values():
            rollup.seal()
    return rollups

"""Re-derive rollup chains from sealed slots alone (the verifier's core).

Given the rollup specs and the slots (timestamp + ordered items), re-execute only the
included items, leg by leg, on fresh rollups and seal one block per rollup per slot.
An honest sequencer's chains and the replayed chains have identical block hashes.
Devnet state changes (anvil_setBalance & co.) are ordered items and replay; impersonated
sends replay here because the item keeps the sender it ran as (an L1 verifier that
recovers senders from signatures cannot reproduce them).
"""

from __future__ import annotations

from collections.abc import Iterable

from xseqd.chains.genesis import RollupSpec
from xseqd.chains.rollup import Rollup
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
            for leg in item.legs:
                rollups[leg.chain_id].apply(leg.tx, leg.sender)
        for rollup in rollups.values():
            rollup.seal()
    return rollups

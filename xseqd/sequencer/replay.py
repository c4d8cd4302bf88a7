"""Re-derive rollup chains from sealed slots alone (the verifier's core).

Given the rollup specs and the slots (timestamp + ordered items), re-execute only the
included items, leg by leg, on fresh rollups and seal one block per rollup per slot.
An honest sequencer's chains and the replayed chains have identical block hashes.
Devnet state changes (anvil_setBalance & co.) and impersonated sends are not items and
so are not reproduced: a chain that used them does not replay.
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
            for leg in item.legs:
                rollups[leg.chain_id].apply(leg.tx)
        for rollup in rollups.values():
            rollup.seal()
    return rollups

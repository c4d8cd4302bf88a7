"""Re-derive rollup chains from sealed slots alone, on fresh rollups (tests; the verifier
does the same from L1 data). Every slot goes through core/transition.py ``replay_slot``:
an honest sequencer's chains and the replayed chains have identical block hashes.
"""

from __future__ import annotations

from collections.abc import Iterable

from xseqd.chains.genesis import RollupSpec
from xseqd.chains.rollup import Rollup
from xseqd.core.transition import Slot, replay_slot


def replay(specs: Iterable[RollupSpec], slots: Iterable[Slot]) -> dict[int, Rollup]:
    rollups = {spec.chain_id: Rollup(spec) for spec in specs}
    for slot in slots:
        replay_slot(rollups, slot.timestamp, slot.items)
    return rollups

"""State snapshots of all rollups between slots: what the sequencer log keeps every
``--snapshot-every`` slots so that restart re-executes only the tail."""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Mapping

from xseqd.chains.rollup import Rollup


def export_rollups(rollups: Mapping[int, Rollup]) -> bytes:
    """All rollups' state and block indexes (no block may be open)."""
    data = {cid: r.export_state() for cid, r in rollups.items()}
    return zlib.compress(pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL), 1)


def import_rollups(rollups: Mapping[int, Rollup], payload: bytes) -> None:
    """Replace every rollup's state by the snapshot's (our own log: trusted input)."""
    data = pickle.loads(zlib.decompress(payload))
    for cid, rollup in rollups.items():
        rollup.import_state(data[cid])

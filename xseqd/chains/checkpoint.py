"""The framing of a state snapshot as the sequencer log stores it: a state part and a
blocks part, with whether the state is a base and whether the blocks start at block 0
(what they hold: chains/snapshot.py; where they are kept: storage/log.py)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

MAGIC = b"XSNAP2"
BASE, ALL_BLOCKS = 1, 2  # flags


@dataclass(frozen=True)
class Checkpoint:
    """One snapshot, as the log stores it."""

    base: bool  # the state part is whole (else a delta on the previous one)
    all_blocks: bool  # the blocks part starts at block 0 (else where the last one ended)
    state: bytes
    blocks: bytes

    def encode(self) -> bytes:
        flags = (BASE if self.base else 0) | (ALL_BLOCKS if self.all_blocks else 0)
        head = MAGIC + struct.pack(">BQ", flags, len(self.state))
        return head + self.state + self.blocks


def split(payload: bytes) -> Checkpoint | None:
    """A payload as its parts (None: a snapshot in the format before this one)."""
    if not payload.startswith(MAGIC):
        return None
    flags, size = struct.unpack_from(">BQ", payload, len(MAGIC))
    start = len(MAGIC) + 9
    state, blocks = payload[start : start + size], payload[start + size :]
    return Checkpoint(bool(flags & BASE), bool(flags & ALL_BLOCKS), state, blocks)

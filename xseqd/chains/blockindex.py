"""A rollup's index of sealed blocks that can hold blocks still encoded: restart from a
snapshot keeps each block as the bytes it was stored as (with its hash and its
transactions' hashes) and decodes it only when something reads it, so a restart does not
decode the whole history. ``Blocks`` is the list of blocks by number, ``Txs`` the map from
transaction hash to its record; both answer as the plain list and dict they replace.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, overload

from xseqd.chains.records import BlockRecord, TxRecord


@dataclass(frozen=True)
class Stored:
    """A sealed block as a snapshot keeps it."""

    raw_block: bytes
    raw_receipts: tuple[bytes, ...]
    senders: tuple[bytes, ...]
    hash: bytes
    tx_hashes: tuple[bytes, ...]


Decode = Callable[[Stored], BlockRecord]


class Blocks(Sequence[BlockRecord]):
    """Sealed blocks by number; an entry is a ``BlockRecord`` or a ``Stored`` block that
    is decoded (once) when read."""

    def __init__(self, decode: Decode) -> None:
        self._items: list[BlockRecord | Stored] = []
        self._decode = decode

    def _record(self, number: int) -> BlockRecord:
        item = self._items[number]
        if isinstance(item, Stored):
            item = self._decode(item)
            self._items[number] = item
        return item

    @overload
    def __getitem__(self, number: int) -> BlockRecord: ...
    @overload
    def __getitem__(self, number: slice) -> list[BlockRecord]: ...
    def __getitem__(self, number: int | slice) -> BlockRecord | list[BlockRecord]:
        if isinstance(number, slice):
            return [self._record(i) for i in range(*number.indices(len(self._items)))]
        if number < 0:
            number += len(self._items)
        return self._record(number)

    def __delitem__(self, number: slice) -> None:
        del self._items[number]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[BlockRecord]:
        return (self._record(i) for i in range(len(self._items)))

    def append(self, item: BlockRecord | Stored) -> None:
        self._items.append(item)

    def hash_of(self, number: int) -> bytes:
        item = self._items[number]
        return item.hash

    def tx_hashes_of(self, number: int) -> tuple[bytes, ...]:
        item = self._items[number]
        if isinstance(item, Stored):
            return item.tx_hashes
        return tuple(t.hash for t in item.txs)

    def compact(self, number: int, encode: Callable[[BlockRecord], Stored]) -> None:
        """Keep block ``number`` encoded again (decoded when next read): old blocks are
        rarely read, and their decoded objects cost several times their bytes."""
        item = self._items[number]
        if not isinstance(item, Stored):
            self._items[number] = encode(item)

    def stored(self, number: int, encode: Callable[[BlockRecord], Stored]) -> Stored:
        """The block as a snapshot keeps it (encoded only if it was decoded)."""
        item = self._items[number]
        return item if isinstance(item, Stored) else encode(item)


class Txs(Mapping[bytes, TxRecord]):
    """Transaction hash -> its record in a sealed block, looked up through ``Blocks``."""

    def __init__(self, blocks: Blocks) -> None:
        self._where: dict[bytes, tuple[int, int]] = {}  # hash -> (block number, index)
        self._blocks = blocks

    def add(self, tx_hash: bytes, number: int, index: int) -> None:
        self._where[tx_hash] = (number, index)

    def pop(self, tx_hash: bytes, default: None = None) -> None:
        self._where.pop(tx_hash, default)

    def __contains__(self, tx_hash: object) -> bool:
        return tx_hash in self._where

    def get(self, tx_hash: bytes, default: None = None) -> TxRecord | None:  # type: ignore[override]
        place = self._where.get(tx_hash)
        if place is None:
            return None
        return self._blocks[place[0]].txs[place[1]]

    def __getitem__(self, tx_hash: bytes) -> TxRecord:
        record = self.get(tx_hash)
        if record is None:
            raise KeyError(tx_hash)
        return record

    def __len__(self) -> int:
        return len(self._where)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._where)


class SlotBlocks(Mapping[int, BlockRecord]):
    """The blocks of slot ``number`` on every rollup (chain id -> record), each read from
    its rollup's index when asked for: a restart gives every resumed slot one of these
    rather than decoding every block of the history."""

    def __init__(self, rollups: Mapping[int, Any], number: int) -> None:
        self._rollups, self._number = rollups, number

    def __getitem__(self, chain_id: int) -> BlockRecord:
        record: BlockRecord = self._rollups[chain_id].blocks[self._number]
        return record

    def __iter__(self) -> Iterator[int]:
        return iter(self._rollups)

    def __len__(self) -> int:
        return len(self._rollups)

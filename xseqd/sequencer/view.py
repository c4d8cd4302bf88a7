"""What the sequencer's helpers (bundles.py, devtime.py) may use of it: a Protocol, so
that they depend on this description and not on sequencer.py (no import cycle), and mypy
checks that ``Sequencer`` provides it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from xseqd.chains.rollup import Rollup
from xseqd.core.items import Item
from xseqd.sequencer.devtime_types import TimeControl
from xseqd.sequencer.journal import Journal
from xseqd.sequencer.ordering import OrderBook
from xseqd.sequencer.pending import PendingPool


class ListenersView(Protocol):
    on_pending: list[Callable[[int, bytes], None]]
    on_rewind: list[Callable[[int], None]]


class SequencerView(Protocol):
    """The sequencer's public surface its helpers work through."""

    book: OrderBook
    journal: Journal
    pending: PendingPool
    time: TimeControl
    rewind_guard: Callable[[int], None]

    @property
    def rollups(self) -> Mapping[int, Rollup]: ...
    @property
    def listeners(self) -> ListenersView: ...
    @property
    def head_slot(self) -> int: ...
    @property
    def head_timestamp(self) -> int: ...
    @property
    def has_open_slot(self) -> bool: ...
    @property
    def open_slot_has_items(self) -> bool: ...
    def knows(self, chain_id: int, tx_hash: bytes) -> bool: ...
    def open_slot(self) -> int: ...
    def seal_slot(self, timestamp: int | None = None) -> object: ...
    def discard_open_slot(self) -> None: ...
    def order(self, item: Item) -> None: ...
    def promote(self, chain_id: int, sender: bytes) -> None: ...
    def truncate(self, slot: int) -> None: ...
    @property
    def open_timestamp(self) -> int | None: ...
    def reopened_at(self, timestamp: int) -> None: ...

"""The key-value dict under a rollup's py-evm ``MemoryDB`` that remembers what changed,
so that pruning (chains/prune.py) and snapshots (chains/snapshot.py) cost what changed and
not the size of the state:

- ``young``: keys new since the last prune (the only candidates of the next generational
  prune);
- ``dirty``, ``gone``: keys set and deleted since the last snapshot (a delta writes only
  those);
- ``origin``: the keys the store was made with (the genesis state, which a restart builds
  again before it loads a snapshot), with ``fresh`` (keys held now that are not origin
  keys) and ``lost`` (origin keys deleted since): a whole snapshot is written as those two
  on top of the genesis (``relative_to_origin``), so a 100,000-account genesis is neither
  copied nor packed into the log, and writing it costs what changed since genesis.

py-evm addresses every 32-byte key by content (a trie node, code or header under its
keccak), so such a key's value never changes; any other key (the canonical head,
block-number lookups) counts as fresh once it is written.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import Any


class TrackedStore(dict[bytes, bytes]):
    """py-evm's key-value store, with what changed since the last prune, the last snapshot
    and the origin (module docstring). Reads are plain dict reads."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.origin: frozenset[bytes] = frozenset(self)
        # the store is (origin - lost) | fresh, the values of fresh keys being its own
        self.fresh: set[bytes] = set()
        self.lost: set[bytes] = set()
        self.young: set[bytes] = set()
        self.dirty: set[bytes] = set()
        self.gone: set[bytes] = set()

    def __setitem__(self, key: bytes, value: bytes) -> None:
        if key not in self:
            self.young.add(key)
            if len(key) == 32 and key in self.origin:
                self.lost.discard(key)  # the same value again (content-addressed)
            else:
                self.fresh.add(key)
        elif len(key) != 32:
            self.fresh.add(key)  # maybe an origin key with a new value
        self.dirty.add(key)
        dict.__setitem__(self, key, value)

    def __delitem__(self, key: bytes) -> None:
        dict.__delitem__(self, key)
        self.young.discard(key)
        self.dirty.discard(key)
        self.gone.add(key)
        self.fresh.discard(key)
        if key in self.origin:
            self.lost.add(key)

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def settle(self) -> None:
        """Forget what changed since the last prune and snapshot (after a load)."""
        self.young, self.dirty, self.gone = set(), set(), set()

    def replaced(self) -> None:
        """The dict was changed under the tracking (a whole store loaded): work out again
        which keys are fresh and which origin keys are lost (a pass over the keys)."""
        origin = self.origin
        self.fresh = {k for k in self if len(k) != 32 or k not in origin}
        self.lost = set(origin - self.keys())

    def relative_to_origin(self) -> tuple[dict[bytes, bytes], tuple[bytes, ...]]:
        """The whole store as (what to set, what to delete) on top of ``origin``; costs
        what changed since the origin, not the size of the store."""
        return {k: self[k] for k in self.fresh}, tuple(self.lost)

    def restore_relative(
        self, entries: dict[bytes, bytes], lost: Iterable[bytes], size: int
    ) -> None:
        """Become the store ``relative_to_origin`` described (``size`` keys), from one that
        started from the same origin (a restart's fresh genesis)."""
        for key in self.fresh:
            dict.__delitem__(self, key)
        self.lost = set(lost)
        for key in self.lost:
            dict.pop(self, key, None)
        dict.update(self, entries)
        self.fresh = set(entries)
        if len(self) != size:
            raise RuntimeError(
                f"a snapshot relative to the genesis state restored {len(self)} keys, "
                f"not {size}: this store did not start from the same genesis"
            )


def tracked(kv: MutableMapping[bytes, bytes]) -> TrackedStore:
    """``kv`` as a ``TrackedStore`` (the same dict if it is one)."""
    return kv if isinstance(kv, TrackedStore) else TrackedStore(kv)

"""The cross-slot rule of encrypted items (pure): every sealed commit is revealed (or
voided) in the order it was committed, each reveal at the top of its slot, opened with
shares for the commit's own slot and order root, and in exactly the slot its shares bind:
a reveal opened after slot M (with M's order root) sits in slot M+1, and M's root is the
one committed for M. Everything in slots up to M was sealed before anyone could decrypt,
so nothing can be placed between the sequencer learning the plaintext and the reveal.

``RevealLedger`` walks the committed order slot by slot (the verifier feeds it the slots
it reads from L1) and names the first entry that breaks the rule:

- a reveal that is not the next pending commit (reordered, or revealing something never
  committed),
- a reveal after any other item of its slot (the sequencer could have inserted what it
  read before it),
- an opening whose slot and order root are not the commit's,
- a reveal opened after slot M that is not in slot M+1, or whose root of M is not the
  order root committed for M (a reveal withheld to trade in between),
- a void (keypers did not release in time) out of commit order or below the top.

A commit not revealed yet is pending, not a fault: keypers may be down. The per-item
rule (the legs are the plaintext under valid shares) is core/transition.py's.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from xseqd.core.encrypted import VOID_OPENING, Opening, OpeningFault, split_payload
from xseqd.core.items import Entry, ItemKind
from xseqd.core.order import order_root


@dataclass(frozen=True)
class PendingCommit:
    id: bytes
    slot: int
    index: int
    order_root: bytes


@dataclass
class RevealLedger:
    """Commits awaiting their reveal, in order."""

    pending: deque[PendingCommit] = field(default_factory=deque)
    previous: tuple[int, bytes] | None = None  # the last slot checked and its order root

    def check(self, slot: int, entries: Sequence[Entry]) -> str | None:
        """Apply slot ``slot``'s entries; the first breach of the rule, or None. On a
        breach the ledger is left as it was."""
        pending = deque(self.pending)
        root = order_root(slot, [e.hash for e in entries])
        at_top = True
        for index, entry in enumerate(entries):
            envelope, opening = (
                split_payload(entry.payload) if entry.kind is ItemKind.ENCRYPTED else (b"", b"")
            )
            if entry.kind is not ItemKind.ENCRYPTED or not opening:
                at_top = False
                if entry.kind is ItemKind.ENCRYPTED:
                    pending.append(PendingCommit(entry.id, slot, index, root))
                continue
            where = f"slot {slot} item {index}"
            if not at_top:
                return f"{where}: a reveal after another item of its slot"
            if not pending or pending[0].id != entry.id:
                return f"{where}: reveals 0x{entry.id.hex()} out of its sealed order"
            if opening == VOID_OPENING:
                pending.popleft()
                continue
            try:
                opened = Opening.decode(opening)
            except OpeningFault as exc:
                return f"{where}: {exc}"
            commit = pending.popleft()
            if (opened.slot, opened.order_root) != (commit.slot, commit.order_root):
                return f"{where}: opened with another seal than its commit's (slot {commit.slot})"
            if opened.after_slot + 1 != slot:
                return (f"{where}: a reveal released for slot {opened.after_slot + 1} "
                        f"sits in slot {slot} (withheld)")  # fmt: skip
            if self.previous is None or self.previous != (opened.after_slot, opened.after_root):
                return f"{where}: opened after a slot {opened.after_slot} that was not committed"
        self.pending = pending
        self.previous = (slot, root)
        return None

"""The cross-slot rule of encrypted items (pure): every sealed commit is revealed (or
voided) in the order it was committed, each reveal at the top of its slot, opened with
shares for the commit's own slot and order root, and in exactly the slot its shares bind:
a reveal of a commit of slot N opened after slot M sits in slot M+1, and its span root is
that of the order roots committed for EVERY slot N+1..M. The sequencer signed that span
to ask for the shares, before anyone could decrypt: whatever it placed between the commit
and the reveal was committed blind, even if it asked ahead of time (a seal of a future
empty slot M), so nothing can be placed between it learning the plaintext and the reveal.
A void must carry a refusal certificate (core/refusals.py): n-t+1 keypers' signatures
that they never released the commit, so a void of a bundle the sequencer could read is
named.

``RevealLedger`` walks the committed order slot by slot (the verifier feeds it the slots
it reads from L1) and names the first entry that breaks the rule:

- a reveal that is not the next pending commit (reordered, or revealing something never
  committed),
- a reveal after any other item of its slot (the sequencer could have inserted what it
  read before it),
- an opening whose slot and order root are not the commit's,
- a reveal opened after slot M that is not in slot M+1, or whose span root is not that
  of the order roots committed for N+1..M (a reveal withheld to trade in between, or
  shares asked for ahead of the slots they bind); a mixed opening (each share with its
  own binding (M_i, span_i), a partial round recovered later) must sit in slot
  max(M_i)+1 and every span_i must match N+1..M_i: the sequencer could read only after
  the t-th share, by when it had signed every binding, so every slot up to max(M_i) was
  committed blind (but see docs/encryption.md: t releases under lower bindings would
  have let it read earlier; only the keypers' published releases show that),
- a void (keypers did not release in time) out of commit order, below the top, or
  without a valid refusal certificate.

A commit not revealed yet is pending, not a fault: keypers may be down. The ledger keeps
the order roots of the slots since the oldest pending commit only. The per-item rule
(the legs are the plaintext under valid shares) is core/transition.py's.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from xseqd.core.encrypted import (
    VOID_OPENING,
    Opening,
    OpeningFault,
    is_void,
    span_root,
    split_payload,
)
from xseqd.core.items import Entry, ItemKind
from xseqd.core.order import order_root
from xseqd.core.refusals import certificate_fault


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
    roots: dict[int, bytes] = field(default_factory=dict)  # since the oldest pending commit

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
            if is_void(opening):
                fault = certificate_fault(envelope, opening[len(VOID_OPENING) :])
                if fault is not None:
                    return f"{where}: a void that {fault}"
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
            for after, span in sorted(set(opened.share_bindings())):
                between = range(commit.slot + 1, after + 1)
                if any(s not in self.roots for s in between):
                    return f"{where}: opened after a slot {after} that was not committed"
                if span_root([self.roots[s] for s in between]) != span:
                    bound = f"{commit.slot + 1}..{after}"
                    return (f"{where}: its shares bind slots {bound} to other orders "
                            "than were committed (asked for ahead of them)")  # fmt: skip
        self.pending = pending
        self.roots[slot] = root
        oldest = pending[0].slot if pending else slot
        for old in [s for s in self.roots if s < oldest]:
            del self.roots[old]
        return None

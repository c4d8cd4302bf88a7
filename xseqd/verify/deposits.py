"""The verifier's deposit check: each slot's deposits must be exactly the L1 Portal's
next deposits, in L1 order, each applied (read from the L1 alone).

Walking the posted slots in order with the index of the next deposit expected:

- a deposit item equal to the Portal's deposit of that index (content and L1 position)
  moves the index on;
- one with a higher index, while the expected one exists on L1, is a **skipped** deposit;
- anything else (no such deposit on L1, other content, an undecodable payload, a deposit
  posted as not applied) is an **invented** deposit.

Both are the fault ``deposit``, proven on L1 by the verifier's attestation (like a
re-execution fault; the Settlement contract does not read the Portal). A sequencer that
stops including deposits altogether is not caught by this check (see docs/deposits.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xseqd.core.commitment import PostedSlot
from xseqd.core.deposits import Deposit
from xseqd.core.items import ItemKind
from xseqd.l1.client import L1Client
from xseqd.l1.portal import find_portal, read_deposits


@dataclass
class DepositCheck:
    """The Portal's deposits by index, and the next one a slot must include."""

    deposits: dict[int, Deposit] = field(default_factory=dict)
    next_index: int = 0

    @classmethod
    def from_l1(cls, client: L1Client, settlement: str) -> DepositCheck:
        portal = find_portal(client, settlement)
        if portal is None:
            return cls()
        found = read_deposits(client, portal, 0, client.block_number())
        return cls({d.index: d for d in found})

    def check(self, slot: PostedSlot) -> str | None:
        """Why ``slot``'s deposits are not the Portal's next ones (None if they are)."""
        for entry in slot.items:
            if entry.kind is not ItemKind.DEPOSIT:
                continue
            try:
                d = Deposit.decode(entry.payload)
            except ValueError as exc:
                return f"invented deposit: {exc}"
            expected = self.deposits.get(self.next_index)
            if d == expected and entry.included:
                self.next_index += 1
                continue
            if expected is not None and d.index > self.next_index:
                return (
                    f"skipped deposit #{self.next_index} (L1 tx 0x{expected.l1_tx_hash.hex()}): "
                    f"the slot includes #{d.index} before it"
                )
            if d == expected:
                return f"deposit #{d.index} posted as not applied"
            return (
                f"invented deposit #{d.index} (L1 tx 0x{d.l1_tx_hash.hex()}): "
                "the L1 Portal has no such deposit"
            )
        return None

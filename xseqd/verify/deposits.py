"""The verifier's deposit check: each slot's deposits must be exactly the L1 Portal's
next deposits, in L1 order, each applied (read from the L1 alone).

Walking the posted slots in order with the index of the next deposit expected:

- a deposit item equal to the Portal's deposit of that index (content and L1 position)
  moves the index on;
- one with a higher index, while the expected one exists on L1, is a **skipped** deposit;
- anything else (no such deposit on L1, other content, an undecodable payload, a deposit
  posted as not applied) is an **invented** deposit.

And an inclusion deadline, from the L1 alone: a batch posted in L1 block p must include,
in its slots or earlier ones, every deposit made in an L1 block <= p - W, W being the
Portal's ``inclusionWindow`` (so a deposit made in block b is in a slot posted by block
b + W, unless nothing at all is posted: liveness, not checked). At the last slot of each
posted batch, the first deposit not included yet must have been made after block p - W;
if not, it is **censored**, and that slot (the first one by which the deadline required
it) is the faulty one.

All three are the fault ``deposit``, proven on L1 by the verifier's attestation (like a
re-execution fault; the Settlement contract does not read the Portal). A sequencer that
stops posting altogether is a liveness failure this cannot see (see docs/deposits.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xseqd.core.commitment import PostedSlot
from xseqd.core.deposits import Deposit
from xseqd.core.items import ItemKind
from xseqd.l1.client import L1Client
from xseqd.l1.portal import find_portal, portal_window, read_deposits


@dataclass
class DepositCheck:
    """The Portal's deposits by index, the next one a slot must include, and the Portal's
    inclusion window (L1 blocks; 0 = no Portal, no deadline)."""

    deposits: dict[int, Deposit] = field(default_factory=dict)
    next_index: int = 0
    window: int = 0

    @classmethod
    def from_l1(cls, client: L1Client, settlement: str) -> DepositCheck:
        portal = find_portal(client, settlement)
        if portal is None:
            return cls()
        found = read_deposits(client, portal, 0, client.block_number())
        return cls({d.index: d for d in found}, window=portal_window(client, portal))

    def deadline(self, last_slot: int, post_block: int) -> str | None:
        """Why a batch posted in L1 block ``post_block``, up to ``last_slot`` (checked), left
        out a deposit that was due by then (None if it did not). Deposits are included in
        index (= L1) order, so the first one not included is the only one to look at."""
        d = self.deposits.get(self.next_index)
        if self.window <= 0 or d is None or d.l1_block > post_block - self.window:
            return None
        return (
            f"censored deposit #{d.index} (L1 tx 0x{d.l1_tx_hash.hex()}, log index "
            f"{d.log_index}, L1 block {d.l1_block}): not included by slot {last_slot}, "
            f"posted in L1 block {post_block} >= {d.l1_block} + {self.window} "
            "(the Portal's inclusion window)"
        )

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

"""Posting sealed slots to the L1 Settlement contract, and what L1 says about them.

The poster runs beside the sequencer: it batches every sealed slot not yet on L1 (at most
``BATCH_MAX`` per transaction) into one ``Settlement.post(firstSlot, commitments, data)``
call, sent from a worker thread so that a slow L1 never blocks slot production. Failures
(L1 down, restarted, refusing) are retried with backoff; the next slot to post is always
re-read from the contract after a failure, so nothing is posted twice and nothing skipped.
The backlog of unposted slots is reported in ``status()``. On a follower replica the
poster is not ``active``: it only watches what L1 has (safe/finalized tags) until its
replica leads.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from xseqd.core.commitment import (
    PostedSlot,
    RollupState,
    encode_batch,
    posted_commitment,
)
from xseqd.core.transition import Slot, committed_states
from xseqd.errors import XseqError
from xseqd.l1.client import L1Client
from xseqd.l1.faults import inject_fault
from xseqd.l1.portal import lost_deposit
from xseqd.l1.settlement import SEQUENCER_BOND, Settlement, bond_calldata, post_calldata
from xseqd.sequencer.sequencer import Sequencer

log = logging.getLogger("xseqd.l1")

BATCH_MAX = 32
# batch data per post: an L1 request of more than ~1 MB of calldata is refused by anvil
# (2 MB JSON body), and a batch refused for its size would be retried forever
BATCH_MAX_BYTES = 256 * 1024
MAX_BACKLOG = 5_000  # unposted slots; past this, new submissions are refused (-32005)


def slot_rollup_states(seq: Sequencer, slot: Slot) -> list[RollupState]:
    return committed_states(seq.rollups, slot.blocks)


def commitment_of(seq: Sequencer, slot: Slot) -> bytes:
    return posted_commitment(posted_slot(slot), slot_rollup_states(seq, slot))


def posted_slot(slot: Slot) -> PostedSlot:
    return PostedSlot(slot.number, slot.timestamp, tuple(item.entry for item in slot.items))


class HistorySettled(XseqError):
    """Raised when a cheat method would rewind below a slot committed on L1."""

    code = -38020


@dataclass
class Posted:
    """A batch on L1: its last slot, L1 block and transaction."""

    last_slot: int
    first_slot: int
    l1_block: int
    tx_hash: str


@dataclass
class Poster:
    sequencer: Sequencer
    client: L1Client
    key: LocalAccount
    address: str
    window: int
    interval: float = 0.2
    batches: list[Posted] = field(default_factory=list)
    next_slot: int = 1
    l1_head: int = 0
    last_error: str | None = None
    invalidations: int = 0
    failures: int = 0  # failed posting rounds (metrics)
    gas_used: int = 0  # L1 gas of every post (metrics)
    portal: str | None = None  # the L1 Portal of this Settlement (l1/portal.py)
    portal_token: str | None = None  # its L1 reference token (XRT)
    active: bool = True  # False on a follower replica: watch L1, never post
    fault: str = ""  # dev-only misbehaviour, KIND:N (tests of the verifier and challenges)
    _task: asyncio.Task[None] | None = None
    _posting_through: int = 0
    _check_bond: bool = True  # at start and after a challenge (the only things that take it)

    @classmethod
    def for_key(
        cls, sequencer: Sequencer, client: L1Client, key: bytes, address: str, window: int
    ) -> Poster:
        return cls(sequencer, client, Account.from_key(key), address, window)

    @property
    def contract(self) -> Settlement:
        return Settlement(self.client, self.address)

    def guard_rewind(self, slot: int) -> None:
        """Refuse to rewind below a slot that is posted or being posted: settled history
        is append-only (a challenge is the only way to undo it)."""
        protected = max(self.next_slot, self._posting_through + 1) - 1
        if slot < protected:
            raise HistorySettled(
                f"cannot rewind to slot {slot}: slots up to {protected} are committed on L1 "
                f"(Settlement {self.address}); revert to a snapshot taken after slot "
                f"{protected}, or run with --l1-rpc none for unlimited evm_revert"
            )

    # -- what L1 says ------------------------------------------------------------------

    @property
    def safe_slot(self) -> int:
        return self.next_slot - 1

    @property
    def finalized_slot(self) -> int:
        done = [b.last_slot for b in self.batches if b.l1_block + self.window <= self.l1_head]
        return max(done, default=0)

    @property
    def backlog(self) -> int:
        return self.sequencer.head_slot - self.safe_slot

    def backlog_full(self) -> bool:
        return self.backlog >= MAX_BACKLOG

    def slot_status(self, number: int) -> dict[str, Any]:
        for b in self.batches:
            if b.first_slot <= number <= b.last_slot:
                final = b.l1_block + self.window <= self.l1_head
                return {
                    "status": "finalized" if final else "safe",
                    "l1Block": hex(b.l1_block),
                    "txHash": b.tx_hash,
                }
        return {"status": "pending", "l1Block": None, "txHash": None}

    def status(self) -> dict[str, Any]:
        head = self.sequencer.head_slot
        return {
            "rpc": self.client.url,
            "settlement": self.address,
            "portal": self.portal,
            "l1Token": self.portal_token,
            "postedThrough": self.safe_slot,
            "finalizedThrough": self.finalized_slot,
            "backlog": head - self.safe_slot,
            "maxBacklog": MAX_BACKLOG,
            "invalidations": self.invalidations,
            "l1Head": self.l1_head,
            "lastError": self.last_error,
        }

    # -- posting -------------------------------------------------------------------------

    def _invalidated(self, slot: int) -> bool:
        return self.contract.slot(slot).invalidated

    def read_next_slot(self) -> int:
        return self.contract.next_slot()

    async def start(self) -> None:
        self.next_slot = await asyncio.to_thread(self.read_next_slot)
        if self.next_slot > 1:  # posted before a restart: treat as one batch
            self.l1_head = await asyncio.to_thread(self.client.block_number)
            self.batches.append(Posted(self.next_slot - 1, 1, self.l1_head, ""))
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        backoff = 0.2
        while True:
            try:
                if not self.active:
                    await self.watch_once()
                    await asyncio.sleep(self.interval)
                    continue
                await self.check_invalidation()
                posted = await self.post_once()
                self.l1_head = await asyncio.to_thread(self.client.block_number)
                self.last_error = None
                backoff = 0.2
                if not posted:
                    await asyncio.sleep(self.interval)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # L1 down or refusing: retry, re-reading nextSlot
                self.last_error = str(exc)
                self.failures += 1
                log.warning("L1 posting failed (%s); retrying in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                try:  # a post that landed moves on; a lower nextSlot is check_invalidation's
                    self.next_slot = max(
                        self.next_slot, await asyncio.to_thread(self.read_next_slot)
                    )
                except Exception:
                    pass

    async def check_invalidation(self) -> None:
        """If a challenge invalidated slots we posted, roll the sequencer back to the last
        valid slot; production carries on from there (shared fate)."""
        onchain = await asyncio.to_thread(self.read_next_slot)
        if onchain < self.next_slot and not await asyncio.to_thread(self._invalidated, onchain):
            # the L1 lost posts (restarted without its state, or an evm_revert): post them
            # again, unless they hold deposits the L1 lost too (then roll back to before)
            if self.portal is not None and await asyncio.to_thread(
                lost_deposit, self.client, self.portal, self.sequencer.slots, onchain
            ):
                log.warning(
                    "L1 lost posts from slot %d and deposits they applied: rolling back to %d",
                    onchain,
                    onchain - 1,
                )
                self.sequencer.dev.rewind_to(onchain - 1, invalidated=True)
            else:
                log.warning("L1 expects slot %d again; re-posting from there", onchain)
            self.next_slot = onchain
            self.batches = [b for b in self.batches if b.last_slot < onchain]
        elif onchain < self.next_slot:
            log.warning(
                "L1 invalidated slots from %d on: rolling back to slot %d", onchain, onchain - 1
            )
            epoch = await asyncio.to_thread(self.contract.epoch)
            self.sequencer.dev.rewind_to(onchain - 1, invalidated=True)
            self._check_bond = True
            self.sequencer.book.begin_epoch(max(epoch, self.sequencer.book.epoch))
            self.next_slot = onchain
            self.batches = [b for b in self.batches if b.last_slot < onchain]
            self.invalidations += 1

    async def watch_once(self) -> None:
        """A follower's view of L1: what is posted (the leader posts it) and the L1 head."""
        onchain = await asyncio.to_thread(self.read_next_slot)
        self.l1_head = await asyncio.to_thread(self.client.block_number)
        if onchain > self.next_slot:  # seen now: finalized counts from this L1 block
            self.batches.append(Posted(onchain - 1, self.next_slot, self.l1_head, ""))
        elif onchain < self.next_slot:
            self.batches = [b for b in self.batches if b.last_slot < onchain]
        self.next_slot = onchain
        self.last_error = None

    def _ensure_bonded(self) -> None:
        """A successful challenge took the bond: put it back before posting again (the
        contract refuses posts from an unbonded sequencer). Checked on L1 only at start and
        after an invalidation, not before every post."""
        contract = self.contract
        if contract.bond() < contract.min_bond():
            log.warning("sequencer bond was taken by a challenge: bonding again")
            self.client.send(self.key, self.address, bond_calldata(), value=SEQUENCER_BOND)
        self._check_bond = False

    async def post_once(self) -> bool:
        """Post the next batch of sealed slots, if any; whether something was posted."""
        if self.sequencer.head_slot < self.next_slot:
            return False
        if self._check_bond:
            await asyncio.to_thread(self._ensure_bonded)
        # from here to the send, no await: the batch is taken, and rewinds below it are
        # refused (guard_rewind), in one turn of the loop
        slots = [s for s in self.sequencer.slots if s.number >= self.next_slot][:BATCH_MAX]
        if not slots or slots[0].number != self.next_slot:
            return False
        slots = [s for s in slots if s.epoch == slots[0].epoch]  # one epoch per batch
        posted = [posted_slot(s) for s in slots]
        states = [slot_rollup_states(self.sequencer, s) for s in slots]
        commitments = [posted_commitment(p, st) for p, st in zip(posted, states)]
        inject_fault(self.fault, slots, posted, states, commitments)
        data = encode_batch(posted, states)
        while len(slots) > 1 and len(data) > BATCH_MAX_BYTES:  # fewer slots, same start
            keep = max(1, len(slots) // 2)
            slots, posted, states = slots[:keep], posted[:keep], states[:keep]
            commitments = commitments[:keep]
            data = encode_batch(posted, states)
        calldata = post_calldata(slots[0].number, slots[0].epoch, commitments, data)
        self._posting_through = slots[-1].number
        try:
            receipt = await asyncio.to_thread(self.client.send, self.key, self.address, calldata)
        finally:
            self._posting_through = 0
        self.batches.append(
            Posted(
                slots[-1].number,
                slots[0].number,
                int(receipt["blockNumber"], 16),
                receipt["transactionHash"],
            )
        )
        self.next_slot = slots[-1].number + 1
        self.gas_used += int(receipt.get("gasUsed", "0x0"), 16)
        log.info(
            "posted slots %d..%d to L1 (tx %s)",
            slots[0].number,
            slots[-1].number,
            receipt["transactionHash"],
            extra={
                "first_slot": slots[0].number,
                "last_slot": slots[-1].number,
                "l1_block": int(receipt["blockNumber"], 16),
                "l1_tx": receipt["transactionHash"],
            },
        )
        return True

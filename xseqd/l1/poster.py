"""Posting sealed slots to the L1 Settlement contract, and what L1 says about them.

The poster runs beside the sequencer: it batches every sealed slot not yet on L1 (at most
``BATCH_MAX`` per transaction) into one ``Settlement.post(firstSlot, commitments, data)``
call, sent from a worker thread so that a slow L1 never blocks slot production. Failures
(L1 down, restarted, refusing) are retried with backoff; the next slot to post is always
re-read from the contract after a failure, so nothing is posted twice and nothing skipped.
The backlog of unposted slots is reported in ``status()``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field, replace
from typing import Any

from eth_abi import decode, encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak

from xseqd.chains.predeploys import artifact
from xseqd.core.commitment import (
    POST_SELECTOR,
    PostedItem,
    PostedSlot,
    RollupState,
    encode_batch,
    posted_commitment,
    slot_commitment,
)
from xseqd.l1.client import L1Client
from xseqd.sequencer.sequencer import Sequencer, Slot

log = logging.getLogger("xseqd.l1")

BATCH_MAX = 32
MAX_BACKLOG = 5_000  # unposted slots; past this, new submissions are refused (-32005)
NEXT_SLOT = keccak(b"nextSlot()")[:4]
SLOTS = keccak(b"slots(uint256)")[:4]
KINDS = {"transaction": 0, "bundle": 1, "devchange": 2}


SEQUENCER_BOND = 10 * 10**18


def deploy_settlement(client: L1Client, key: LocalAccount, verifier: str, window: int) -> str:
    """Deploy Settlement from the sequencer's account, with its bond; ``verifier`` is the
    address whose attestations it accepts."""
    code = bytes.fromhex(artifact("Settlement")["bytecode"][2:])
    args = encode(["address", "address", "uint256"], [key.address, verifier, window])
    receipt = client.send(key, None, code + args, gas=6_000_000, value=SEQUENCER_BOND)
    return str(receipt["contractAddress"])


def slot_rollup_states(seq: Sequencer, slot: Slot) -> list[RollupState]:
    roots = seq.mailbox_roots(slot.blocks)
    out = []
    for cid, record in sorted(slot.blocks.items()):
        others = sorted(roots.get(cid, {}).items())
        out.append(
            RollupState(
                cid,
                record.hash,
                bytes(record.block.header.state_root),
                tuple(o for o, _ in others),
                tuple(r[0] for _, r in others),
                tuple(r[1] for _, r in others),
            )
        )
    return out


def commitment_of(seq: Sequencer, slot: Slot) -> bytes:
    return slot_commitment(
        slot.number, slot.timestamp, slot.order_root, slot_rollup_states(seq, slot)
    )


def _flip(value: bytes) -> bytes:
    return bytes([value[0] ^ 1]) + value[1:]


def posted_slot(slot: Slot) -> PostedSlot:
    items = []
    for item in slot.items:
        legs = tuple((leg.chain_id, bytes(leg.tx.encode()), leg.sender or b"") for leg in item.legs)
        change = b"" if item.change is None else item.change.canonical()
        items.append(PostedItem(item.status == "included", KINDS[item.kind], legs, change))
    return PostedSlot(slot.number, slot.timestamp, tuple(items))


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
    fault: str = ""  # dev-only misbehaviour, "commitment:N" or "data:N" (tests of the verifier)
    _task: asyncio.Task[None] | None = None

    @classmethod
    def for_key(
        cls, sequencer: Sequencer, client: L1Client, key: bytes, address: str, window: int
    ) -> Poster:
        return cls(sequencer, client, Account.from_key(key), address, window)

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
            "settlement": self.address,
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
        out = self.client.eth_call(self.address, SLOTS + slot.to_bytes(32, "big"))
        return bool(decode(["bytes32", "bytes32", "uint64", "bool"], out)[3])

    def read_next_slot(self) -> int:
        out = self.client.eth_call(self.address, NEXT_SLOT)
        return int(decode(["uint256"], out)[0])

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
                log.warning("L1 posting failed (%s); retrying in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                try:
                    self.next_slot = await asyncio.to_thread(self.read_next_slot)
                except Exception:
                    pass

    def _inject_fault(
        self,
        slots: list[Slot],
        posted: list[PostedSlot],
        states: list[list[RollupState]],
        commitments: list[bytes],
    ) -> None:
        """DEV ONLY (--fault KIND:N): misbehave on slot N so that verify and challenges
        can be seen to work. commitment/data: data and commitment disagree; mailbox: the
        committed roots do not pair up; state: a wrong state root, consistently committed;
        order: the items posted in another order than the receipts promised."""
        kind, _, target = self.fault.partition(":")
        for i, s in enumerate(slots):
            if not target or s.number != int(target):
                continue
            if kind == "commitment":
                commitments[i] = _flip(commitments[i])
            elif kind == "data" and posted[i].items:
                posted[i] = PostedSlot(s.number, s.timestamp, posted[i].items[:-1])
            elif kind in ("mailbox", "state"):
                r = states[i][0]
                if kind == "mailbox":
                    r = replace(r, outbox_roots=(_flip(r.outbox_roots[0]),) + r.outbox_roots[1:])
                else:
                    r = replace(r, state_root=_flip(r.state_root))
                states[i][0] = r
                commitments[i] = posted_commitment(posted[i], states[i])
            elif kind == "order":
                posted[i] = PostedSlot(s.number, s.timestamp, tuple(reversed(posted[i].items)))
                commitments[i] = posted_commitment(posted[i], states[i])

    async def check_invalidation(self) -> None:
        """If a challenge invalidated slots we posted, roll the sequencer back to the last
        valid slot; production carries on from there (shared fate)."""
        onchain = await asyncio.to_thread(self.read_next_slot)
        if onchain < self.next_slot and not await asyncio.to_thread(self._invalidated, onchain):
            # the L1 lost posts (restarted without its state): post them again
            log.warning("L1 expects slot %d again; re-posting from there", onchain)
            self.next_slot = onchain
            self.batches = [b for b in self.batches if b.last_slot < onchain]
        elif onchain < self.next_slot:
            log.warning(
                "L1 invalidated slots from %d on: rolling back to slot %d", onchain, onchain - 1
            )
            self.sequencer.rewind_to(onchain - 1)
            self.next_slot = onchain
            self.batches = [b for b in self.batches if b.last_slot < onchain]
            self.invalidations += 1

    async def post_once(self) -> bool:
        """Post the next batch of sealed slots, if any; whether something was posted."""
        slots = [s for s in self.sequencer.slots if s.number >= self.next_slot][:BATCH_MAX]
        if not slots or slots[0].number != self.next_slot:
            return False
        posted = [posted_slot(s) for s in slots]
        states = [slot_rollup_states(self.sequencer, s) for s in slots]
        commitments = [posted_commitment(p, st) for p, st in zip(posted, states)]
        self._inject_fault(slots, posted, states, commitments)
        data = encode_batch(posted, states)
        calldata = POST_SELECTOR + encode(
            ["uint256", "bytes32[]", "bytes"], [slots[0].number, commitments, data]
        )
        receipt = await asyncio.to_thread(self.client.send, self.key, self.address, calldata)
        self.batches.append(
            Posted(
                slots[-1].number,
                slots[0].number,
                int(receipt["blockNumber"], 16),
                receipt["transactionHash"],
            )
        )
        self.next_slot = slots[-1].number + 1
        log.info(
            "posted slots %d..%d to L1 (tx %s)",
            slots[0].number,
            slots[-1].number,
            receipt["transactionHash"],
        )
        return True

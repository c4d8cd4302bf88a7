"""Replicas: follow the shared log, take over as leader when the lease is free.

A follower's state is the log re-executed: every slot the leader sealed is replayed
through ``recovery.restore`` (core/transition.py, the same path as a restart), so block
hashes are identical, and block listeners fire as on the leader (WebSocket subscriptions
work on every replica). A follower never writes: its journal keeps nothing and the log's
fence refuses it. When the lease is free a follower takes it (a new fencing token), then
replays what is left — the open slot's items, held bundles, the nonce queue, the epoch —
and from then on journals to the log, each write fenced by its token. A leader that
finds its lease taken (a renewal or a write refused) is deposed: ``deposed`` is set and
the node stops leading; the command line restarts the process, which comes back as a
follower. A follower whose log was rewound under it (evm_revert, an L1 challenge) is
deposed the same way and rebuilds from the log.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable
from typing import Any

from xseqd.errors import XseqError
from xseqd.sequencer.journal import NullJournal
from xseqd.sequencer.recovery import restore
from xseqd.sequencer.sequencer import Sequencer
from xseqd.storage.journal import LogJournal
from xseqd.storage.lease import Deposed, Lease, LeaseView
from xseqd.storage.log import SequencerLog

log = logging.getLogger("xseqd.replica")

POLL_INTERVAL = 0.05  # seconds between a follower's looks at the log


class Role(enum.Enum):
    FOLLOWER = "follower"
    LEADER = "leader"
    DEPOSED = "deposed"


def follow(seq: Sequencer, journal_log: SequencerLog) -> int:
    """Replay the slots sealed in the log after ``seq``'s head; how many."""
    if journal_log.last_sealed() <= seq.head_slot:
        return 0
    return restore(seq, journal_log.load(after=seq.head_slot, sealed_only=True))


def diverged(seq: Sequencer, journal_log: SequencerLog) -> bool:
    """Whether the log no longer holds this replica's head slot as it was replayed (the
    leader rewound: evm_revert, or an L1 challenge)."""
    if not seq.slots:
        return False
    return journal_log.sealed_root(seq.head_slot) != seq.slots[-1].order_root


class Replication:
    """One replica's role, and the loop that keeps it (follow, lead, renew)."""

    def __init__(
        self,
        seq: Sequencer,
        journal_log: SequencerLog,
        lease: Lease,
        snapshot_every: int,
        poll: float = POLL_INTERVAL,
    ) -> None:
        self.seq = seq
        self.log = journal_log
        self.lease = lease
        self.snapshot_every = snapshot_every
        self.poll = poll
        self.role = Role.FOLLOWER
        self.deposed = asyncio.Event()
        self.on_lead: list[Callable[[], Any]] = []  # run once this replica leads
        self._task: asyncio.Task[None] | None = None
        self._view: LeaseView | None = None
        self.lease.on_deposed = self._on_deposed
        journal_log.fence = lease.fence  # nothing is written without the lease
        seq.journal = NullJournal()

    @property
    def is_leader(self) -> bool:
        return self.role is Role.LEADER

    def leader_url(self) -> str | None:
        """Where writes go: the lease holder's URL while the lease is live (as the
        follower loop last saw it, at most a poll interval ago)."""
        if self._view is None:
            self._view = self.lease.view()
        return self._view.url if self._view.live else None

    def catch_up(self) -> int:
        """Replay newly sealed slots (a follower); rebuilds are left to a restart."""
        if diverged(self.seq, self.log):
            raise XseqError("the log was rewound under this follower: it rebuilds from the log")
        return follow(self.seq, self.log)

    def elect(self) -> bool:
        """Try to take the lease; if taken, replay the rest of the log and lead."""
        self.catch_up()
        if not self.lease.try_acquire():
            return False
        # From the token on, the log changes only through this replica: what it holds now
        # (committed by the previous leader) is everything acknowledged.
        self.catch_up()
        restore(self.seq, self.log.load(after=self.seq.head_slot))
        self.log.refresh()
        self.seq.journal = LogJournal(self.log, self.snapshot_every)
        self.role = Role.LEADER
        log.info(
            "replica %s leads from slot %d (token %d)",
            self.lease.replica_id,
            self.seq.head_slot,
            self.lease.token,
        )
        self.lease.report(self.role.value, self.seq.head_slot)
        return True

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self.role is Role.LEADER:
            try:
                self.lease.release()
            except Exception:  # the database is gone: the lease expires by itself
                log.warning("could not release the lease")

    def _on_deposed(self) -> None:
        if self.role is not Role.DEPOSED:
            log.warning("replica %s is deposed: it stops writing", self.lease.replica_id)
        self.role = Role.DEPOSED
        self.seq.journal = NullJournal()
        self.deposed.set()

    async def _run(self) -> None:
        while self.role is not Role.DEPOSED:
            try:
                if self.role is Role.LEADER:
                    self.lease.renew()
                    self.lease.report(self.role.value, self.seq.head_slot)
                    await asyncio.sleep(self.lease.ttl / 4)
                    continue
                self.catch_up()
                self._view = None  # looked up again by the next forwarded write
                if self.elect():
                    for callback in self.on_lead:
                        result = callback()
                        if asyncio.iscoroutine(result):
                            await result
                else:
                    self.lease.report(self.role.value, self.seq.head_slot)
                await asyncio.sleep(self.poll)
            except asyncio.CancelledError:
                raise
            except Deposed:
                break
            except XseqError as exc:
                log.error("replica %s: %s", self.lease.replica_id, exc.message)
                self._on_deposed()
            except Exception as exc:  # database unreachable: keep trying
                log.warning("replica %s: %s; retrying", self.lease.replica_id, exc)
                await asyncio.sleep(min(1.0, self.lease.ttl / 4))

    def status(self) -> dict[str, Any]:
        """For ``xseq_sequencer``: who leads, and every replica's lag in slots."""
        view = self.lease.view()
        replicas = self.lease.roll_call()
        for r in replicas:  # this replica's own head as it is now, not as last reported
            if r["id"] == self.lease.replica_id:
                r["headSlot"] = self.seq.head_slot
        head = max((r["headSlot"] for r in replicas if r["role"] == "leader"), default=0)
        head = max(head, self.seq.head_slot if self.is_leader else 0)
        for r in replicas:
            r["lagSlots"] = max(0, head - r["headSlot"])
            r["live"] = r["seenAgo"] < 2 * self.lease.ttl + 1
        return {
            "replicaId": self.lease.replica_id,
            "role": self.role.value,
            "leader": view.holder if view.live else None,
            "leaderUrl": view.url if view.live else None,
            "token": view.token,
            "headSlot": self.seq.head_slot,
            "replicas": replicas,
        }

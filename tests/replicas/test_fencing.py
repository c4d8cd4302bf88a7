"""The lease and its fencing token, on a real PostgreSQL: one leader at a time, a
takeover only after expiry, and a deposed leader's writes refused with nothing written."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.procs import EXE
from xseqd.storage.lease import Deposed, Lease, shared_keys
from xseqd.storage.log import ItemRow, SequencerLog


def row(n: int) -> ItemRow:
    return ItemRow(bytes([n]) * 32, 1, 1000, n, "included", {"n": n})


def test_one_leader_and_takeover_only_after_expiry(pg_url: str) -> None:
    log_a, log_b = SequencerLog(pg_url), SequencerLog(pg_url)
    a = Lease(log_a.engine, "a", "http://a", ttl=0.5)
    b = Lease(log_b.engine, "b", "http://b", ttl=0.5)
    assert a.try_acquire() and a.token == 1
    assert not b.try_acquire()  # live lease
    view = b.view()
    assert (view.holder, view.url, view.token, view.live) == ("a", "http://a", 1, True)
    a.renew()
    time.sleep(0.7)  # a stops renewing
    assert b.try_acquire() and b.token == 2  # a new token at each takeover
    with pytest.raises(Deposed):
        a.renew()
    log_a.close()
    log_b.close()


def test_a_deposed_leader_cannot_write_and_the_new_one_can(pg_url: str) -> None:
    log_a, log_b = SequencerLog(pg_url), SequencerLog(pg_url)
    a = Lease(log_a.engine, "a", "", ttl=0.3)
    b = Lease(log_b.engine, "b", "", ttl=0.3)
    log_a.fence, log_b.fence = a.fence, b.fence
    deposed: list[str] = []
    a.on_deposed = lambda: deposed.append("a")
    with pytest.raises(Deposed):  # a follower never writes
        log_b.save_item(row(1))
    assert a.try_acquire()
    log_a.save_item(row(1))
    time.sleep(0.4)  # a pauses (GC, SIGSTOP, partition) past its lease
    assert b.try_acquire()
    log_b.refresh()
    with pytest.raises(Deposed):  # a wakes up and writes: refused
        log_a.save_item(row(2))
    with pytest.raises(Deposed):
        log_a.seal_slot(1, 1000, b"\0" * 32, 0)
    assert deposed and a.token is None
    log_b.save_item(row(3))
    log_b.seal_slot(1, 1000, b"\1" * 32, 0)
    contents = log_b.load()
    assert [r.body["n"] for r in contents.items] == [1, 3]  # nothing of a's after takeover
    assert contents.sealed == [(1, 1000, b"\1" * 32, 0)]
    log_a.close()
    log_b.close()


def test_replicas_share_one_pair_of_keys(pg_url: str) -> None:
    log = SequencerLog(pg_url)
    made = iter([b"\1" * 32, b"\2" * 32, b"\3" * 32, b"\4" * 32])
    first = shared_keys(log.engine, lambda: next(made))
    second = shared_keys(log.engine, lambda: next(made))
    assert first == second == (b"\1" * 32, b"\2" * 32)
    log.close()


def test_replica_flags_without_postgresql_are_refused_clearly() -> None:
    done = subprocess.run(
        [str(EXE), "devnet", "--replica-id", "r0", "--db", "memory", "--l1-rpc", "none",
         "--port", "0"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "--db postgresql://" in done.stderr

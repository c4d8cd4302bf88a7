"""Where `xseqd devnet` puts its processes (keyper.split_cpus): with keypers on 2 or more
CPUs, the event loop on one CPU and every keyper on the others; `--no-cpu-pinning` leaves
all of them to the kernel.

Must never happen: a keyper allowed on the sequencer's CPU (a release request's wakeup
would run it there, mid-seal), the L1 child (anvil) confined to that CPU, or the split on
a machine or mask of one CPU (nothing to split: the keypers get the only CPU too).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.procs import Devnet, free_port
from xseqd import keyper


def allowed(pid: int, tid: int | None = None) -> set[int]:
    """A process's (or one of its threads') allowed CPUs, from /proc."""
    where = Path(f"/proc/{pid}") / ("task/" + str(tid) if tid else "")
    for line in (where / "status").read_text().splitlines():
        if line.startswith("Cpus_allowed_list:"):
            out: set[int] = set()
            for part in line.split(":", 1)[1].strip().split(","):
                lo, _, hi = part.partition("-")
                out |= set(range(int(lo), int(hi or lo) + 1))
            return out
    raise AssertionError("no Cpus_allowed_list")


def children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "stat").read_text().rsplit(")", 1)[1].split()[1] == str(pid):
                    kids.append(int(entry.name))
            except OSError:
                pass
    return kids


def cmdline(pid: int) -> str:
    return (Path(f"/proc/{pid}") / "cmdline").read_bytes().replace(b"\0", b" ").decode()


def test_split_keeps_one_cpu_for_the_sequencer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 2, 5})
    mine, others = keyper.split_cpus() or (None, set())
    assert mine in {0, 2, 5} and others == {0, 2, 5} - {mine}
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3})
    assert keyper.split_cpus() is None


@pytest.mark.parametrize("pinning", [True, False])
def test_devnet_keeps_keypers_off_the_event_loops_cpu(tmp_path: Path, pinning: bool) -> None:
    everything = os.sched_getaffinity(0)
    flags = [] if pinning else ["--no-cpu-pinning"]
    devnet = Devnet("--port", str(free_port()), "--data-dir", str(tmp_path), "--keypers", "3",
                    "--keyper-threshold", "2", *flags)  # fmt: skip
    try:
        assert devnet.wait_ready(), devnet.output
        pid = devnet.proc.pid
        keypers = [k for k in children(pid) if "xseqd.keyper" in cmdline(k)]
        anvils = [k for k in children(pid) if "anvil" in cmdline(k)]
        assert len(keypers) == 3 and anvils
        loop = allowed(pid, pid)  # the main thread runs the event loop
        if pinning and len(everything) >= 2:
            assert len(loop) == 1
            for k in keypers:
                assert allowed(k) == everything - loop
        else:
            assert loop == everything
            assert all(allowed(k) == everything for k in keypers)
        for a in anvils:  # started before the loop was pinned: anywhere
            assert allowed(a) == everything
    finally:
        devnet.stop()

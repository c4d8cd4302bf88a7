"""Where `xseqd devnet` puts its processes (xseqd/cpus.py): with keypers on 2 or more
CPUs, the event loop on one CPU and every keyper on the others; `--no-cpu-pinning` leaves
all of them to the kernel.

Must never happen: a keyper allowed on the sequencer's CPU (a release request's wakeup
would run it there, mid-seal), the L1 child (anvil) or any thread but the event loop's
(the eth_call pool, the poster's to_thread work: started later by the pinned thread)
confined to that CPU, or the split on a machine or mask of one CPU.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.procs import Devnet, free_port, rpc
from xseqd import cpus


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
    mine, others = cpus.split() or (None, set())
    assert mine in {0, 2, 5} and others == {0, 2, 5} - {mine}
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3})
    assert cpus.split() is None


@pytest.mark.parametrize("pinning", [True, False])
def test_devnet_keeps_keypers_off_the_event_loops_cpu(tmp_path: Path, pinning: bool) -> None:
    everything = os.sched_getaffinity(0)
    flags = [] if pinning else ["--no-cpu-pinning"]
    port = free_port()
    devnet = Devnet("--port", str(port), "--data-dir", str(tmp_path), "--keypers", "3",
                    "--keyper-threshold", "2", *flags)  # fmt: skip
    try:
        assert devnet.wait_ready(), devnet.output
        pid = devnet.proc.pid
        url = f"http://127.0.0.1:{port}/rollup/901"
        # work that runs off the event loop: a call at a sealed block (rpc/envelope.py's
        # pool), and the L1 poster's posts of new slots (asyncio.to_thread)
        rpc(url, "evm_mine")
        rpc(url, "eth_call", {"to": "0x" + "11" * 20, "data": "0x"}, "0x1")
        time.sleep(1.5)
        threads = [int(t.name) for t in Path(f"/proc/{pid}/task").iterdir()]
        assert len(threads) > 3
        for tid in threads:
            if tid != pid:
                assert allowed(pid, tid) == everything, (tid, devnet.output)
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

"""Where `xseqd devnet` puts its processes (xseqd/cpus.py): with keypers on 2 or more
CPUs, every keyper on all CPUs but one, and the event loop on that one while a decryption
round is out; `--no-cpu-pinning` leaves all of them to the kernel.

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

from tests.encryption.support import transfer
from tests.procs import Devnet, free_port, rpc
from xseqd import cpus
from xseqd.accounts import dev_accounts
from xseqd.client import SequencerClient


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
    split = pinning and len(everything) >= 2
    flags = [] if pinning else ["--no-cpu-pinning"]
    port = free_port()
    devnet = Devnet("--port", str(port), "--data-dir", str(tmp_path), "--keypers", "3",
                    "--keyper-threshold", "2", *flags)  # fmt: skip
    try:
        assert devnet.wait_ready(), devnet.output
        pid = devnet.proc.pid
        url = f"http://127.0.0.1:{port}/rollup/901"
        # work that runs off the event loop: a call at a sealed block (rpc/envelope.py's
        # pool), the L1 poster's posts of new slots (asyncio.to_thread); and a decryption
        # round, during which the loop is pinned
        rpc(url, "evm_mine")
        rpc(url, "eth_call", {"to": "0x" + "11" * 20, "data": "0x"}, "0x1")
        seq = SequencerClient(f"http://127.0.0.1:{port}/")
        sent = seq.send_encrypted_bundle([transfer(901, dev_accounts(1)[0], 0)])
        assert seq.wait_revealed(sent["bundleHash"])["status"] == "included"
        time.sleep(1.0)
        keypers = [k for k in children(pid) if "xseqd.keyper" in cmdline(k)]
        anvils = [k for k in children(pid) if "anvil" in cmdline(k)]
        assert len(keypers) == 3 and anvils
        masks = {frozenset(allowed(k)) for k in keypers}
        assert len(masks) == 1
        (keyper_cpus,) = masks
        if split:  # every CPU but one; that one is the loop's while a round is out
            assert len(everything - keyper_cpus) == 1
        else:
            assert keyper_cpus == everything
        threads = [int(t.name) for t in Path(f"/proc/{pid}/task").iterdir()]
        assert len(threads) > 3
        for tid in threads:  # between rounds every thread, the loop's too, runs anywhere
            assert allowed(pid, tid) == everything, (tid, devnet.output)
        for a in anvils:
            assert allowed(a) == everything
    finally:
        devnet.stop()


def test_the_loop_is_pinned_exactly_while_the_gate_is_closed() -> None:
    """The order gate's hooks run on each change of state, once (a second close or open
    changes nothing): the devnet pins its loop in ``on_close`` and frees it in
    ``on_open`` (xseqd/encryption.py)."""
    import asyncio

    from xseqd.sequencer.gate import OrderGate

    async def scenario() -> list[str]:
        seen: list[str] = []
        gate = OrderGate()
        gate.on_close, gate.on_open = (lambda: seen.append("pin")), (lambda: seen.append("free"))
        gate.close()
        gate.close()  # the early ask closed it; the round closes it again
        assert gate.closed
        gate.open()
        gate.open()
        return seen

    assert asyncio.run(scenario()) == ["pin", "free"]

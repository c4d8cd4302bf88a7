"""The L1 the devnet starts lives and dies with it, and its finality can be watched:
anvil never outlives a killed daemon, a busy L1 port is refused, `finalized` advances
with wall time on an idle devnet, and `xseqd verify` checks what the devnet printed."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account

from tests.procs import EXE, Devnet, anvil_pids, free_port, kill_leftovers, rpc, wait_gone
from xseqd.accounts import dev_accounts
from xseqd.cli import main

KEY = dev_accounts(1)[0]
SINK = "0x00000000000000000000000000000000000A11cE"


def send_one(rollup_url: str, nonce: int = 0) -> int:
    """Send one transfer on rollup 901; the slot (block number) it landed in."""
    tx = {
        "chainId": 901,
        "nonce": nonce,
        "to": SINK,
        "value": 1,
        "gas": 21_000,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 1,
    }
    raw = "0x" + bytes(Account.sign_transaction(tx, KEY.key).raw_transaction).hex()
    tx_hash = rpc(rollup_url, "eth_sendRawTransaction", raw)
    deadline = time.time() + 10
    while (receipt := rpc(rollup_url, "eth_getTransactionReceipt", tx_hash)) is None:
        assert time.time() < deadline, "no receipt"
        time.sleep(0.05)
    return int(receipt["blockNumber"], 16)


def tag_number(rollup_url: str, tag: str) -> int:
    return int(rpc(rollup_url, "eth_getBlockByNumber", tag, False)["number"], 16)


def test_anvil_never_outlives_a_sigkilled_daemon(tmp_path: Path) -> None:
    port, l1_port = free_port(), free_port()
    devnet = Devnet("--port", str(port), "--l1-port", str(l1_port), "--data-dir", str(tmp_path))
    try:
        assert devnet.wait_ready(), devnet.output
        assert anvil_pids(l1_port), "the devnet's anvil should be running"
        devnet.proc.kill()  # SIGKILL: no handler, no cleanup runs in xseqd
        devnet.proc.wait(10)
        left = wait_gone(l1_port, timeout=5)
        assert not left, f"anvil processes {left} outlived the SIGKILLed daemon"
    finally:
        devnet.stop()
        kill_leftovers(l1_port)


def test_an_l1_port_something_listens_on_is_refused(tmp_path: Path) -> None:
    port, l1_port = free_port(), free_port()
    with socket.socket() as squatter:  # not even an L1: any listener at all
        squatter.bind(("127.0.0.1", l1_port))
        squatter.listen()
        devnet = Devnet("--port", str(port), "--l1-port", str(l1_port), "--data-dir", str(tmp_path))
        try:
            assert devnet.wait_exit(30) == 2, devnet.output
            out = devnet.output
            assert str(l1_port) in out and "--l1-port" in out and "--l1-rpc" in out, out
            assert "Traceback" not in out, out
            assert not anvil_pids(l1_port), "an anvil was left running"
            with pytest.raises(httpx.HTTPError):  # nor the RPC server
                httpx.post(f"http://127.0.0.1:{port}/", json={}, timeout=1)
        finally:
            devnet.stop()
            kill_leftovers(l1_port)


def test_finalized_advances_with_wall_time_on_an_idle_devnet(tmp_path: Path) -> None:
    port, l1_port = free_port(), free_port()
    devnet = Devnet(
        *("--port", str(port), "--l1-port", str(l1_port), "--data-dir", str(tmp_path)),
        *("--challenge-window", "2", "--l1-block-time", "1"),
    )
    try:
        assert devnet.wait_ready(), devnet.output
        url = f"http://127.0.0.1:{port}/rollup/901"
        slot = send_one(url)
        deadline = time.time() + 10  # nobody mines L1 by hand: anvil's timer does
        while tag_number(url, "finalized") < slot:
            assert time.time() < deadline, rpc(f"http://127.0.0.1:{port}/", "xseq_sequencer")
            time.sleep(0.1)
        status = rpc(f"http://127.0.0.1:{port}/", "xseq_getSlot", slot)["l1"]["status"]
        assert status == "finalized"
    finally:
        devnet.stop()
        kill_leftovers(l1_port)


def verify(*args: str) -> tuple[int, str]:
    done = subprocess.run([str(EXE), "verify", *args], capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout + done.stderr


def test_verify_with_only_the_data_dir_checks_what_the_devnet_printed(tmp_path: Path) -> None:
    port, l1_port = free_port(), free_port()
    data = tmp_path / "data"
    devnet = Devnet("--port", str(port), "--l1-port", str(l1_port), "--data-dir", str(data))
    try:
        assert devnet.wait_ready(), devnet.output
        printed = re.search(r"Settlement\s+(0x[0-9a-fA-F]{40})", devnet.output)
        assert printed is not None, devnet.output
        portal = re.search(r"Portal\s+(0x[0-9a-fA-F]{40})", devnet.output)
        assert portal is not None, devnet.output
        info: Any = json.loads((data / "endpoints.json").read_text())["l1"]
        assert info == {
            "rpc": f"http://127.0.0.1:{l1_port}",
            "chainId": 900,
            "settlement": printed.group(1),
            "portal": portal.group(1),
        }
        slot = send_one(f"http://127.0.0.1:{port}/rollup/901")
        deadline = time.time() + 10
        while tag_number(f"http://127.0.0.1:{port}/rollup/901", "safe") < slot:
            assert time.time() < deadline, "slot not posted"
            time.sleep(0.05)
        code, out = verify("--data-dir", str(data))
        assert code == 0, out
        assert f"Settlement {printed.group(1)}" in out, out
        assert f"OK: {slot} slots re-executed" in out, out
        assert "WARNING" not in out, out
    finally:
        devnet.stop()
        kill_leftovers(l1_port)


def test_verify_with_nothing_to_point_at_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no .xseqd here
    assert main(["verify"]) == 2
    err = capsys.readouterr().err
    assert "--l1-rpc" in err and "--data-dir" in err, err
    (tmp_path / "no-l1").mkdir()
    (tmp_path / "no-l1" / "endpoints.json").write_text(json.dumps({"rpc": "x", "l1": None}))
    assert main(["verify", "--data-dir", str(tmp_path / "no-l1")]) == 2
    assert "without L1 settlement" in capsys.readouterr().err


def test_anvil_started_from_a_short_lived_thread_keeps_running() -> None:
    """PDEATHSIG follows the forking thread: starting from a worker thread that then exits
    (as asyncio.to_thread's may) must not take anvil down with it."""
    import threading

    from xseqd.l1.anvil import Anvil

    anvil = Anvil(free_port(), 900)
    worker = threading.Thread(target=anvil.start)
    worker.start()
    worker.join(30)
    try:
        time.sleep(0.5)
        assert rpc(anvil.url, "eth_chainId") == hex(900)
    finally:
        anvil.stop()
    assert not anvil_pids(anvil.port)

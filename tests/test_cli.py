"""`xseqd devnet` as a user runs it: banner, env-var config, data dir, clean Ctrl-C."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from xseqd.accounts import dev_accounts

EXE = Path(sys.executable).parent / "xseqd"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_devnet_banner_env_config_and_clean_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    l1_port = free_port()
    env = dict(
        os.environ,
        XSEQD_PORT=str(port),
        XSEQD_DATA_DIR=str(tmp_path / "data"),
        XSEQD_L1_PORT=str(l1_port),
    )
    proc = subprocess.Popen(
        [str(EXE), "devnet"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        lines: list[str] = []
        deadline = time.time() + 60
        assert proc.stdout is not None
        while time.time() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if line.startswith("Listening on"):
                break
        banner = "".join(lines)
        assert f"http://127.0.0.1:{port}/rollup/901" in banner
        assert f"ws://127.0.0.1:{port}/rollup/902" in banner
        for account in dev_accounts(10):
            assert account.address in banner
            assert "0x" + bytes(account.key).hex() in banner
        answer = httpx.post(
            f"http://127.0.0.1:{port}/rollup/902",
            json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"},
        ).json()
        assert answer["result"] == "0x386"
        assert f"http://127.0.0.1:{l1_port}" in banner  # the anvil it started
        l1 = httpx.post(
            f"http://127.0.0.1:{l1_port}", json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}
        ).json()
        assert l1["result"] == hex(900)
        assert f"http://127.0.0.1:{port}/explorer" in banner
        slot_line = terminal_slot_line(proc, f"http://127.0.0.1:{port}/rollup/901")
        assert "901: 1 tx  902: 0 tx" in slot_line and "L1 safe@" in slot_line, slot_line
        info = json.loads((tmp_path / "data" / "endpoints.json").read_text())
        assert info["rollups"]["901"] == f"http://127.0.0.1:{port}/rollup/901"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
        with pytest.raises(httpx.HTTPError):  # its anvil is gone too
            httpx.post(
                f"http://127.0.0.1:{l1_port}",
                json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"},
                timeout=2,
            )
    finally:
        if proc.poll() is None:
            proc.kill()


def terminal_slot_line(proc: subprocess.Popen[str], url: str) -> str:
    """Send a transfer on ``url``; the slot line the devnet then prints (info level)."""
    key = dev_accounts(1)[0]
    tx = {"chainId": 901, "nonce": 0, "to": "0x" + "11" * 20, "value": 1, "gas": 21_000,
          "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 1}  # fmt: skip
    raw = "0x" + bytes(key.sign_transaction(tx).raw_transaction).hex()
    body = {"jsonrpc": "2.0", "id": 1, "method": "eth_sendRawTransaction", "params": [raw]}
    assert "result" in httpx.post(url, json=body).json()
    found: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if "xseqd.slots slot " in line:
                found.put(line)
                return

    threading.Thread(target=read, daemon=True).start()
    return found.get(timeout=20)


def test_bad_rollups_dir_fails_with_a_clear_message(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(EXE), "devnet", "--rollups-dir", str(tmp_path), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "no rollup files" in done.stderr


def test_no_l1_flag_runs_without_settlement(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [str(EXE), "devnet", "--no-l1", "--port", str(port), "--db", "memory"]
        + ["--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Listening on"):
                break
        assert "L1 (settlement)" not in "".join(lines)
        info = httpx.post(
            f"http://127.0.0.1:{port}/",
            json={"jsonrpc": "2.0", "id": 1, "method": "xseq_sequencer"},
        ).json()
        assert info["result"]["l1"] is None
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()

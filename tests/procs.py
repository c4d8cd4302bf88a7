"""Test helpers for `xseqd` run as a user runs it: a subprocess, free ports, and a look
at which anvil processes are alive (via /proc, Linux)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

EXE = Path(sys.executable).parent / "xseqd"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def anvil_pids(port: int) -> list[int]:
    """Every live anvil (wrapper or binary) whose command line says ``--port <port>``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state == "Z":  # exited, not yet reaped by its parent
            continue
        if any(b"anvil" in a for a in argv[:2]) and any(
            a == b"--port" and b == str(port).encode() for a, b in zip(argv, argv[1:])
        ):
            found.append(int(entry.name))
    return found


def wait_gone(port: int, timeout: float) -> list[int]:
    """Wait until no anvil on ``port`` is alive; the pids still alive at the deadline."""
    deadline = time.time() + timeout
    while (left := anvil_pids(port)) and time.time() < deadline:
        time.sleep(0.05)
    return left


def rpc(url: str, method: str, *params: Any, timeout: float = 5.0) -> Any:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    reply = httpx.post(url, json=body, timeout=timeout).json()
    assert "error" not in reply, reply
    return reply["result"]


class Devnet:
    """``xseqd devnet ARGS`` as a subprocess; its output is collected by a reader thread."""

    def __init__(
        self,
        *args: str,
        cwd: Path | None = None,
        exe: Path = EXE,
        env: dict[str, str] | None = None,
    ) -> None:
        self.proc = subprocess.Popen(
            [str(exe), "devnet", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=cwd,
            env=env,
        )
        self.lines: list[str] = []
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            if line.startswith("Listening on"):
                self._ready.set()
        self._ready.set()  # exited

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_ready(self, timeout: float = 60) -> bool:
        """True once the banner is printed; False if the process exited first."""
        assert self._ready.wait(timeout), f"devnet not ready in {timeout}s:\n{self.output}"
        return self.proc.poll() is None and "Listening on" in self.output

    def wait_exit(self, timeout: float = 30) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code

    def stop(self) -> None:
        """SIGINT (a clean shutdown), SIGKILL if that does not end it."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def kill_leftovers(port: int, keep: set[int] | None = None) -> None:
    """Kill (by pid) anvils a failed test left on ``port`` (but not ``keep``)."""
    for pid in set(anvil_pids(port)) - (keep or set()):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

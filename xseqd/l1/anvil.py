"""The local L1: an anvil process (npm package @foundry-rs/anvil) started and stopped by us."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx

from xseqd.errors import XseqError

ROOT = Path(__file__).resolve().parents[2]
ANVIL = ROOT / "node_modules" / ".bin" / "anvil"


class AnvilError(XseqError):
    """Raised when anvil cannot be started (the CLI prints it and exits 2)."""


class Anvil:
    """An anvil child process on 127.0.0.1:<port> with the given chain id."""

    def __init__(
        self,
        port: int = 8545,
        chain_id: int = 900,
        state_file: Path | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.port, self.chain_id, self.state_file, self.host = port, chain_id, state_file, host
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> str:
        if not ANVIL.exists():
            raise AnvilError(f"anvil not found at {ANVIL}: run `make install` (npm install)")
        args = [
            str(ANVIL),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--chain-id",
            str(self.chain_id),
            "--silent",
        ]
        if self.state_file is not None:
            args += ["--dump-state", str(self.state_file)]
            if self.state_file.exists():
                args += ["--load-state", str(self.state_file)]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AnvilError(
                    f"anvil exited with {self.proc.returncode} (port {self.port} busy?)"
                )
            try:
                httpx.post(
                    self.url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}, timeout=1
                )
                return self.url
            except httpx.HTTPError:
                time.sleep(0.05)
        self.stop()
        raise AnvilError("anvil did not answer in time")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

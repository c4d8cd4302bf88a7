"""The local L1: an anvil process (npm package @foundry-rs/anvil) started and stopped by us.

Guarantees: anvil never outlives the process that started it (even one killed by SIGKILL:
the native binary is run directly, with PDEATHSIG, forked from a keeper thread that lives
exactly as long as the child); a port something already listens on is refused, never
silently shared with a stale process; "ready" means *our* child answers on the port.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from xseqd.errors import XseqError
from xseqd.l1.process import die_with_parent, listens_on, port_in_use

ROOT = Path(__file__).resolve().parents[2]
ANVIL = ROOT / "node_modules" / ".bin" / "anvil"


class AnvilError(XseqError):
    """Raised when anvil cannot be started (the CLI prints it and exits 2)."""


def checkout_anvil() -> Path | None:
    """The anvil of the source checkout's node_modules (``make install``), if run from one.

    The native binary of this platform's npm package is preferred to the npm wrapper: the
    wrapper (a node script) spawns the binary as *its* child, which nothing would kill if
    the wrapper were killed.
    """
    if not (ROOT / "pyproject.toml").exists():  # an installed package: no checkout around it
        return None
    system = {"linux": "linux", "darwin": "darwin", "win32": "win32"}.get(sys.platform, "")
    machine = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower(), ""
    )
    name = "anvil.exe" if system == "win32" else "anvil"
    native = ROOT / "node_modules" / "@foundry-rs" / f"anvil-{system}-{machine}" / "bin" / name
    for candidate in (native, ANVIL):
        if candidate.exists():
            return candidate
    return None


def anvil_binary(explicit: str | Path = "") -> Path:
    """Which anvil to run: ``explicit`` (``--anvil`` / ``XSEQD_ANVIL``), else the checkout's
    node_modules, else ``anvil`` on PATH; an ``AnvilError`` naming all three if none."""
    if explicit:
        path = Path(explicit).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise AnvilError(f"anvil not found: --anvil / XSEQD_ANVIL is {explicit}, not an executable")
    found = checkout_anvil()
    if found is not None:
        return found
    on_path = shutil.which("anvil")
    if on_path is not None:
        return Path(on_path)
    checkout = (
        f"{ANVIL.parent} has none: run `make install`"
        if (ROOT / "pyproject.toml").exists()
        else "none: xseqd runs from an installed package, not a checkout"
    )
    raise AnvilError(
        "anvil not found in any of the three places xseqd looks: --anvil PATH / XSEQD_ANVIL "
        f"(not given); the source checkout's node_modules ({checkout}); `anvil` on PATH "
        "(not there: install Foundry, https://getfoundry.sh). Or run without an L1: --no-l1"
    )


def is_wrapper(binary: Path) -> bool:
    """True for a script (the npm wrapper): the process it starts is not the one listening."""
    try:
        with binary.open("rb") as f:
            return f.read(2) == b"#!"
    except OSError:
        return False


class Anvil:
    """An anvil child process on 127.0.0.1:<port> with the given chain id.

    ``block_time`` > 0 mines a block every that many seconds besides one per transaction
    (anvil's mixed mining), so that L1 time, and with it finality, advances while idle.
    """

    def __init__(
        self,
        port: int = 8545,
        chain_id: int = 900,
        state_file: Path | None = None,
        host: str = "127.0.0.1",
        block_time: float = 0.0,
        binary: str | Path = "",
    ) -> None:
        self.port, self.chain_id, self.state_file, self.host = port, chain_id, state_file, host
        self.block_time = block_time
        self.binary = binary
        self.proc: subprocess.Popen[bytes] | None = None
        self._keeper: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def args(self) -> list[str]:
        args = [
            str(anvil_binary(self.binary)),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--chain-id",
            str(self.chain_id),
            "--silent",
        ]
        if self.block_time > 0:
            seconds = int(self.block_time) if self.block_time.is_integer() else self.block_time
            args += ["--block-time", str(seconds), "--mixed-mining"]
        if self.state_file is not None:
            args += ["--dump-state", str(self.state_file)]
            if self.state_file.exists():
                args += ["--load-state", str(self.state_file)]
        return args

    def _spawn(self, args: list[str]) -> subprocess.Popen[bytes]:
        """Fork anvil from a keeper thread that waits for it: PDEATHSIG follows the forking
        thread, so that thread must not exit before the child does (a to_thread worker
        could, and would take anvil with it)."""
        started = threading.Event()
        box: dict[str, subprocess.Popen[bytes] | BaseException] = {}

        def keep() -> None:
            try:
                proc = subprocess.Popen(
                    args,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    preexec_fn=die_with_parent(),
                )
            except BaseException as exc:  # reported to start() below
                box["error"] = exc
                started.set()
                return
            box["proc"] = proc
            started.set()
            proc.wait()

        self._keeper = threading.Thread(target=keep, name=f"anvil:{self.port}", daemon=True)
        self._keeper.start()
        started.wait()
        if "error" in box:
            raise AnvilError(f"cannot run {args[0]}: {box['error']}")
        proc = box["proc"]
        assert isinstance(proc, subprocess.Popen)
        return proc

    def start(self, timeout: float = 30.0) -> str:
        binary = anvil_binary(self.binary)
        if port_in_use(self.host, self.port):
            raise AnvilError(self._busy("is already in use"))
        self.proc = proc = self._spawn(self.args())
        owned = not is_wrapper(binary)  # the wrapper's socket belongs to its child: cannot check
        deadline = time.time() + timeout
        while time.time() < deadline:
            if proc.poll() is not None:
                self.stop()
                raise AnvilError(self._busy(f"could not be bound (anvil exited {proc.returncode})"))
            if owned and listens_on(proc.pid, self.port) is False:  # not bound by our child yet
                time.sleep(0.05)
                continue
            try:
                httpx.post(
                    self.url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}, timeout=1
                )
                return self.url
            except httpx.HTTPError:
                time.sleep(0.05)
        self.stop()
        raise AnvilError("anvil did not answer in time")

    def _busy(self, what: str) -> str:
        return (
            f"L1 port {self.port} on {self.host} {what}: something else listens there "
            "(an anvil left over from an earlier devnet?). xseqd does not settle on an L1 it "
            f"did not start unless told to: stop that process, or pass --l1-port <free port> "
            f"to start a new L1, or --l1-rpc {self.url} to settle on that L1 deliberately."
        )

    def stop(self) -> None:
        proc, keeper = self.proc, self._keeper
        if proc is not None and proc.poll() is None:
            proc.terminate()  # anvil dumps its state (--dump-state) on SIGTERM
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if keeper is not None:
            keeper.join(5)
        self.proc = self._keeper = None

"""`--log-format json` (issue 9): every line the daemon writes to stderr is one JSON object
with ts, level, logger and msg, and the slot and L1-post lines carry their fields. A real
`xseqd devnet` subprocess with a real anvil, a real transfer over HTTP."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from tests.conftest import send_eth
from tests.procs import EXE, free_port, kill_leftovers
from xseqd import cli, logs
from xseqd.accounts import dev_accounts


def wait_for(lines: list[str], test: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in list(lines):
            if (found := test(line)) is not None:
                return found
        time.sleep(0.05)
    raise AssertionError("not logged in time:\n" + "".join(lines[-40:]))


def test_json_logs_on_stderr(tmp_path: Path) -> None:
    port, l1_port = free_port(), free_port()
    proc = subprocess.Popen(
        [str(EXE), "devnet", "--port", str(port), "--l1-port", str(l1_port), "--db", "memory"]
        + ["--data-dir", str(tmp_path), "--log-format", "json", "--l1-block-time", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out: list[str] = []
    err: list[str] = []
    readers = [
        threading.Thread(target=lambda s=s, into=into: into.extend(s), daemon=True)  # type: ignore[misc]
        for s, into in ((proc.stdout, out), (proc.stderr, err))
    ]
    for r in readers:
        r.start()
    try:
        wait_for(out, lambda line: line if line.startswith("Listening on") else None, 60)
        w3 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port}/rollup/901"))
        tx = send_eth(w3, dev_accounts(1)[0], "0x000000000000000000000000000000000000b0b0", 7)
        number = w3.eth.get_transaction_receipt(tx)["blockNumber"]

        def slot_line(line: str) -> dict[str, Any] | None:
            obj = json.loads(line)
            return obj if obj.get("slot") == number else None

        def posted_line(line: str) -> dict[str, Any] | None:
            obj = json.loads(line)
            return obj if obj.get("last_slot", -1) >= number else None

        sealed = wait_for(err, slot_line, 10)
        assert sealed["level"] == "info" and sealed["logger"] == "xseqd.slots"
        assert sealed["msg"].startswith(f"slot {number}  901: 1 tx  902: 0 tx")
        assert sealed["txs"] == 1 and sealed["items"] == 1
        assert sealed["rollups"] == {"901": 1, "902": 0}
        posted = wait_for(err, posted_line, 30)
        assert posted["first_slot"] <= number and posted["l1_tx"].startswith("0x")
        assert posted["logger"].startswith("xseqd.l1")
    finally:
        proc.send_signal(2)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        kill_leftovers(l1_port)
        for r in readers:
            r.join(5)
    assert proc.returncode == 0, "".join(err[-20:])
    assert err, "nothing logged"
    for line in err:  # every stderr line is one JSON object with the four keys
        obj = json.loads(line)
        assert {"ts", "level", "logger", "msg"} <= obj.keys(), line
        assert datetime.fromisoformat(obj["ts"]).utcoffset() is not None
        assert obj["level"] in ("debug", "info", "warning", "error", "critical")
    assert not any("httpx" in json.loads(line)["logger"] for line in err)  # L1 chatter
    assert any(line.startswith("Listening on") for line in out)  # the banner stays text


def test_json_formatter_keeps_fields_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    log = logging.getLogger("xseqd.test-json")
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    try:
        log.debug("plain %s", "message")
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            log.exception("it failed", extra={"slot": 3, "who": b"\x01"})
    finally:
        log.removeHandler(handler)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["msg"] == "plain message" and first["level"] == "debug"
    assert set(first) == {"ts", "level", "logger", "msg"}
    assert second["slot"] == 3 and second["who"] == "b'\\x01'"
    assert second["level"] == "error" and "RuntimeError: boom" in second["exc"]


def test_an_unknown_log_format_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """In-process (the check comes before anything starts or any handler changes)."""
    assert cli.main(["devnet", "--no-l1", "--port", str(free_port()), "--log-format", "xml"]) == 2
    assert "--log-format must be one of text, json, not 'xml'" in capsys.readouterr().err

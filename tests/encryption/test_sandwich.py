"""The sandwich demonstration (examples/sandwich.py) against a devnet whose sequencer
front-runs everything it can read (--fault frontrun), with real keyper processes: the
plaintext bundle is sandwiched (attacker profit > 0, victim loss > 0, attacker items
next to it); the encrypted one is not (profit == 0, loss == 0, no attacker item)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from xseqd.config import Settings
from xseqd.node import NodeThread

ROOT = Path(__file__).resolve().parents[2]


def test_sandwich_signs() -> None:
    node = NodeThread(Settings.for_tests(keypers=2, keyper_threshold=2, fault="frontrun"))
    endpoints = node.start()
    try:
        done = subprocess.run(
            [sys.executable, str(ROOT / "examples" / "sandwich.py"), "--rpc",
             endpoints.base_url, "--trials", "6", "--seed", "3"],
            capture_output=True, text=True, timeout=180, cwd=ROOT,
        )  # fmt: skip
    finally:
        node.stop()
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[1].startswith("| mode | attacker profit")  # the table is printed
    result = json.loads(lines[-1].removeprefix("RESULT "))
    plain, sealed = result["plaintext"], result["encrypted"]
    assert plain["trials"] == sealed["trials"] == 6
    assert plain["profit"] > 0 and plain["loss"] > 0 and plain["attackerItems"] > 0
    assert sealed["profit"] == 0 and sealed["loss"] == 0 and sealed["attackerItems"] == 0

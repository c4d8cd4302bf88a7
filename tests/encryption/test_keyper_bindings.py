"""The keyper's bindings file (xseqd/keyper.py): appended one JSON line per release and
read back after a restart; a torn line (a crash mid-write, before the answer went out) is
skipped; a file in the earlier one-object format still loads."""

from __future__ import annotations

import json
from pathlib import Path

from xseqd.keyper import Bindings


def test_bindings_survive_a_restart_and_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "keyper-1.bindings.json"
    path.write_text(json.dumps({"0x" + "aa" * 32: [1, "0x" + "01" * 32]}))  # earlier format
    first = Bindings(path)
    first.record([b"\xbb" * 32], 2, b"\x02" * 32)
    with open(path, "a") as f:
        f.write('{"0x' + "cc" * 32 + '": [3, "0x')  # torn: never answered
    second = Bindings(path)
    second.record([b"\xdd" * 32], 4, b"\x04" * 32)
    third = Bindings(path)
    assert third.check(b"\xaa" * 32, 1, b"\x01" * 32)
    assert not third.check(b"\xaa" * 32, 2, b"\x01" * 32)  # never rebinds
    assert third.check(b"\xbb" * 32, 2, b"\x02" * 32)
    assert not third.check(b"\xbb" * 32, 2, b"\x03" * 32)
    assert not third.check(b"\xdd" * 32, 5, b"\x04" * 32)
    assert third.check(b"\xcc" * 32, 9, b"\x09" * 32)  # the torn one was never bound
    assert len(third.known) == 3

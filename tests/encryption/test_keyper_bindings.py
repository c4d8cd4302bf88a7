"""The keyper's bindings file (xseqd/keyper.py): appended one JSON line per release and
read back after a restart; a torn line (a crash mid-write, before the answer went out) is
skipped; a file in the earlier one-object format still loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xseqd.errors import XseqError
from xseqd.keyper import Bindings, deal_files


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


def test_the_dealer_refuses_a_threshold_of_half_the_keypers_or_less(tmp_path: Path) -> None:
    """With 2t <= n, two disjoint sets of t keypers could release one commit under two
    bindings and the sequencer keep the one it likes after reading."""
    for n, t in ((4, 2), (5, 2), (3, 1)):
        with pytest.raises(XseqError, match="more than half"):
            deal_files(tmp_path / f"{n}-{t}", n, t)
    assert deal_files(tmp_path / "ok", 5, 3).threshold == 3  # control

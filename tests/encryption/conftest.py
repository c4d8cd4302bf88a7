"""A devnet with real keyper processes (3 of them, threshold 2), per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from xseqd.config import Settings
from xseqd.node import NodeThread


@pytest.fixture(scope="module")
def sealed_devnet() -> Iterator[NodeThread]:
    node = NodeThread(Settings.for_tests(keypers=3, keyper_threshold=2))
    node.start()
    yield node
    node.stop()

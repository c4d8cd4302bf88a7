"""A devnet with real keyper processes (3 of them, threshold 2), per test module; a real
anvil L1 per test (the settlement tests)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from xseqd.config import Settings
from xseqd.l1.anvil import Anvil
from xseqd.node import NodeThread


@pytest.fixture(scope="module")
def sealed_devnet() -> Iterator[NodeThread]:
    node = NodeThread(Settings.for_tests(keypers=3, keyper_threshold=2))
    node.start()
    yield node
    node.stop()


@pytest.fixture()
def anvil(l1: Anvil) -> Anvil:
    """The shared fresh anvil L1 (tests/conftest.py ``l1``), under the name these tests use."""
    return l1

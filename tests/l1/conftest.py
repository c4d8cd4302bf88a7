"""Fixtures shared by the L1 tests: a fresh anvil of its own for each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.l1.test_settlement import free_port
from xseqd.l1.anvil import Anvil


@pytest.fixture()
def l1() -> Iterator[Anvil]:
    """A fresh anvil L1 (chain id 900), stopped after the test (test_settlement.py keeps
    its own, with a state file)."""
    anvil = Anvil(free_port(), 900)
    anvil.start()
    yield anvil
    anvil.stop()

"""Fixtures of the adversary matrix: a real anvil per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.l1.test_settlement import free_port
from xseqd.l1.anvil import Anvil


@pytest.fixture()
def l1() -> Iterator[Anvil]:
    anvil = Anvil(free_port(), 900)
    anvil.start()
    yield anvil
    anvil.stop()

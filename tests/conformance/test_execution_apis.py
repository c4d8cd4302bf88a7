"""Replay the Ethereum execution-apis JSON-RPC fixtures against a rollup started from the
fixtures' genesis.json + chain.rlp, comparing as hive does (see shared/conformance/README).

Nothing is mined during the replay (manual slot mode), so eth_sendRawTransaction cases do
not change later answers. Methods a devnet does not serve are listed in UNSUPPORTED with
the reason; everything else must match.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from xseqd.config import Settings
from xseqd.node import NodeThread

# a copy of the public suite (CC0; source and commit in data/README.md), so that a clean
# checkout anywhere replays every fixture instead of silently finding none
DATA = Path(__file__).resolve().parent / "data"
FIXTURES = DATA / "execution-apis"
OPENRPC = DATA / "openrpc.json"

UNSUPPORTED: dict[str, str] = {}


def load_cases() -> list[tuple[str, str, dict[str, Any], dict[str, Any], bool]]:
    cases = []
    for path in sorted(FIXTURES.glob("*/*.io")):
        method = path.parent.name
        request = response = None
        speconly = False
        for line in path.read_text().splitlines():
            if line.startswith("//") and "speconly" in line:
                speconly = True
            elif line.startswith(">>"):
                request = json.loads(line[2:])
            elif line.startswith("<<"):
                response = json.loads(line[2:])
        assert request is not None and response is not None, path
        cases.append((method, path.name, request, response, speconly))
    return cases


def test_the_fixtures_are_there() -> None:
    """Must never happen: the replay finds no fixture and pytest reports a skip as green."""
    assert len(load_cases()) > 80, f"no conformance fixtures under {FIXTURES}"


CASES = load_cases()


@pytest.fixture(scope="module")
def hive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    rollups = tmp_path_factory.mktemp("rollups")
    (rollups / "hive.toml").write_text(
        f'name = "hive"\ngenesis = "{FIXTURES / "genesis.json"}"\n'
        f'import = "{FIXTURES / "chain.rlp"}"\n'
    )
    node = NodeThread(Settings.for_tests(rollups_dir=rollups))
    node.start()
    node.call(node.node.driver.set_automine, False)
    assert node.endpoints is not None
    chain_id = next(iter(node.node.sequencer.rollups))
    yield node.endpoints.rollup_url(chain_id)
    node.stop()


def same(expected: Any, actual: Any) -> bool:
    """hive's comparison: numbers numerically, everything else exactly."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected == actual
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return abs(expected - actual) < 1e-9
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(
            same(expected[k], actual[k]) for k in expected
        )
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(same(e, a) for e, a in zip(expected, actual))
    return bool(expected == actual)


def result_schema(method: str) -> dict[str, Any]:
    doc = json.loads(OPENRPC.read_text())
    entry = next(m for m in doc["methods"] if m["name"] == method)
    return dict(entry["result"]["schema"])


@pytest.mark.parametrize(
    ("method", "name", "request_obj", "expected", "speconly"),
    [c for c in CASES if c[0] not in UNSUPPORTED],
    ids=[f"{c[0]}/{c[1]}" for c in CASES if c[0] not in UNSUPPORTED],
)
def test_fixture(
    hive: str,
    method: str,
    name: str,
    request_obj: dict[str, Any],
    expected: dict[str, Any],
    speconly: bool,
) -> None:
    actual = httpx.post(hive, json=request_obj, timeout=30).json()
    if speconly:
        assert "result" in actual, actual
        jsonschema.validate(actual["result"], result_schema(method))
        return
    if "error" in expected:
        assert "error" in actual, actual
        assert actual["error"]["code"] == expected["error"]["code"], actual
        assert actual["error"].get("data") == expected["error"].get("data")
        return
    assert "result" in actual, actual
    assert same(expected["result"], actual["result"]), (
        f"\nexpected {json.dumps(expected['result'])[:2000]}"
        f"\nactual   {json.dumps(actual['result'])[:2000]}"
    )


def test_unsupported_list_is_short_and_real() -> None:
    methods = {c[0] for c in CASES}
    assert set(UNSUPPORTED) <= methods
    assert len(UNSUPPORTED) <= 3

"""Mining-mode cheats validate their input (issue 9): `evm_setIntervalMining` and
`anvil_mine` answer -32602 on nonsense and then nothing changes: not the mode, not the
chain. Real server, web3.py over HTTP."""

from __future__ import annotations

import time
from typing import Any

import pytest
from web3 import Web3

from xseqd.node import NodeThread
from xseqd.rpc.dev import MAX_MINING_INTERVAL
from xseqd.sequencer.devtime import MAX_TIMESTAMP


def call(w3: Web3, method: str, *params: Any) -> dict[str, Any]:
    return dict(w3.provider.make_request(method, list(params)))  # type: ignore[arg-type]


NONSENSE: list[Any] = [
    -1,  # negative
    -0.5,
    "-0x1",
    0.001,  # below the shortest interval: slots back to back would hog the loop
    1e-300,
    MAX_MINING_INTERVAL + 1,  # huge
    2**64,
    2**256 + 1,
    1e300,
    "0x" + "f" * 80,
    True,  # not a number
    "1",
    "0xzz",
    "0x 1",  # int(_, 16) takes it: it was 1 s
    "0x+1",
    None,
    {},
    [1],
]


@pytest.mark.parametrize("value", NONSENSE, ids=repr)
def test_set_interval_mining_refuses_nonsense(devnet: NodeThread, w3a: Web3, value: Any) -> None:
    number = w3a.eth.block_number
    reply = call(w3a, "evm_setIntervalMining", value)
    assert reply["error"]["code"] == -32602, reply
    assert "interval" in reply["error"]["message"]
    # still instant mining, nothing sealed by the call
    assert call(w3a, "anvil_getAutomine")["result"] is True
    assert devnet.node.driver.mode.value == "instant"
    assert w3a.eth.block_number == number


def test_set_interval_mining_takes_seconds_or_zero(devnet: NodeThread, w3a: Web3) -> None:
    try:
        for value, mode in (
            (0, "manual"),
            ("0x0", "manual"),
            (0.5, "interval"),
            ("0x2", "interval"),
        ):
            reply = call(w3a, "evm_setIntervalMining", value)
            assert "error" not in reply and reply["result"] is None, reply
            assert devnet.node.driver.mode.value == mode, value
        # 0.5 s slots: a few empty ones within two seconds
        assert "error" not in call(w3a, "evm_setIntervalMining", 0.5)
        number = w3a.eth.block_number
        deadline = time.time() + 5
        while w3a.eth.block_number < number + 2 and time.time() < deadline:
            time.sleep(0.05)
        assert w3a.eth.block_number >= number + 2
    finally:
        assert "error" not in call(w3a, "evm_setAutomine", True)
    assert devnet.node.driver.mode.value == "instant"


def test_anvil_mine_refuses_an_interval_past_the_last_timestamp(w3a: Web3) -> None:
    """It used to seal the first block, then fail on the second: half a change."""
    number = w3a.eth.block_number
    for interval in (hex(MAX_TIMESTAMP), hex(MAX_TIMESTAMP // 3)):
        reply = call(w3a, "anvil_mine", "0x5", interval)
        assert reply["error"]["code"] == -32602, reply
        assert w3a.eth.block_number == number
    assert "error" not in call(w3a, "anvil_mine", "0x2", "0x3c")
    assert w3a.eth.block_number == number + 2
    latest = w3a.eth.get_block("latest")["timestamp"]
    assert latest - w3a.eth.get_block(number + 1)["timestamp"] == 60

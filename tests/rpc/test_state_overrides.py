"""State overrides (geth's StateOverride) in eth_call and eth_estimateGas, over HTTP.

Overrides change only the throwaway state the call runs on: every test checks that the
rollup (latest and pending) is exactly as it was afterwards.
"""

from __future__ import annotations

from typing import Any

import pytest
from eth_utils import keccak, to_canonical_address
from rlp import encode
from web3 import Web3

from tests.conftest import send_eth

# PUSH1 0 SLOAD PUSH1 1 SLOAD ADD PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN: slot0 + slot1
SUM_SLOTS = "0x600054600154016000526020" + "6000f3"
# PUSH1 0 PUSH1 0 PUSH1 0 CREATE PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN: the created address
CREATE_EMPTY = "0x600060006000f060005260206000f3"
# PUSH1 1 PUSH1 0 SSTORE STOP: one cold SSTORE
STORE_ONE = "0x6001600055" + "00"

TARGET = Web3.to_checksum_address("0x00000000000000000000000000000000000cafe1")
POOR = Web3.to_checksum_address("0x00000000000000000000000000000000000b0b0b")


def word(n: int) -> str:
    return "0x" + n.to_bytes(32, "big").hex()


def rpc(w3: Web3, method: str, params: list[Any]) -> dict[str, Any]:
    return dict(w3.provider.make_request(method, params))  # type: ignore[arg-type]


def snapshot(w3: Web3, *addrs: str) -> list[Any]:
    """What the rollup says about ``addrs`` at latest and pending."""
    out = []
    for tag in ("latest", "pending"):
        for a in addrs:
            out.append(rpc(w3, "eth_getBalance", [a, tag])["result"])
            out.append(rpc(w3, "eth_getTransactionCount", [a, tag])["result"])
            out.append(rpc(w3, "eth_getCode", [a, tag])["result"])
            for slot in (0, 1):
                out.append(rpc(w3, "eth_getStorageAt", [a, hex(slot), tag])["result"])
    return out


@pytest.fixture(scope="module")
def target(w3a: Web3) -> str:
    """TARGET runs SUM_SLOTS with slot0 = 1 and slot1 = 2 on the rollup."""
    assert "error" not in rpc(w3a, "anvil_setCode", [TARGET, SUM_SLOTS])
    assert "error" not in rpc(w3a, "anvil_setStorageAt", [TARGET, "0x0", word(1)])
    assert "error" not in rpc(w3a, "anvil_setStorageAt", [TARGET, "0x1", word(2)])
    assert rpc(w3a, "eth_call", [{"to": TARGET}, "latest"])["result"] == word(3)
    return TARGET


def test_state_diff_patches_and_state_replaces(w3a: Web3, target: str) -> None:
    before = snapshot(w3a, target)
    diff = {target: {"stateDiff": {word(0): word(40)}}}
    assert rpc(w3a, "eth_call", [{"to": target}, "latest", diff])["result"] == word(42)
    full = {target: {"state": {word(0): word(40)}}}
    assert rpc(w3a, "eth_call", [{"to": target}, "latest", full])["result"] == word(40)
    empty: dict[str, Any] = {target: {"state": {}}}
    assert rpc(w3a, "eth_call", [{"to": target}, "pending", empty])["result"] == word(0)
    assert snapshot(w3a, target) == before


def test_code_override_on_an_empty_account(w3a: Web3) -> None:
    other = Web3.to_checksum_address("0x00000000000000000000000000000000000cafe2")
    before = snapshot(w3a, other)
    ov = {other: {"code": SUM_SLOTS, "stateDiff": {word(1): word(7)}}}
    assert rpc(w3a, "eth_call", [{"to": other}, "latest", ov])["result"] == word(7)
    assert snapshot(w3a, other) == before
    assert before[2] == "0x"


def test_nonce_override_decides_create_address(w3a: Web3) -> None:
    maker = Web3.to_checksum_address("0x00000000000000000000000000000000000cafe3")
    ov = {maker: {"code": CREATE_EMPTY, "nonce": hex(7)}}
    out = rpc(w3a, "eth_call", [{"to": maker}, "latest", ov])["result"]
    expected = keccak(encode([to_canonical_address(maker), 7]))[12:]
    assert out == "0x" + expected.rjust(32, b"\x00").hex()
    assert rpc(w3a, "eth_getTransactionCount", [maker, "latest"])["result"] == "0x0"


@pytest.mark.parametrize("method", ["eth_call", "eth_estimateGas"])
def test_balance_override_funds_the_sender(w3a: Web3, method: str) -> None:
    tx = {"from": POOR, "to": TARGET, "value": hex(10**21)}
    plain = rpc(w3a, method, [tx, "latest"])
    assert "error" in plain and "insufficient funds" in plain["error"]["message"], plain
    before = snapshot(w3a, POOR)
    rich = {POOR: {"balance": hex(10**22)}}
    reply = rpc(w3a, method, [tx, "latest", rich])
    assert "error" not in reply, reply
    assert snapshot(w3a, POOR) == before


def test_estimate_gas_sees_overridden_code(w3a: Web3) -> None:
    other = Web3.to_checksum_address("0x00000000000000000000000000000000000cafe4")
    plain = rpc(w3a, "eth_estimateGas", [{"to": other}])
    assert int(plain["result"], 16) == 21_000
    ov = {other: {"code": STORE_ONE}}
    gas = int(rpc(w3a, "eth_estimateGas", [{"to": other}, "latest", ov])["result"], 16)
    assert gas > 21_000 + 20_000
    assert rpc(w3a, "eth_getCode", [other, "latest"])["result"] == "0x"


def test_overrides_on_the_open_block_leave_it_unchanged(w3a: Web3, keys: list[Any]) -> None:
    """With automine off a block stays open; a pending call with overrides runs on its
    working state and must leave it exactly as it was."""
    assert "error" not in rpc(w3a, "evm_setAutomine", [False])
    try:
        send_eth(w3a, keys[3], TARGET, 5, gas=100_000)
        before = snapshot(w3a, TARGET, keys[3].address)
        ov = {
            TARGET: {"state": {word(1): word(9)}, "balance": hex(1)},
            keys[3].address: {"nonce": hex(99), "balance": hex(10**25)},
        }
        call = {"from": keys[3].address, "to": TARGET, "value": hex(10**24)}
        assert rpc(w3a, "eth_call", [call, "pending", ov])["result"] == word(9)
        assert "error" not in rpc(w3a, "eth_estimateGas", [call, "pending", ov])
        assert snapshot(w3a, TARGET, keys[3].address) == before
    finally:
        assert "error" not in rpc(w3a, "evm_setAutomine", [True])
        rpc(w3a, "evm_mine", [])
    # the sealed block's state root commits to the real storage, not the overridden one
    block = rpc(w3a, "eth_getBlockByNumber", ["latest", False])["result"]
    proof = rpc(w3a, "eth_getProof", [TARGET, ["0x1"], block["hash"]])["result"]
    assert proof["storageProof"][0]["value"] == "0x2"
    assert int(proof["balance"], 16) >= 5
    replay = rpc(w3a, "debug_getRawBlock", [block["number"]])
    assert "error" not in replay, replay


@pytest.mark.parametrize(
    "override",
    [
        "0x00",
        [],
        {"0x1234": {}},
        {TARGET: []},
        {TARGET: {"state": {}, "stateDiff": {}}},
        {TARGET: {"balanse": "0x1"}},
        {TARGET: {"balance": "ten"}},
        {TARGET: {"nonce": hex(1 << 64)}},
        {TARGET: {"code": "0x6"}},
        {TARGET: {"state": {"0x00": word(1)}}},
        {TARGET: {"stateDiff": {word(0): "0x01"}}},
        {TARGET: {"stateDiff": []}},
    ],
)
@pytest.mark.parametrize("method", ["eth_call", "eth_estimateGas"])
def test_invalid_overrides_are_invalid_params(w3a: Web3, method: str, override: Any) -> None:
    reply = rpc(w3a, method, [{"to": TARGET}, "latest", override])
    assert reply.get("error", {}).get("code") == -32602, reply

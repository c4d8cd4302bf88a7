"""--no-cheats / XSEQD_NO_CHEATS: every anvil_*, hardhat_*, evm_* method, impersonation and
signing with the unlocked dev accounts answers -32601 over HTTP; signed transactions still
go through. A --host other than loopback warns in the banner unless cheats are off."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.procs import Devnet, free_port
from xseqd.accounts import dev_accounts
from xseqd.config import Settings, add_arguments, resolve
from xseqd.node import NodeThread
from xseqd.rpc.dev import dev

CHEATS = [
    "anvil_mine", "hardhat_mine", "evm_mine", "evm_snapshot", "evm_revert", "evm_increaseTime",
    "evm_setNextBlockTimestamp", "evm_setAutomine", "evm_setIntervalMining", "anvil_getAutomine",
    "anvil_setBalance", "hardhat_setBalance", "anvil_setCode", "anvil_setNonce",
    "anvil_setStorageAt", "hardhat_setCode", "hardhat_setNonce", "hardhat_setStorageAt",
    "hardhat_stopImpersonatingAccount", "anvil_impersonateAccount", "hardhat_impersonateAccount",
    "anvil_stopImpersonatingAccount", "eth_sendTransaction", "eth_sendUnsignedTransaction",
    "eth_sign", "personal_sign", "eth_signTypedData_v4",
]  # fmt: skip
ADDRESS = dev_accounts(1)[0].address


def call(url: str, method: str, *params: Any) -> dict[str, Any]:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    reply: dict[str, Any] = httpx.post(url, json=body, timeout=10).json()
    return reply


def sample_params(method: str) -> list[Any]:
    if "setBalance" in method or "setNonce" in method or "setCode" in method:
        return [ADDRESS, "0x1"]
    if "mpersonat" in method:
        return [ADDRESS]
    if method in ("eth_sendTransaction", "eth_sendUnsignedTransaction"):
        return [{"from": ADDRESS, "to": ADDRESS, "value": "0x1"}]
    if method == "eth_sign":
        return [ADDRESS, "0x1234"]
    if method == "personal_sign":
        return ["0x1234", ADDRESS]
    return []


def test_every_dev_method_is_a_cheat_listed_here() -> None:
    assert set(dev.methods) == set(CHEATS)


@pytest.fixture(scope="module")
def no_cheats() -> Iterator[str]:
    node = NodeThread(Settings.for_tests(no_cheats=True))
    node.start()
    assert node.endpoints is not None
    yield node.endpoints.rollup_url(901)
    node.stop()


@pytest.mark.parametrize("method", CHEATS)
def test_a_cheat_method_is_not_found_with_no_cheats(no_cheats: str, method: str) -> None:
    reply = call(no_cheats, method, *sample_params(method))
    assert reply.get("error", {}).get("code") == -32601, reply


def test_signed_transactions_still_work_with_no_cheats(no_cheats: str) -> None:
    key = dev_accounts(1)[0]
    tx = {
        "chainId": 901, "nonce": 0, "to": "0x" + "22" * 20, "value": 7, "gas": 21_000,
        "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 1,
    }  # fmt: skip
    raw = "0x" + key.sign_transaction(tx).raw_transaction.hex().removeprefix("0x")
    tx_hash = call(no_cheats, "eth_sendRawTransaction", raw)["result"]
    receipt = call(no_cheats, "eth_getTransactionReceipt", tx_hash)["result"]
    assert receipt is not None and receipt["status"] == "0x1"
    assert call(no_cheats, "eth_chainId")["result"] == hex(901)


def test_cheats_are_on_by_default(devnet: NodeThread) -> None:
    assert devnet.endpoints is not None
    url = devnet.endpoints.rollup_url(901)
    for method in ("evm_snapshot", "anvil_mine", "eth_sign", "anvil_impersonateAccount"):
        reply = call(url, method, *sample_params(method))
        assert reply.get("error", {}).get("code") != -32601, (method, reply)


def test_the_flag_and_the_variable() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert resolve(parser.parse_args(["--no-cheats"]), {}).no_cheats is True
    assert resolve(parser.parse_args([]), {"XSEQD_NO_CHEATS": "1"}).no_cheats is True
    assert resolve(parser.parse_args([]), {}).no_cheats is False


def banner_of(*args: str) -> str:
    node = Devnet("--no-l1", "--db", "memory", "--port", str(free_port()), *args)
    try:
        assert node.wait_ready(), node.output
        return node.output.split("Listening on")[0]
    finally:
        node.stop()


def test_a_public_bind_warns_that_cheats_are_reachable(tmp_path: Any) -> None:
    data = ["--data-dir", str(tmp_path)]
    warned = banner_of("--host", "0.0.0.0", *data)
    assert "WARNING" in warned and "cheat" in warned and "--no-cheats" in warned
    assert "WARNING" not in banner_of("--host", "0.0.0.0", "--no-cheats", *data)
    assert "WARNING" not in banner_of("--host", "127.0.0.1", *data)

"""Shared fixtures: a real xseqd server in a background thread, real web3.py clients."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from web3 import Web3

from xseqd.accounts import dev_accounts
from xseqd.config import Settings
from xseqd.l1.anvil import Anvil
from xseqd.node import NodeThread

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "xseqd" / "contracts" / "artifacts"


def artifact(name: str) -> dict[str, Any]:
    return json.loads((ARTIFACTS / f"{name}.json").read_text())


@pytest.fixture()
def l1() -> Iterator[Anvil]:
    """A fresh anvil L1 (chain id 900) on a free port, stopped after the test (a test
    module that needs another one, e.g. with a state file, defines its own ``l1``)."""
    from tests.l1.test_settlement import free_port

    anvil = Anvil(free_port(), 900)
    anvil.start()
    yield anvil
    anvil.stop()


@pytest.fixture(scope="module")
def devnet() -> Iterator[NodeThread]:
    """A fresh two-rollup devnet (901, 902) in instant mode, per test module."""
    node = NodeThread(Settings.for_tests())
    node.start()
    yield node
    node.stop()


@pytest.fixture(scope="module")
def w3a(devnet: NodeThread) -> Web3:
    assert devnet.endpoints is not None
    return Web3(Web3.HTTPProvider(devnet.endpoints.rollup_url(901), request_kwargs={"timeout": 30}))


@pytest.fixture(scope="module")
def w3b(devnet: NodeThread) -> Web3:
    assert devnet.endpoints is not None
    return Web3(Web3.HTTPProvider(devnet.endpoints.rollup_url(902), request_kwargs={"timeout": 30}))


@pytest.fixture(scope="session")
def keys() -> list[Any]:
    return list(dev_accounts(10))


def send_eth(w3: Web3, key: Any, to: str, value: int, **extra: Any) -> bytes:
    """Sign with eth-account, send raw, return the hash (no waiting)."""
    tx = {
        "chainId": w3.eth.chain_id,
        "nonce": w3.eth.get_transaction_count(key.address, "pending"),
        "to": to,
        "value": value,
        "gas": 21_000,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 10**6,
        "type": 2,
    }
    tx.update(extra)
    signed = Account.sign_transaction(tx, key.key)
    return bytes(w3.eth.send_raw_transaction(signed.raw_transaction))


def deploy(w3: Web3, key: Any, name: str, *args: Any) -> Any:
    art = artifact(name)
    factory = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    tx = factory.constructor(*args).build_transaction(
        {
            "from": key.address,
            "nonce": w3.eth.get_transaction_count(key.address, "pending"),
            "chainId": w3.eth.chain_id,
        }
    )
    signed = Account.sign_transaction(tx, key.key)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=10, poll_latency=0.01)
    assert receipt.status == 1
    return w3.eth.contract(address=receipt.contractAddress, abi=art["abi"])


def transact(w3: Web3, key: Any, fn: Any, **extra: Any) -> Any:
    params = {
        "from": key.address,
        "nonce": w3.eth.get_transaction_count(key.address, "pending"),
        "chainId": w3.eth.chain_id,
    }
    params.update(extra)
    tx = fn.build_transaction(params)
    signed = Account.sign_transaction(tx, key.key)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    return w3.eth.wait_for_transaction_receipt(tx_hash, timeout=10, poll_latency=0.01)

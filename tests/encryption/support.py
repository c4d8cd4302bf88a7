"""Helpers of the encryption tests: signed transfers, clients of a node, waiting."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import Web3

from tests.procs import EXE
from xseqd.client import SequencerClient
from xseqd.keyper import KeyperSet
from xseqd.node import NodeThread
from xseqd.sequencer.decryption import Decryptor

SINK = "0x000000000000000000000000000000000000dEaD"


def transfer(cid: int, key: Any, nonce: int, value: int = 1, to: str = SINK) -> bytes:
    tx = {"chainId": cid, "nonce": nonce, "to": to, "value": value, "gas": 21_000,
          "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 1}  # fmt: skip
    return bytes(Account.sign_transaction(tx, key.key).raw_transaction)


def client(node: NodeThread) -> SequencerClient:
    assert node.endpoints is not None
    return SequencerClient(node.endpoints.base_url)


def rollup(node: NodeThread, chain_id: int) -> Web3:
    assert node.endpoints is not None
    return Web3(Web3.HTTPProvider(node.endpoints.rollup_url(chain_id)))


def nonce(node: NodeThread, chain_id: int, key: Any) -> int:
    return int(rollup(node, chain_id).eth.get_transaction_count(key.address, "pending"))


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def rpc(w3: Web3, method: str, *params: Any) -> Any:
    return w3.provider.make_request(method, list(params))  # type: ignore[arg-type]


def verify(data_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """``xseqd verify --data-dir DIR ...`` as a user runs it."""
    return subprocess.run([str(EXE), "verify", "--data-dir", str(data_dir), *extra],
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def partial_round(node: NodeThread, victim: Any) -> tuple[KeyperSet, Decryptor, dict[str, Any]]:
    """On a 2-of-3 devnet: keypers 2 and 3 hang on every release, keyper 1 releases the
    victim's encrypted bundle (nonce 0, 4 wei on 901), then 2 and 3 die mid-request and the
    round gives up on it (``unsettled``). Returns the keypers, the decryptor and what the
    send answered."""
    keypers, decryptor = node.node.keypers, node.node.decryptor
    assert keypers is not None and decryptor is not None
    for i in (2, 3):
        keypers.stop(i)
        keypers.extra_args[i] = ["--release-delay", "30"]
        keypers.start(i)
    decryptor.urls = keypers.urls
    sent = client(node).send_encrypted_bundle([transfer(901, victim, 0, 4)])
    released = keypers.directory / "keyper-1.bindings.json"
    wait_for(
        lambda: released.exists() and sent["bundleHash"] in released.read_text(),
        "keyper 1's release",
    )
    for i in (2, 3):  # they die mid-request, before doing anything
        keypers.stop(i)
        keypers.extra_args.pop(i)
    wait_for(lambda: decryptor.unsettled == 1, "the round to give up on the commit")
    return keypers, decryptor, sent

"""Real ethers v6 and viem (npm, installed by `make install`) against a real xseqd server
(issue 9). Each Node script (tests/clients/js/) asserts as it goes and prints what it saw as
one JSON object; this side checks that against the server with web3.py."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from web3 import Web3

from tests.conftest import ARTIFACTS, ROOT
from xseqd.node import NodeThread

JS = Path(__file__).resolve().parent / "js"
COUNTER = ARTIFACTS / "Counter.json"


def run_node(script: str, *args: str) -> dict[str, Any]:
    node = shutil.which("node")
    assert node is not None, "node (Node 20) is needed: see the README's requirements"
    assert (ROOT / "node_modules" / "ethers").is_dir(), "run `make install` (npm devDependencies)"
    done = subprocess.run(
        [node, str(JS / script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{script} failed:\n{done.stdout}\n{done.stderr}"
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def test_ethers_v6_twenty_concurrent_sends_with_explicit_nonces(
    devnet: NodeThread, w3a: Web3, keys: list[Any]
) -> None:
    """ethers v6 puts each transaction's nonce into eth_estimateGas; 19 of these 20 used to
    fail with "nonce too low" (a nonce *above* the current one)."""
    key = keys[7]
    assert devnet.endpoints is not None
    assert w3a.eth.get_transaction_count(key.address) == 0
    out = run_node(
        "ethers_sends.mjs", devnet.endpoints.rollup_url(901), "0x" + key.key.hex(), str(COUNTER)
    )
    assert out["chainId"] == 901
    assert out["start"] == 0 and out["nonceAfter"] == 20
    assert out["statuses"] == [1] * 20
    assert out["recipient"] == str(sum(1000 + i for i in range(20)))
    # the server agrees: 20 transfers + the deployment + increment()
    assert w3a.eth.get_transaction_count(key.address) == 22
    recipient = Web3.to_checksum_address("0x000000000000000000000000000000000000e7e7")
    assert w3a.eth.get_balance(recipient) == sum(1000 + i for i in range(20))
    # a call / estimate with a nonce above the current one
    assert out["estimate"] == "21000" and out["callResult"] == "0x"
    counter = w3a.eth.contract(out["counter"], abi=json.loads(COUNTER.read_text())["abi"])
    assert counter.functions.count().call() == 1 and out["count"] == "1"
    assert out["events"] == ["Incremented"]
    assert out["revertReason"] == "counter: always fails"


def test_viem_test_client_impersonates_simulates_proves(devnet: NodeThread, w3a: Web3) -> None:
    assert devnet.endpoints is not None
    out = run_node("viem_test_client.mjs", devnet.endpoints.rollup_url(901), "901", str(COUNTER))
    # sendUnsignedTransaction from an impersonated account nobody has the key of
    tx = w3a.eth.get_transaction(out["hash"])
    assert tx["from"] == Web3.to_checksum_address("0x00000000000000000000000000000000000a11ce")
    assert tx["value"] == 12345
    assert w3a.eth.get_transaction_receipt(out["hash"])["status"] == 1
    # state overrides (stateDiff, code + state, balance) and the decoded custom error
    assert out["simulated"] == "41" and int(out["called"], 16) == 7
    assert out["withoutBalance"] and out["customError"] == "TooLarge"
    # the proof's root node is the state root of the block it was asked at
    assert out["proofNodes"] >= 1
    [entry] = [e for e in out["accessList"] if e["address"].endswith("c011")]
    assert "0x" + "00" * 32 in entry["storageKeys"]
    assert int(out["accessGas"]) > 21_000
    assert out["trace"]["type"] == "CALL" and int(out["trace"]["value"], 16) == 12345

"""Shared helpers for the examples: endpoints, the dev keys, contract handles, sending."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import Web3

ROOT = Path(__file__).resolve().parent.parent
MAILBOX = "0x4200000000000000000000000000000000000023"
BRIDGE = "0x4200000000000000000000000000000000000024"
XRT = "0x4200000000000000000000000000000000000025"
# the first two dev accounts of the `test test ... junk` mnemonic
ALICE = Account.from_key("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
BOB = Account.from_key("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")


def connect() -> tuple[Web3, Web3]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rpc", default="http://127.0.0.1:9545", help="xseqd base URL")
    args = parser.parse_args()
    base = args.rpc.rstrip("/")
    return (
        Web3(Web3.HTTPProvider(f"{base}/rollup/901")),
        Web3(Web3.HTTPProvider(f"{base}/rollup/902")),
    )


def contract(w3: Web3, address: str, name: str) -> Any:
    abi = json.loads((ROOT / "xseqd" / "contracts" / "artifacts" / f"{name}.json").read_text())[
        "abi"
    ]
    return w3.eth.contract(Web3.to_checksum_address(address), abi=abi)


def send(w3: Web3, key: Any, fn: Any, value: int = 0) -> Any:
    tx = fn.build_transaction(
        {
            "from": key.address,
            "value": value,
            "chainId": w3.eth.chain_id,
            "nonce": w3.eth.get_transaction_count(key.address, "pending"),
        }
    )
    raw = Account.sign_transaction(tx, key.key).raw_transaction
    return w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(raw), poll_latency=0.05)

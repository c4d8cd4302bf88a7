"""What the deposit and withdrawal tests share: a devnet settling on a real anvil, the
Portal as a web3.py contract on that L1, and the user's steps (deposit, withdraw, claim)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from xseqd.abi import artifact, decode_error
from xseqd.client import SequencerClient, finalize_withdrawal_calldata
from xseqd.config import Settings
from xseqd.node import NodeThread

MAILBOX = Web3.to_checksum_address("0x4200000000000000000000000000000000000023")
ETH = 10**18
DEPOSITOR = Account.from_key(  # anvil's (and the devnet's) dev account 1
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
)


XTOKEN_ABI = artifact("ReferenceXToken")["abi"]
BRIDGE_ABI = artifact("TokenBridge")["abi"]
TOKEN_BRIDGE = "0x4200000000000000000000000000000000000024"
REFERENCE_TOKEN = "0x4200000000000000000000000000000000000025"


def fresh(name: str) -> LocalAccount:
    """A deterministic account with nothing anywhere (its key from ``name``)."""
    return Account.from_key(Web3.keccak(text=f"xseqd deposits test {name}"))


@contextmanager
def bridged_devnet(l1_url: str, **overrides: Any) -> Iterator[NodeThread]:
    settings = Settings.for_tests(l1_rpc=l1_url, challenge_window=3, **overrides)
    node = NodeThread(settings)
    node.start()
    try:
        yield node
    finally:
        node.stop()


def seq(node: NodeThread) -> SequencerClient:
    assert node.endpoints is not None
    return SequencerClient(node.endpoints.base_url)


def rollup(node: NodeThread, chain_id: int) -> Web3:
    assert node.endpoints is not None
    return Web3(Web3.HTTPProvider(node.endpoints.rollup_url(chain_id)))


def l1_web3(url: str) -> Web3:
    return Web3(Web3.HTTPProvider(url))


def portal(l1: Web3, node: NodeThread) -> Contract:
    address = seq(node).info()["l1"]["portal"]
    return l1.eth.contract(address=address, abi=artifact("Portal")["abi"])


def mailbox(w3: Web3) -> Contract:
    return w3.eth.contract(address=MAILBOX, abi=artifact("Mailbox")["abi"])


def send_l1(l1: Web3, who: LocalAccount, to: str, data: bytes, value: int = 0) -> Any:
    """Sign and send on the L1; the receipt (whatever its status)."""
    tx = {
        "from": who.address,
        "to": to,
        "data": data,
        "value": value,
        "nonce": l1.eth.get_transaction_count(who.address),
        "chainId": 900,
        "gas": 2_000_000,
        "maxFeePerGas": 50 * 10**9,
        "maxPriorityFeePerGas": 10**9,
    }
    signed = who.sign_transaction(tx)
    return l1.eth.wait_for_transaction_receipt(l1.eth.send_raw_transaction(signed.raw_transaction))


def deposit(
    l1: Web3, p: Contract, who: LocalAccount, chain_id: int, to: str, value: int, data: bytes = b""
) -> Any:
    call = p.functions.depositETH(chain_id, to, data)._encode_transaction_data()
    receipt = send_l1(l1, who, p.address, bytes.fromhex(call[2:]), value)
    assert receipt.status == 1
    return receipt


def withdraw(w3: Web3, who: LocalAccount, to: str, value: int, data: bytes = b"") -> str:
    """``Mailbox.send{value}(900, to, data)`` on a rollup; the rollup tx hash."""
    tx = (
        mailbox(w3)
        .functions.send(900, to, data)
        .build_transaction(
            {
                "from": who.address,
                "value": value,
                "nonce": w3.eth.get_transaction_count(who.address),
                "gas": 200_000,
                "maxFeePerGas": 10**10,
                "maxPriorityFeePerGas": 1,
                "chainId": w3.eth.chain_id,
            }
        )
    )
    tx_hash = w3.eth.send_raw_transaction(who.sign_transaction(tx).raw_transaction)
    assert w3.eth.wait_for_transaction_receipt(tx_hash).status == 1
    return tx_hash.to_0x_hex()


def claim(l1: Web3, p: Contract, who: LocalAccount, entry: dict[str, Any]) -> Any:
    return send_l1(l1, who, p.address, finalize_withdrawal_calldata(entry))


def claim_error(l1: Web3, p: Contract, who: LocalAccount, entry: dict[str, Any]) -> str:
    """Why the Portal refuses a claim (simulated; '' if it would pay)."""
    call = {
        "from": who.address,
        "to": p.address,
        "data": "0x" + finalize_withdrawal_calldata(entry).hex(),
    }
    reply = l1.provider.make_request("eth_call", [call, "latest"])  # type: ignore[arg-type]
    if "error" not in reply:
        return ""
    data = reply["error"].get("data") or "0x"
    return decode_error("Portal", bytes.fromhex(data[2:])) or str(reply["error"]["message"])


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def finalize(l1: Web3, node: NodeThread, slot: int) -> None:
    """Mine L1 blocks until ``slot`` is finalized (the poster has seen it)."""
    poster = node.node.poster
    assert poster is not None
    wait_for(lambda: poster.safe_slot >= slot, f"slot {slot} posted")

    def done() -> bool:
        l1.provider.make_request("anvil_mine", [1])  # type: ignore[arg-type]
        return poster.finalized_slot >= slot

    wait_for(done, f"slot {slot} finalized")

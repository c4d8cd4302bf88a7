"""What the adversary rows share: raw JSON-RPC calls that must fail, the keys an attacker
could guess, and a devnet settling on a real anvil."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from eth_abi import decode
from eth_hash.auto import keccak
from web3 import Web3

from xseqd.client import SequencerClient
from xseqd.config import Settings
from xseqd.l1.client import L1Client
from xseqd.node import NodeThread

# Keys that were public constants once: an attacker tries them first.
OLD_SEQUENCER_KEY = keccak(b"xseqd devnet sequencer key")
OLD_VERIFIER_KEY = keccak(b"xseqd devnet verifier key")
SYSTEM_KEY = keccak(b"xseqd devnet system account key")  # fixed in Mailbox.sol, public

MAILBOX = Web3.to_checksum_address("0x4200000000000000000000000000000000000023")
TOKEN_BRIDGE = Web3.to_checksum_address("0x4200000000000000000000000000000000000024")
REFERENCE_TOKEN = Web3.to_checksum_address("0x4200000000000000000000000000000000000025")
SYSTEM = Web3.to_checksum_address("0xC94BE4064c3892F19b298038DAD4d6e5704BC8a2")
PREDEPLOYS = (MAILBOX, TOKEN_BRIDGE, REFERENCE_TOKEN, SYSTEM)

STATUS = keccak(b"status(uint256)")[:4]
SEQUENCER_BOND = keccak(b"sequencerBond()")[:4]


def rpc(w3: Web3, method: str, *params: Any) -> Any:
    """The raw JSON-RPC response (result or error) of one call."""
    return w3.provider.make_request(method, list(params))  # type: ignore[arg-type]


def refused(w3: Web3, method: str, *params: Any) -> dict[str, Any]:
    """Call ``method`` and return its JSON-RPC error (fails if it succeeded)."""
    reply = rpc(w3, method, *params)
    assert "error" in reply, f"{method} was accepted: {reply}"
    return dict(reply["error"])


def slot_status(client: L1Client, settlement: str, slot: int) -> int:
    """Settlement.status(slot): 1 = committed (safe), 3 = invalidated."""
    out = client.eth_call(settlement, STATUS + slot.to_bytes(32, "big"))
    return int(decode(["uint8"], out)[0])


def bond(client: L1Client, settlement: str) -> int:
    return int(decode(["uint256"], client.eth_call(settlement, SEQUENCER_BOND))[0])


@contextmanager
def settled_devnet(l1_url: str, **overrides: Any) -> Iterator[NodeThread]:
    """A devnet (test preset) settling on the anvil at ``l1_url``; stopped on exit."""
    node = NodeThread(Settings.for_tests(l1_rpc=l1_url, challenge_window=100, **overrides))
    node.start()
    try:
        yield node
    finally:
        node.stop()


def settlement_of(node: NodeThread) -> str:
    assert node.endpoints is not None
    return str(SequencerClient(node.endpoints.base_url).info()["l1"]["settlement"])

"""The Settlement contract from Python: deploy it, read it, and the calls that post.

Every selector and type comes from the committed artifact (xseqd/abi.py). The poster
(l1/poster.py), the verifier (verify/) and challengers use these and nothing else to talk
to the contract.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from eth_abi import decode, encode
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from xseqd.abi import artifact, calldata, decode_output, event_topic, input_types
from xseqd.l1.client import L1Client

SEQUENCER_BOND = 10 * 10**18
CHALLENGE_BOND = 10**18


@dataclass(frozen=True)
class SlotRecord:
    """What Settlement keeps per slot."""

    commitment: bytes
    data_hash: bytes
    l1_block: int
    invalidated: bool
    epoch: int


@dataclass(frozen=True)
class GenesisRecord:
    """The deployment's genesis commitment and the description it was built from."""

    rollups: tuple[int, ...]
    genesis: bytes
    description: dict[str, Any]


def deploy(
    client: L1Client,
    key: LocalAccount,
    verifier: str,
    window: int,
    rollups: list[int],
    genesis: bytes,
    description: dict[str, Any],
    rewindable: bool = True,
    bond: int = SEQUENCER_BOND,
) -> str:
    """Deploy Settlement with the sequencer's bond; returns its address."""
    code = bytes.fromhex(artifact("Settlement")["bytecode"][2:])
    args = encode(
        input_types("Settlement", "constructor", "constructor"),
        [
            key.address,
            verifier,
            window,
            rewindable,
            rollups,
            genesis,
            json.dumps(description, sort_keys=True).encode(),
        ],
    )
    receipt = client.send(key, None, code + args, gas=8_000_000, value=bond)
    if int(receipt.get("status", "0x1"), 16) != 1:
        raise RuntimeError("Settlement deployment reverted")
    return str(receipt["contractAddress"])


class Settlement:
    """Reads of one deployed Settlement."""

    def __init__(self, client: L1Client, address: str) -> None:
        self.client, self.address = client, address

    def _view(self, name: str, *args: Any) -> tuple[Any, ...]:
        return decode_output(
            "Settlement",
            name,
            self.client.eth_call(self.address, calldata("Settlement", name, *args)),
        )

    def next_slot(self) -> int:
        return int(self._view("nextSlot")[0])

    def bond(self) -> int:
        return int(self._view("sequencerBond")[0])

    def min_bond(self) -> int:
        return int(self._view("MIN_SEQUENCER_BOND")[0])

    def epoch(self) -> int:
        return int(self._view("epoch")[0])

    def sequencer(self) -> str:
        return str(to_checksum_address(self._view("sequencer")[0]))

    def verifier(self) -> str:
        return str(to_checksum_address(self._view("verifier")[0]))

    def slot(self, number: int) -> SlotRecord:
        c, d, block, invalid, epoch = self._view("slots", number)
        return SlotRecord(bytes(c), bytes(d), int(block), bool(invalid), int(epoch))

    def status(self, number: int) -> int:
        """0 not committed, 1 safe, 2 finalized, 3 invalidated."""
        return int(self._view("status", number)[0])

    def genesis(self) -> GenesisRecord:
        """The genesis the deployment committed to (from its ``Genesis`` event)."""
        logs = self.client.call(
            "eth_getLogs",
            {
                "address": self.address,
                "fromBlock": "0x0",
                "toBlock": "latest",
                "topics": ["0x" + event_topic("Settlement", "Genesis").hex()],
            },
        )
        if len(logs) != 1:
            raise LookupError(f"{self.address} has {len(logs)} Genesis events, expected 1")
        ids, genesis, description = decode(
            ["uint256[]", "bytes32", "bytes"], bytes.fromhex(logs[0]["data"][2:])
        )
        return GenesisRecord(
            tuple(int(i) for i in ids), bytes(genesis), json.loads(bytes(description))
        )


def bond_calldata() -> bytes:
    return calldata("Settlement", "bond")


def post_calldata(first: int, epoch: int, commitments: list[bytes], data: bytes) -> bytes:
    return calldata("Settlement", "post", first, epoch, commitments, data)

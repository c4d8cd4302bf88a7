"""Which Settlement a devnet posts to, and who that contract trusts: its sequencer (posts,
signs order receipts) and its verifier (attests). A devnet that finds its Settlement
already deployed must hold the keys the contract names, or every post would revert."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account import Account

from xseqd.errors import XseqError
from xseqd.keys import DevnetKeys
from xseqd.l1 import settlement
from xseqd.l1.client import L1Client


def settlement_party(client: L1Client, address: str, role: str) -> str:
    """``Settlement.sequencer()`` or ``Settlement.verifier()`` (checksum address)."""
    contract = settlement.Settlement(client, address)
    return contract.sequencer() if role == "sequencer" else contract.verifier()


def check_parties(client: L1Client, address: str, sequencer: str, verifier: str) -> None:
    """Raise ``XseqError`` unless the Settlement at ``address`` names these parties."""
    for role, ours in (("sequencer", sequencer), ("verifier", verifier)):
        theirs = settlement_party(client, address, role)
        if theirs.lower() != ours.lower():
            raise XseqError(
                f"Settlement {address} on the L1 was deployed with {role} {theirs}, "
                f"but this devnet's {role} key is {ours}: supply that key with "
                f"--{role}-key, or start a new devnet with another --data-dir"
            )


@dataclass(frozen=True)
class GenesisCommitment:
    """What a new Settlement commits to: the rollups, their genesis, its description."""

    rollups: list[int]
    genesis: bytes
    description: dict[str, Any]


def settlement_for(
    client: L1Client, keys: DevnetKeys, known: str | None, window: int, genesis: GenesisCommitment
) -> str:
    """The Settlement to post to: ``known`` (from the log) if it is still on L1 and names
    these keys (``XseqError`` if it names others), else a newly deployed one."""
    sequencer = Account.from_key(keys.sequencer)
    try:  # a dev L1 funds the sequencer; a real one must be funded by its operator
        client.call("anvil_setBalance", sequencer.address, hex(10**24))
    except Exception:
        pass
    if known is not None and client.call("eth_getCode", known, "latest") not in ("0x", "0x0"):
        check_parties(client, known, sequencer.address, keys.verifier_address)
        return known
    return settlement.deploy(
        client,
        sequencer,
        keys.verifier_address,
        window,
        genesis.rollups,
        genesis.genesis,
        genesis.description,
    )

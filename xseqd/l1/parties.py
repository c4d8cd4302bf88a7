"""Which Settlement a devnet posts to, and who that contract trusts: its sequencer (posts,
signs order receipts) and its verifier (attests). A devnet that finds its Settlement
already deployed must hold the keys the contract names, or every post would revert."""

from __future__ import annotations

from eth_abi import decode
from eth_account import Account
from eth_hash.auto import keccak
from eth_utils import to_checksum_address

from xseqd.errors import XseqError
from xseqd.keys import DevnetKeys
from xseqd.l1.client import L1Client
from xseqd.l1.poster import deploy_settlement

SEQUENCER = keccak(b"sequencer()")[:4]
VERIFIER = keccak(b"verifier()")[:4]


def settlement_party(client: L1Client, settlement: str, role: str) -> str:
    """``Settlement.sequencer()`` or ``Settlement.verifier()`` (checksum address)."""
    selector = SEQUENCER if role == "sequencer" else VERIFIER
    address = decode(["address"], client.eth_call(settlement, selector))[0]
    return str(to_checksum_address(address))


def check_parties(client: L1Client, settlement: str, sequencer: str, verifier: str) -> None:
    """Raise ``XseqError`` unless ``settlement`` names ``sequencer`` and ``verifier``."""
    for role, ours in (("sequencer", sequencer), ("verifier", verifier)):
        theirs = settlement_party(client, settlement, role)
        if theirs.lower() != ours.lower():
            raise XseqError(
                f"Settlement {settlement} on the L1 was deployed with {role} {theirs}, "
                f"but this devnet's {role} key is {ours}: supply that key with "
                f"--{role}-key, or start a new devnet with another --data-dir"
            )


def settlement_for(client: L1Client, keys: DevnetKeys, known: str | None, window: int) -> str:
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
    return deploy_settlement(client, sequencer, keys.verifier_address, window)

"""Keys an outsider could use against an honest sequencer. Receipts and L1 posts are signed
by a key each devnet generates (kept 0600 in its data dir) or is given; attestations need a
different, equally private key. Must never happen: a receipt or an attestation made with a
guessed (once public) key slashing an honest sequencer, or a devnet posting with a key
its Settlement contract rejects.
"""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from eth_abi import decode
from eth_account import Account
from eth_hash.auto import keccak
from web3 import Web3

from tests.adversary.support import (
    OLD_SEQUENCER_KEY,
    OLD_VERIFIER_KEY,
    batch_of,
    bond,
    settled_devnet,
    settlement_of,
    slot_status,
)
from tests.l1.test_settlement import KEYS, sign, wait_posted
from xseqd.client import SequencerClient
from xseqd.config import Settings
from xseqd.core.order import OrderReceipt, ReceiptDomain, receipt_signer, sign_receipt
from xseqd.errors import XseqError
from xseqd.l1.anvil import Anvil
from xseqd.l1.client import L1Client, L1Error
from xseqd.l1.settlement import Settlement
from xseqd.node import Node, NodeThread
from xseqd.verify.challenge import attest, challenge_receipt, challenger

PARTY = {"sequencer": keccak(b"sequencer()")[:4], "verifier": keccak(b"verifier()")[:4]}


def devnet_in(data_dir: Path, **overrides: Any) -> NodeThread:
    node = NodeThread(Settings.for_tests(data_dir=data_dir, db="", **overrides))
    node.start()
    return node


def receipt_of_a_bundle(node: NodeThread, key: Any) -> dict[str, Any]:
    assert node.endpoints is not None
    seq = SequencerClient(node.endpoints.base_url)
    result = seq.send_bundle([sign(901, key, 0)])
    assert result["status"] == "included"
    return dict(result["receipt"])


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def party(client: L1Client, settlement: str, role: str) -> str:
    address = decode(["address"], client.eth_call(settlement, PARTY[role]))[0]
    return str(Web3.to_checksum_address(address))


def test_receipts_are_signed_by_a_per_devnet_key_not_a_public_constant(tmp_path: Path) -> None:
    guessed = Account.from_key(OLD_SEQUENCER_KEY).address
    a = devnet_in(tmp_path / "a")
    try:
        first = a.node.sequencer.address
        domain = a.node.sequencer.book.domain
        receipt = receipt_of_a_bundle(a, KEYS[0])
    finally:
        a.stop()
    b = devnet_in(tmp_path / "b")
    try:
        other = b.node.sequencer.address
    finally:
        b.stop()
    assert first != other and guessed not in (first, other)
    assert receipt_signer(OrderReceipt.from_json(receipt), domain) == first
    for data_dir in (tmp_path / "a", tmp_path / "b"):
        assert mode(data_dir / "sequencer.key") == 0o600
        assert mode(data_dir / "verifier.key") == 0o600
        keys = {(data_dir / name).read_text().strip() for name in ("sequencer.key", "verifier.key")}
        assert len(keys) == 2  # the attester's key is another key
    again = devnet_in(tmp_path / "a")
    try:
        assert again.node.sequencer.address == first  # a restart keeps the key
    finally:
        again.stop()


def test_a_receipt_forged_with_the_old_public_key_cannot_slash(l1: Anvil) -> None:
    with settled_devnet(l1.url) as node:
        assert node.endpoints is not None
        Web3(Web3.HTTPProvider(node.endpoints.rollup_url(901))).eth.send_raw_transaction(
            sign(901, KEYS[0], 0)
        )
        wait_posted(node)
        client, settlement = L1Client(l1.url), settlement_of(node)
        # the right domain (this L1, this Settlement) and epoch, the old public key
        domain = ReceiptDomain(900, bytes.fromhex(settlement[2:]))
        forged = sign_receipt(
            OrderReceipt(1, 0, b"\x11" * 32, b"\x22" * 32, 0), OLD_SEQUENCER_KEY, domain
        )
        with pytest.raises(L1Error):
            challenge_receipt(
                client, challenger(), settlement, batch_of(client, settlement, 1), forged
            )
        assert slot_status(client, settlement, 1) == 1
        assert bond(client, settlement) == 10 * 10**18


def test_a_guessed_public_key_cannot_attest(l1: Anvil) -> None:
    with settled_devnet(l1.url) as node:
        assert node.endpoints is not None
        Web3(Web3.HTTPProvider(node.endpoints.rollup_url(901))).eth.send_raw_transaction(
            sign(901, KEYS[1], 0)
        )
        wait_posted(node)
        client, settlement = L1Client(l1.url), settlement_of(node)
        commitment = Settlement(client, settlement).slot(1).commitment
        with pytest.raises(L1Error):
            attest(client, challenger(), OLD_VERIFIER_KEY, settlement, 1, commitment)
        assert slot_status(client, settlement, 1) == 1
        assert bond(client, settlement) == 10 * 10**18


def test_a_devnet_never_posts_with_a_key_its_settlement_rejects(l1: Anvil, tmp_path: Path) -> None:
    settings = Settings.for_tests(data_dir=tmp_path, db="", l1_rpc=l1.url, challenge_window=100)
    node = NodeThread(settings)
    node.start()
    try:
        sequencer, settlement = node.node.sequencer.address, settlement_of(node)
    finally:
        node.stop()
    client = L1Client(l1.url)
    assert party(client, settlement, "sequencer") == sequencer
    for role in ("sequencer", "verifier"):
        other = Account.create()
        refusing = Node(
            Settings.for_tests(
                data_dir=tmp_path, db="", l1_rpc=l1.url, **{f"{role}_key": other.key.hex()}
            )
        )
        with pytest.raises(XseqError) as refusal:
            asyncio.run(refusing.start())
        message = refusal.value.message
        assert settlement in message and other.address in message, message
        assert party(client, settlement, role) in message, message
    # with its own key it carries on where it was, on the same Settlement
    node = NodeThread(settings)
    node.start()
    try:
        assert settlement_of(node) == settlement and node.node.sequencer.address == sequencer
        assert node.endpoints is not None
        w3 = Web3(Web3.HTTPProvider(node.endpoints.rollup_url(901)))
        w3.eth.send_raw_transaction(sign(901, KEYS[2], 0))
        wait_posted(node)
    finally:
        node.stop()


def test_supplied_keys_are_the_settlement_parties(l1: Anvil) -> None:
    seq_key, verifier_key = Account.create(), Account.create()
    with settled_devnet(
        l1.url, sequencer_key=seq_key.key.hex(), verifier_key="0x" + verifier_key.key.hex()
    ) as node:
        client, settlement = L1Client(l1.url), settlement_of(node)
        assert node.node.sequencer.address == seq_key.address
        assert party(client, settlement, "sequencer") == seq_key.address
        assert party(client, settlement, "verifier") == verifier_key.address

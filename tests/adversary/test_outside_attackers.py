"""Outside attackers on an honest chain: whatever they cite (the posted data, a pair of
rollups, a genuine receipt from another deployment or an earlier epoch, a replayed or
guessed attestation) every challenge fails, the sequencer's bond is untouched and the
slots stay safe; cheat methods cannot rewrite history already committed on L1. Must
never happen: an honest slot successfully challenged.
"""

from __future__ import annotations

import pytest
from eth_account import Account

from tests.adversary.support import (
    SAFE,
    batch_of,
    bond,
    receipt_call,
    scenario,
    settled_devnet,
    simulated,
    slot_status,
    submit,
    verify_cli,
    wait_safe,
)
from xseqd.abi import calldata
from xseqd.core.order import OrderReceipt
from xseqd.l1.anvil import Anvil
from xseqd.l1.client import L1Client, L1Error
from xseqd.l1.settlement import SEQUENCER_BOND
from xseqd.verify.challenge import attestation


def test_honest_slots_are_never_successfully_challenged(l1: Anvil) -> None:
    with settled_devnet(l1.url) as node:
        s = scenario(node)
        wait_safe(node, 3)
        client, settlement = L1Client(l1.url), node.node.poster.address  # type: ignore[union-attr]
        data = batch_of(client, settlement, 2)
        receipt = OrderReceipt.from_json(s["receipt_b"])
        guessed = attestation(Account.create().key, 900, settlement, 2, b"\x00" * 32)
        attempts = {
            "challengeData": calldata("Settlement", "challengeData", 2, data),
            "challengeMailbox 0->1": calldata("Settlement", "challengeMailbox", 2, data, 0, 1),
            "challengeMailbox 1->0": calldata("Settlement", "challengeMailbox", 2, data, 1, 0),
            "challengeReceipt": receipt_call(2, data, receipt),
            "attest": calldata("Settlement", "attest", 2, guessed),
        }
        for name, call in attempts.items():
            assert simulated(client, settlement, call) != "", name
            with pytest.raises(L1Error):
                submit(client, settlement, call, value=0 if name == "attest" else 10**18)
        assert [slot_status(client, settlement, n) for n in (1, 2, 3)] == [SAFE] * 3
        assert bond(client, settlement) == SEQUENCER_BOND
        code, out = verify_cli("--l1-rpc", l1.url, "--settlement", settlement)
        assert code == 0 and "OK: 3 slots re-executed" in out, out

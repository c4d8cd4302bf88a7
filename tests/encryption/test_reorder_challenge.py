"""The sandwich table's row "encrypted, the sequencer reorders after decryption", end to
end on a real anvil: the sequencer posts slot 3's two reveals out of their sealed order
(dev-only ``--fault order:3``); ``xseqd verify`` names it; the verifier's attestation
(``xseqd verify --challenge``) pays the sequencer's bond to the challenger and invalidates
slot 3 and later; every rollup rolls back to slot 2, where the commits are sealed again;
the sequencer reveals them again, in order, and the history verifies OK.

A user's order receipt cannot prove this fault: receipts are given for the commits (slot
2, posted honestly), and the reveals are the sequencer's own items. The proof is the
re-execution fault the verifier attests, as for the adversary matrix's ``state`` row.
"""

from __future__ import annotations

import re

from tests.adversary.support import (
    INVALIDATED,
    SAFE,
    assert_bond_paid,
    bond,
    settlement_of,
    slot_status,
    verify_cli,
    wait_safe,
)
from tests.encryption.support import SINK, client, rollup, rpc, transfer, wait_for
from xseqd.accounts import dev_accounts
from xseqd.config import Settings
from xseqd.l1.anvil import Anvil
from xseqd.l1.client import L1Client
from xseqd.l1.settlement import SEQUENCER_BOND, Settlement
from xseqd.node import NodeThread

KEYS = dev_accounts(4)


def test_a_reorder_after_decryption_is_named_slashed_and_re_posted(anvil: Anvil) -> None:
    settings = Settings.for_tests(l1_rpc=anvil.url, challenge_window=100, keypers=2,
                                  keyper_threshold=2, fault="order:3")  # fmt: skip
    node = NodeThread(settings)
    node.start()
    try:
        seq, a = client(node), rollup(node, 901)
        a.eth.send_raw_transaction(transfer(901, KEYS[3], 0))  # slot 1, honest
        wait_safe(node, 1)  # a batch of its own
        rpc(a, "evm_setAutomine", False)
        first = seq.send_encrypted_bundle([transfer(901, KEYS[0], 0, 5)])
        second = seq.send_encrypted_bundle([transfer(901, KEYS[1], 0, 6)])
        assert first["slot"] == second["slot"] == "0x2"
        rpc(a, "evm_mine")  # seals slot 2; the reveals go to the top of slot 3
        for sent in (first, second):
            assert seq.wait_revealed(sent["bundleHash"])["executedSlot"] == "0x3"
        rpc(a, "evm_setAutomine", True)
        wait_safe(node, 3)
        assert a.eth.get_balance(SINK) == 1 + 5 + 6
        l1, settlement = L1Client(anvil.url), settlement_of(node)
        target = ["--l1-rpc", anvil.url, "--settlement", settlement]
        # verify, from L1 alone, names slot 3 and why; slots 1 and 2 are fine
        code, out = verify_cli(*target)
        assert code == 1 and "BAD slot 3 (execution)" in out and "sealed order" in out, out
        assert "(2 slots re-executed" in out, out
        assert bond(l1, settlement) == SEQUENCER_BOND
        poster = node.node.poster
        assert poster is not None
        poster.fault = ""  # slot 3 is posted; from here on it behaves
        key = ["--verifier-key", "0x" + node.node.keys.verifier.hex()]
        code, out = verify_cli(*target, "--challenge", *key)
        found = re.search(r"attestation accepted on L1 in tx (0x[0-9a-f]{64})", out)
        assert code == 1 and found is not None, out
        assert_bond_paid(l1, settlement, found.group(1), 3)  # the challenger has the bond
        assert [slot_status(l1, settlement, n) for n in (1, 2)] == [SAFE, SAFE]
        assert slot_status(l1, settlement, 3) in (INVALIDATED, SAFE)  # SAFE: re-posted
        # every rollup rolls back to slot 2; the commits are revealed again, in order
        wait_for(lambda: poster.invalidations == 1, "the rollback")
        for sent in (first, second):
            done = seq.wait_revealed(sent["bundleHash"])
            assert done["status"] == "included" and done["receipt"] == sent["receipt"]
        assert a.eth.get_balance(SINK) == 1 + 5 + 6  # once each, not twice
        assert a.eth.get_transaction_count(KEYS[0].address) == 1
        assert a.eth.get_transaction_count(KEYS[1].address) == 1
        wait_for(lambda: poster.safe_slot >= node.node.sequencer.head_slot, "re-posted")
        head = node.node.sequencer.head_slot
        contract = Settlement(l1, settlement)
        assert [contract.status(n) for n in range(1, head + 1)] == [SAFE] * head
        assert contract.epoch() == 1
        code, out = verify_cli(*target)
        assert code == 0 and f"OK: {head} slots re-executed" in out, out
    finally:
        node.stop()

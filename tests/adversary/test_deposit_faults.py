"""The adversary matrix's deposit rows: a sequencer that skips an L1 deposit, or posts
one the L1 Portal never received (dev-only ``--fault skip-deposit:N`` /
``invent-deposit:N``, each with a commitment that matches the data it posts). ``xseqd
verify``, reading only the L1, names the slot and the ``deposit`` fault; the verifier's
attestation invalidates it and every later slot, pays the sequencer's bond to the
challenger, and the devnet rolls back and applies the real deposits again, once. And a
withdrawal committed in a slot that is then invalidated is never paid on L1.
"""

from __future__ import annotations

import re

import pytest

from tests.adversary.support import (
    INVALIDATED,
    SAFE,
    assert_bond_paid,
    rollup,
    rpc,
    sequencer,
    settled_devnet,
    settlement_of,
    slot_status,
    verify_cli,
    wait_for,
    wait_safe,
)
from tests.l1.bridge import (
    DEPOSITOR,
    ETH,
    claim,
    claim_error,
    deposit,
    fresh,
    l1_web3,
    mailbox,
    portal,
    withdraw,
)
from tests.l1.test_settlement import KEYS, sign
from xseqd.client import SequencerError
from xseqd.l1.anvil import Anvil
from xseqd.l1.client import L1Client

REASON = {"skip-deposit": "skipped deposit #0", "invent-deposit": "invented deposit #2"}


@pytest.mark.parametrize("fault", list(REASON))
def test_a_skipped_or_invented_deposit_is_caught_and_punished(l1: Anvil, fault: str) -> None:
    chain = l1_web3(l1.url)
    frank = fresh("frank")
    with settled_devnet(l1.url, fault=f"{fault}:2") as node:
        a = rollup(node, 901)
        a.eth.send_raw_transaction(sign(901, KEYS[0], 0))  # slot 1, honest
        wait_safe(node, 1)
        rpc(a, "evm_setAutomine", False)  # slot 2 holds both deposits
        p = portal(chain, node)
        deposit(chain, p, DEPOSITOR, 901, frank.address, ETH)
        deposit(chain, p, DEPOSITOR, 901, frank.address, 2 * ETH)
        book = node.node.sequencer.book
        wait_for(lambda: len(book.open_items) == 2, "both deposits in the open slot")
        rpc(a, "evm_mine")
        rpc(a, "evm_setAutomine", True)
        wait_safe(node, 2)
        assert a.eth.get_balance(frank.address) == 3 * ETH  # executed honestly, posted not
        client, settlement = L1Client(l1.url), settlement_of(node)
        target = ["--l1-rpc", l1.url, "--settlement", settlement]
        code, out = verify_cli(*target)
        assert code == 1 and "BAD slot 2 (deposit):" in out and REASON[fault] in out, out
        poster = node.node.poster
        assert poster is not None
        poster.fault = ""  # slot 2 is posted; from here on it behaves
        key = ["--verifier-key", "0x" + node.node.keys.verifier.hex()]
        code, out = verify_cli(*target, "--challenge", *key)
        found = re.search(r"attestation accepted on L1 in tx (0x[0-9a-f]{64})", out)
        assert code == 1 and found is not None, out
        assert_bond_paid(client, settlement, found.group(1), 2)
        assert slot_status(client, settlement, 1) == SAFE
        assert slot_status(client, settlement, 2) in (INVALIDATED, SAFE)  # SAFE: re-posted
        # rolled back to slot 1, then the real deposits applied again: once each
        wait_for(lambda: poster.invalidations == 1, "the rollback")
        wait_for(lambda: a.eth.get_balance(frank.address) == 3 * ETH, "deposits re-applied")
        assert mailbox(a).functions.inboxCount(900).call() == 2
        wait_for(lambda: poster.safe_slot >= node.node.sequencer.head_slot, "re-posted")
        code, out = verify_cli(*target)
        assert code == 0 and "OK:" in out, out


def test_a_withdrawal_in_an_invalidated_slot_is_never_paid(l1: Anvil) -> None:
    chain = l1_web3(l1.url)
    user, home = fresh("invalidated user"), fresh("invalidated home")
    with settled_devnet(l1.url, fault="state:2") as node:
        a, p = rollup(node, 901), portal(chain, node)
        deposit(chain, p, DEPOSITOR, 901, user.address, ETH)  # slot 1
        wait_for(lambda: a.eth.get_balance(user.address) == ETH, "the deposit")
        wait_safe(node, 1)
        tx = withdraw(a, user, home.address, ETH // 2)  # slot 2, committed wrongly
        wait_safe(node, 2)
        entry = sequencer(node).get_withdrawal_proof(tx)["withdrawals"][0]
        assert "NotFinalized(2, 1)" in claim_error(chain, p, DEPOSITOR, entry)
        client, settlement = L1Client(l1.url), settlement_of(node)
        target = ["--l1-rpc", l1.url, "--settlement", settlement]
        key = ["--verifier-key", "0x" + node.node.keys.verifier.hex()]
        code, out = verify_cli(*target, "--challenge", *key)
        assert code == 1 and "attestation accepted" in out, out
        poster = node.node.poster
        assert poster is not None
        wait_for(lambda: poster.invalidations == 1, "the rollback")
        rpc(chain, "anvil_mine", hex(150))  # far past the challenge window
        assert slot_status(client, settlement, 2) == INVALIDATED
        assert "NotFinalized(2, 3)" in claim_error(chain, p, DEPOSITOR, entry)
        assert claim(chain, p, DEPOSITOR, entry).status == 0
        assert chain.eth.get_balance(home.address) == 0
        assert a.eth.get_balance(user.address) == ETH  # the withdrawal is gone on 901 too
        with pytest.raises(SequencerError) as gone:
            sequencer(node).get_withdrawal_proof(tx)
        assert gone.value.code == -32001

"""The adversary matrix's censorship rows: the deposit inclusion deadline. Every batch
posted in an L1 block >= b + W must include (in its slots or earlier ones) each deposit
made in L1 block b (W = the Portal's ``inclusionWindow``, fixed on L1 at deployment). A
sequencer that stops including deposits but keeps posting slots (dev-only ``--fault
censor-deposits``) is fine up to a post in block b + W - 1, then named by ``xseqd verify``
(fault ``deposit``, the censored deposit's L1 tx hash and log index, the slot that had to
include it); the verifier's attestation invalidates that slot and pays the bond, and the
rolled-back devnet then includes the deposit, once. The controls: an honest deposit posted
exactly at b + W is fine, and so is one posted later (a late post is liveness, not
censorship: nothing was posted without it).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.adversary.support import (
    assert_bond_paid,
    posting_held,
    rollup,
    rpc,
    settled_devnet,
    settlement_of,
    verify_cli,
    wait_for,
    wait_head,
    wait_safe,
)
from tests.l1.bridge import DEPOSITOR, ETH, deposit, fresh, l1_web3, mailbox, portal
from tests.l1.test_settlement import KEYS, sign
from xseqd.config import Settings
from xseqd.core.deposits import Deposit
from xseqd.errors import XseqError
from xseqd.l1.anvil import Anvil
from xseqd.l1.client import L1Client
from xseqd.l1.portal import DEFAULT_WINDOW
from xseqd.l1.settlement import Settlement
from xseqd.node import Node
from xseqd.verify.deposits import DepositCheck

W = DEFAULT_WINDOW  # what the test preset deploys the Portal with


def log_index(receipt: Any) -> int:
    [entry] = receipt.logs  # depositETH emits Deposited only
    return int(entry.logIndex)


def posted_in(client: L1Client, settlement: str, slot: int) -> int:
    """The L1 block the post of ``slot`` landed in (Settlement's record)."""
    return Settlement(client, settlement).slot(slot).l1_block


def test_a_sequencer_that_stops_including_deposits_is_caught(l1: Anvil) -> None:
    chain = l1_web3(l1.url)
    frank = fresh("censored frank")
    with settled_devnet(l1.url, fault="censor-deposits") as node:
        a, p = rollup(node, 901), portal(chain, node)
        assert p.functions.inclusionWindow().call() == W
        client, settlement = L1Client(l1.url), settlement_of(node)
        target = ["--l1-rpc", l1.url, "--settlement", settlement]
        a.eth.send_raw_transaction(sign(901, KEYS[0], 0))  # slot 1
        wait_safe(node, 1)
        made = deposit(chain, p, DEPOSITOR, 901, frank.address, ETH)
        b = made.blockNumber
        watcher = node.node.watcher
        assert watcher is not None
        wait_for(lambda: watcher.scanned >= b and watcher.due() != [], "the watcher saw it")
        rpc(chain, "anvil_mine", hex(W - 2))
        a.eth.send_raw_transaction(sign(901, KEYS[1], 0))  # slot 2: the window's last block
        wait_safe(node, 2)
        assert posted_in(client, settlement, 2) == b + W - 1
        code, out = verify_cli(*target)
        assert code == 0 and "OK:" in out, out  # not included yet, but not due yet either
        a.eth.send_raw_transaction(sign(901, KEYS[2], 0))  # slot 3: at the deadline
        wait_safe(node, 3)
        assert posted_in(client, settlement, 3) == b + W
        assert a.eth.get_balance(frank.address) == 0  # censored: never applied
        code, out = verify_cli(*target)
        named = (
            f"censored deposit #0 (L1 tx {made.transactionHash.to_0x_hex()}, "
            f"log index {log_index(made)}, L1 block {b}): not included by slot 3"
        )
        assert code == 1 and "BAD slot 3 (deposit):" in out and named in out, out
        watcher.censor = False  # from here on it behaves
        key = ["--verifier-key", "0x" + node.node.keys.verifier.hex()]
        code, out = verify_cli(*target, "--challenge", *key)
        found = re.search(r"attestation accepted on L1 in tx (0x[0-9a-f]{64})", out)
        assert code == 1 and found is not None, out
        assert_bond_paid(client, settlement, found.group(1), 3)
        poster = node.node.poster
        assert poster is not None
        wait_for(lambda: poster.invalidations == 1, "the rollback")
        wait_for(lambda: a.eth.get_balance(frank.address) == ETH, "the deposit included")
        assert mailbox(a).functions.inboxCount(900).call() == 1  # once
        wait_for(lambda: poster.safe_slot >= node.node.sequencer.head_slot, "re-posted")
        code, out = verify_cli(*target)
        assert code == 0 and "OK:" in out, out


def test_an_honest_deposit_posted_at_the_deadline_or_late_is_ok(l1: Anvil) -> None:
    chain = l1_web3(l1.url)
    frank = fresh("edge frank")
    with settled_devnet(l1.url) as node:  # an honest sequencer, posting held by the test
        a, p = rollup(node, 901), portal(chain, node)
        client, settlement = L1Client(l1.url), settlement_of(node)
        target = ["--l1-rpc", l1.url, "--settlement", settlement]
        a.eth.send_raw_transaction(sign(901, KEYS[0], 0))  # slot 1
        wait_safe(node, 1)
        with posting_held(node):
            first = deposit(chain, p, DEPOSITOR, 901, frank.address, ETH)
            wait_for(lambda: a.eth.get_balance(frank.address) == ETH, "included in slot 2")
            wait_head(node, 2)
            rpc(chain, "anvil_mine", hex(W - 1))  # the post is the next L1 block: b + W
        wait_safe(node, 2)
        assert posted_in(client, settlement, 2) == first.blockNumber + W
        code, out = verify_cli(*target)
        assert code == 0 and "OK: 2 slots" in out, out
        with posting_held(node):
            late = deposit(chain, p, DEPOSITOR, 901, frank.address, ETH)
            wait_for(lambda: a.eth.get_balance(frank.address) == 2 * ETH, "included in slot 3")
            wait_head(node, 3)
            rpc(chain, "anvil_mine", hex(W))  # the post lands in b + W + 1
        wait_safe(node, 3)
        assert posted_in(client, settlement, 3) == late.blockNumber + W + 1
        code, out = verify_cli(*target)  # no batch was posted without it
        assert code == 0 and "OK: 3 slots" in out, out


def _deposit(index: int, l1_block: int) -> Deposit:
    return Deposit(index, 901, index, b"\1" * 20, b"\2" * 20, 1, b"", b"\3" * 32, 0, l1_block)


@pytest.mark.parametrize(
    ("window", "post_block", "late"),
    [(10, 19, False), (10, 20, True), (10, 200, True), (0, 200, False)],
)
def test_the_deadline_rule(window: int, post_block: int, late: bool) -> None:
    """Deposit #1 (L1 block 10) is the first not included: due by a post in block 10 + W."""
    check = DepositCheck({0: _deposit(0, 5), 1: _deposit(1, 10)}, next_index=1, window=window)
    reason = check.deadline(7, post_block)
    assert (reason is not None) == late, reason
    if late:
        assert reason is not None and reason.startswith("censored deposit #1 ")
        assert f"not included by slot 7, posted in L1 block {post_block}" in reason
    check.next_index = 2  # all included: nothing is late
    assert check.deadline(7, post_block) is None


def test_a_window_not_above_the_confirmations_is_refused() -> None:
    with pytest.raises(XseqError, match="--deposit-window must be more than"):
        Node(Settings.for_tests(deposit_window=3, l1_confirmations=3))

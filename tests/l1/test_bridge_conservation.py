"""Property: value is conserved across the L1 and every rollup, over random deposits
(some with a reverting call), bridging between rollups and withdrawals, on a real anvil.

    Portal balance              == deposited - claimed                       (L1)
    sum over rollups of the ETH the Mailboxes paid out of their reserves
                                == deposited - withdrawn                     (rollups)
    so: locked in the Portal    == minted on the rollups + withdrawals not yet claimed

and, once every withdrawal is finalized and claimed, each L1 recipient holds exactly what
was withdrawn to it, a second claim pays nothing, and `xseqd verify` says OK. Three
examples in `make test`; ``XSEQD_LONG=1`` (`make fuzz`) runs 25.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.adversary.support import verify_cli
from tests.l1.bridge import (
    DEPOSITOR,
    ETH,
    MAILBOX,
    bridged_devnet,
    claim,
    deposit,
    finalize,
    fresh,
    l1_web3,
    mailbox,
    portal,
    rollup,
    seq,
    wait_for,
    withdraw,
)
from tests.l1.test_settlement import free_port
from xseqd.chains.predeploys import MAILBOX_RESERVE
from xseqd.l1.anvil import Anvil

EXAMPLES = 25 if os.environ.get("XSEQD_LONG") == "1" else 3
CHAINS = (901, 902)
UNIT = ETH // 100
op = st.tuples(
    st.sampled_from(("deposit", "deposit-reverting", "bridge", "withdraw")),
    st.sampled_from(CHAINS),
    st.integers(1, 50),
)
runs = itertools.count()


@pytest.fixture(scope="module")
def shared_l1() -> Iterator[Anvil]:
    anvil = Anvil(free_port(), 900)
    anvil.start()
    yield anvil
    anvil.stop()


def minted(node: Any) -> int:
    """ETH the rollups' Mailboxes paid out of their reserves, net, summed."""
    return sum(MAILBOX_RESERVE - rollup(node, c).eth.get_balance(MAILBOX) for c in CHAINS)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(ops=st.lists(op, min_size=1, max_size=8))
def test_value_is_conserved_between_the_l1_and_the_rollups(
    shared_l1: Anvil, ops: list[tuple[str, int, int]]
) -> None:
    chain = l1_web3(shared_l1.url)
    run = next(runs)
    user, home = fresh(f"user {run}"), fresh(f"home {run}")  # home: the L1 recipient
    with bridged_devnet(shared_l1.url) as node:
        p = portal(chain, node)
        # the user's own ETH on the rollups comes from L1 (gas included)
        deposit(chain, p, DEPOSITOR, 901, user.address, ETH)
        deposit(chain, p, DEPOSITOR, 902, user.address, ETH)
        deposited, withdrawals = 2 * ETH, []
        a = {c: rollup(node, c) for c in CHAINS}
        for c in CHAINS:
            wait_for(lambda c=c: a[c].eth.get_balance(user.address) >= ETH, "funding")
        for kind, c, units in ops:
            value = units * UNIT
            if kind.startswith("deposit"):
                target, data = user.address, b""
                if kind == "deposit-reverting":
                    target, data = MAILBOX, b"\xde\xad"
                count = mailbox(a[c]).functions.inboxCount(900).call()
                deposit(chain, p, DEPOSITOR, c, target, value, data)
                deposited += value
                wait_for(
                    lambda c=c, n=count: mailbox(a[c]).functions.inboxCount(900).call() == n + 1,
                    "the deposit",
                )
            elif a[c].eth.get_balance(user.address) < value + UNIT:
                continue  # not enough on this rollup: a refused tx is another test's business
            elif kind == "bridge":
                other = CHAINS[1 - CHAINS.index(c)]
                call = mailbox(a[c]).functions.send(other, user.address, b"")
                tx = call.build_transaction(
                    {
                        "from": user.address,
                        "value": value,
                        "nonce": a[c].eth.get_transaction_count(user.address),
                        "gas": 300_000,
                        "maxFeePerGas": 10**10,
                        "maxPriorityFeePerGas": 1,
                        "chainId": c,
                    }
                )
                sent = a[c].eth.send_raw_transaction(user.sign_transaction(tx).raw_transaction)
                assert a[c].eth.wait_for_transaction_receipt(sent).status == 1
            else:
                withdrawals.append((withdraw(a[c], user, home.address, value), value))
            assert chain.eth.get_balance(p.address) == deposited  # nothing claimed yet
            assert minted(node) == deposited - sum(v for _, v in withdrawals)
        # every withdrawal finalized and claimed: the L1 recipient has exactly that
        for tx, _ in withdrawals:
            proof = seq(node).get_withdrawal_proof(tx)
            finalize(chain, node, proof["slot"])
            entry = seq(node).get_withdrawal_proof(tx)["withdrawals"][0]
            assert claim(chain, p, DEPOSITOR, entry).status == 1
            assert claim(chain, p, DEPOSITOR, entry).status == 0  # once
        claimed = sum(v for _, v in withdrawals)
        assert chain.eth.get_balance(home.address) == claimed
        assert chain.eth.get_balance(p.address) == deposited - claimed
        assert minted(node) == deposited - claimed
        head, poster = node.node.sequencer.head_slot, node.node.poster
        assert poster is not None  # verify re-executes what is on L1: wait for all of it
        wait_for(lambda: poster.safe_slot >= head, f"slots up to {head} posted")
        settlement = seq(node).info()["l1"]["settlement"]
        code, out = verify_cli("--l1-rpc", shared_l1.url, "--settlement", settlement)
        assert code == 0 and "OK:" in out, (ops, out)

"""Property: value is conserved across the L1 and every rollup, over random deposits
(some with a reverting call), bridging between rollups and withdrawals, on a real anvil.

The Portal is deployed holding the rollups' genesis supply G (every genesis balance but
the Mailbox reserves, summed over the rollups: chains/backing.py), so:

    Portal balance              == G + deposited - claimed                   (L1)
    ETH on the rollups outside the Mailbox reserves, i.e. G + what the Mailboxes
    paid out of their reserves, net
                                == G + deposited - withdrawn                 (rollups)
    so: locked in the Portal    == on the rollups + withdrawals not yet claimed
    Portal XRT                  == genesis XRT == the rollups' XRT supply (no XRT moves)

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
from xseqd.abi import artifact
from xseqd.chains.backing import genesis_backing
from xseqd.chains.predeploys import MAILBOX_RESERVE, REFERENCE_TOKEN
from xseqd.l1.anvil import Anvil

XTOKEN_ABI = artifact("ReferenceXToken")["abi"]
XRT = "0x" + REFERENCE_TOKEN.hex()
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


def on_rollups(node: Any, genesis: int) -> int:
    """ETH on the rollups outside the Mailbox reserves: the genesis supply plus what the
    Mailboxes paid out of their reserves, net, summed over every rollup."""
    ids = [r.chain_id for r in node.node.rollups]
    return genesis + sum(MAILBOX_RESERVE - rollup(node, c).eth.get_balance(MAILBOX) for c in ids)


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
        genesis = genesis_backing([r.spec for r in node.node.rollups])
        assert genesis.eth > 0 and p.functions.genesisEth().call() == genesis.eth
        assert chain.eth.get_balance(p.address) == genesis.eth
        l1_xrt = chain.eth.contract(address=p.functions.token().call(), abi=XTOKEN_ABI)
        assert l1_xrt.functions.balanceOf(p.address).call() == genesis.xrt > 0
        xrt_supply = sum(
            rollup(node, r.chain_id)
            .eth.contract(address=XRT, abi=XTOKEN_ABI)
            .functions.totalSupply()
            .call()
            for r in node.node.rollups
        )
        assert xrt_supply == genesis.xrt
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
            # nothing claimed yet
            assert chain.eth.get_balance(p.address) == genesis.eth + deposited
            withdrawn = sum(v for _, v in withdrawals)
            assert on_rollups(node, genesis.eth) == genesis.eth + deposited - withdrawn
        # every withdrawal finalized and claimed: the L1 recipient has exactly that
        for tx, _ in withdrawals:
            proof = seq(node).get_withdrawal_proof(tx)
            finalize(chain, node, proof["slot"])
            entry = seq(node).get_withdrawal_proof(tx)["withdrawals"][0]
            assert claim(chain, p, DEPOSITOR, entry).status == 1
            assert claim(chain, p, DEPOSITOR, entry).status == 0  # once
        claimed = sum(v for _, v in withdrawals)
        assert chain.eth.get_balance(home.address) == claimed
        assert chain.eth.get_balance(p.address) == genesis.eth + deposited - claimed
        assert on_rollups(node, genesis.eth) == genesis.eth + deposited - claimed
        assert chain.eth.get_balance(p.address) == on_rollups(node, genesis.eth)  # all claimed
        assert l1_xrt.functions.balanceOf(p.address).call() == genesis.xrt
        head, poster = node.node.sequencer.head_slot, node.node.poster
        assert poster is not None  # verify re-executes what is on L1: wait for all of it
        wait_for(lambda: poster.safe_slot >= head, f"slots up to {head} posted")
        settlement = seq(node).info()["l1"]["settlement"]
        code, out = verify_cli("--l1-rpc", shared_l1.url, "--settlement", settlement)
        assert code == 0 and "OK:" in out, (ops, out)

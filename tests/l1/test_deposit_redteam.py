"""Red-team tests of the L1 bridge (docs/deposits.md), on a real anvil with web3.py clients.

Each test is an attack a user of the public docs can try, and asserts the Portal / xseqd
refuse it: a withdrawal whose L1 call spends the Portal's own XRT, a deposit made as the
TokenBridge by an impersonated L1 account, a deposit whose calldata is too big for the
rollup's system call (which would stop every later deposit).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.l1.bridge import (
    DEPOSITOR,
    ETH,
    bridged_devnet,
    claim_error,
    deposit,
    finalize,
    fresh,
    l1_web3,
    mailbox,
    portal,
    rollup,
    send_l1,
    seq,
    wait_for,
    withdraw,
)
from xseqd.abi import artifact
from xseqd.l1.anvil import Anvil

XTOKEN_ABI = artifact("ReferenceXToken")["abi"]
BRIDGE_ABI = artifact("TokenBridge")["abi"]
TOKEN_BRIDGE = "0x4200000000000000000000000000000000000024"
REFERENCE_TOKEN = "0x4200000000000000000000000000000000000025"


@pytest.fixture()
def l1() -> Iterator[Anvil]:
    from tests.l1.test_settlement import free_port

    anvil = Anvil(free_port(), 900)
    anvil.start()
    yield anvil
    anvil.stop()


def test_a_withdrawal_cannot_make_the_portal_spend_its_locked_tokens(l1: Anvil) -> None:
    """Attack: a withdrawal whose L1 target is the Portal's XRT token and whose data is
    ``transfer(attacker, locked)``: the Portal would make that call as itself."""
    chain = l1_web3(l1.url)
    mallory = fresh("mallory")
    with bridged_devnet(l1.url) as node:
        a, p = rollup(node, 901), portal(chain, node)
        l1_xrt = chain.eth.contract(address=p.functions.token().call(), abi=XTOKEN_ABI)
        # an honest user locks 500 XRT in the Portal
        approve = l1_xrt.functions.approve(p.address, 500 * ETH)._encode_transaction_data()
        assert send_l1(chain, DEPOSITOR, l1_xrt.address, bytes.fromhex(approve[2:])).status == 1
        call = p.functions.depositERC20(902, DEPOSITOR.address, 500 * ETH)
        data = bytes.fromhex(call._encode_transaction_data()[2:])
        assert send_l1(chain, DEPOSITOR, p.address, data).status == 1
        assert l1_xrt.functions.balanceOf(p.address).call() == 500 * ETH
        # mallory gets gas on 901, then "withdraws" 0 ETH to the L1 token with a transfer
        deposit(chain, p, DEPOSITOR, 901, mallory.address, ETH // 10)
        wait_for(lambda: a.eth.get_balance(mallory.address) == ETH // 10, "mallory's gas")
        steal = l1_xrt.functions.transfer(mallory.address, 500 * ETH)._encode_transaction_data()
        tx = withdraw(a, mallory, l1_xrt.address, 0, bytes.fromhex(steal[2:]))
        finalize(chain, node, seq(node).get_withdrawal_proof(tx)["slot"])
        entry = seq(node).get_withdrawal_proof(tx)["withdrawals"][0]
        assert "ForbiddenTarget" in claim_error(chain, p, mallory, entry)
        receipt = send_l1(
            chain, DEPOSITOR, p.address, _finalize_data(entry)
        )  # anyone may send the claim
        assert receipt.status == 0
        assert l1_xrt.functions.balanceOf(mallory.address).call() == 0
        assert l1_xrt.functions.balanceOf(p.address).call() == 500 * ETH
        # the same for a target that is the Portal itself (it would call its own functions)
        again = withdraw(a, mallory, p.address, 0, b"")
        finalize(chain, node, seq(node).get_withdrawal_proof(again)["slot"])
        entry = seq(node).get_withdrawal_proof(again)["withdrawals"][0]
        assert "ForbiddenTarget" in claim_error(chain, p, mallory, entry)


def _finalize_data(entry: dict[str, object]) -> bytes:
    from xseqd.client import finalize_withdrawal_calldata

    return finalize_withdrawal_calldata(entry)  # type: ignore[arg-type]


def test_an_l1_account_impersonating_the_token_bridge_cannot_mint_xrt(l1: Anvil) -> None:
    """Attack: on the devnet's anvil anyone can ``anvil_impersonateAccount`` the TokenBridge
    address and call ``depositETH(902, TokenBridge, relayERC20(XRT, ..., huge))``: a deposit
    whose sender is the bridge, which the rollup's bridge takes as its own relay."""
    chain = l1_web3(l1.url)
    mallory = fresh("mallory-bridge")
    with bridged_devnet(l1.url) as node:
        b, p = rollup(node, 902), portal(chain, node)
        xrt = b.eth.contract(address=REFERENCE_TOKEN, abi=XTOKEN_ABI)
        supply = xrt.functions.totalSupply().call()
        relay = (
            b.eth.contract(address=TOKEN_BRIDGE, abi=BRIDGE_ABI)
            .functions.relayERC20(REFERENCE_TOKEN, mallory.address, mallory.address, 10**30)
            ._encode_transaction_data()
        )
        call = p.functions.depositETH(902, TOKEN_BRIDGE, bytes.fromhex(relay[2:]))
        bridge = chain.to_checksum_address(TOKEN_BRIDGE)
        chain.provider.make_request("anvil_impersonateAccount", [bridge])  # type: ignore[arg-type]
        chain.provider.make_request("anvil_setBalance", [bridge, hex(ETH)])  # type: ignore[arg-type]
        sent = chain.eth.send_transaction(
            {
                "from": bridge,
                "to": p.address,
                "data": call._encode_transaction_data(),
                "gas": 500_000,
            }
        )
        assert chain.eth.wait_for_transaction_receipt(sent).status == 0  # refused on L1
        # an honest deposit after it still lands, and nothing was minted
        deposit(chain, p, DEPOSITOR, 902, mallory.address, ETH // 10)
        wait_for(lambda: b.eth.get_balance(mallory.address) == ETH // 10, "the honest deposit")
        assert mailbox(b).functions.inboxCount(900).call() == 1
        assert xrt.functions.balanceOf(mallory.address).call() == 0
        assert xrt.functions.totalSupply().call() == supply


def test_a_deposit_too_big_for_the_rollup_is_refused_on_l1_and_blocks_nothing(l1: Anvil) -> None:
    """Attack: a deposit with so much calldata that the rollup's system call (at most 10M
    gas) runs out of gas. Deposits apply in L1 order, so that one would stop every later
    deposit on every rollup, forever. The Portal refuses it; the next deposit lands."""
    chain = l1_web3(l1.url)
    alice = fresh("alice-big")
    with bridged_devnet(l1.url) as node:
        a, p = rollup(node, 901), portal(chain, node)
        limit = p.functions.MAX_DEPOSIT_DATA().call()
        big = b"\x01" * (limit + 1)
        call = p.functions.depositETH(901, alice.address, big)._encode_transaction_data()
        tx = {
            "from": DEPOSITOR.address,
            "to": p.address,
            "data": call,
            "value": ETH,
            "nonce": chain.eth.get_transaction_count(DEPOSITOR.address),
            "chainId": 900,
            "gas": 15_000_000,
            "maxFeePerGas": 50 * 10**9,
            "maxPriorityFeePerGas": 10**9,
        }
        signed = DEPOSITOR.sign_transaction(tx)
        receipt = chain.eth.wait_for_transaction_receipt(
            chain.eth.send_raw_transaction(signed.raw_transaction)
        )
        assert receipt.status == 0
        assert p.functions.depositCount().call() == 0
        # the largest allowed deposit lands (its call reverts: alice has no code, but the
        # value is credited), and so does a plain one after it
        deposit(chain, p, DEPOSITOR, 901, alice.address, ETH, b"\x01" * limit)
        deposit(chain, p, DEPOSITOR, 901, alice.address, ETH)
        wait_for(lambda: mailbox(a).functions.inboxCount(900).call() == 2, "both deposits")
        assert a.eth.get_balance(alice.address) == 2 * ETH

"""Red-team regression (docs/deposits.md, "What backs what"): the rollups' genesis ETH and
XRT are backed on the L1, so a dev account (public key) that withdraws genesis value from a
rollup cannot drain what depositors locked in the Portal. Real anvil, real xseqd, web3.py.
"""

from __future__ import annotations

from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

from tests.l1.bridge import (
    DEPOSITOR,
    ETH,
    bridged_devnet,
    claim,
    deposit,
    finalize,
    fresh,
    l1_web3,
    portal,
    rollup,
    send_l1,
    seq,
    wait_for,
    withdraw,
)
from xseqd.abi import artifact
from xseqd.accounts import dev_accounts
from xseqd.chains.genesis import DEV_BALANCE
from xseqd.chains.predeploys import REFERENCE_TOKEN, TOKEN_BRIDGE, TOKEN_PER_ACCOUNT
from xseqd.l1.anvil import Anvil

XTOKEN_ABI = artifact("ReferenceXToken")["abi"]
BRIDGE_ABI = artifact("TokenBridge")["abi"]
XRT = Web3.to_checksum_address("0x" + REFERENCE_TOKEN.hex())
BRIDGE = Web3.to_checksum_address("0x" + TOKEN_BRIDGE.hex())


def _send_xrt_to_l1(w3: Web3, who: LocalAccount, to: str, amount: int) -> str:
    """``TokenBridge.sendERC20(XRT, to, amount, 900)`` on a rollup; the tx hash."""
    bridge = w3.eth.contract(address=BRIDGE, abi=BRIDGE_ABI)
    tx = bridge.functions.sendERC20(XRT, to, amount, 900).build_transaction(
        {
            "from": who.address,
            "nonce": w3.eth.get_transaction_count(who.address),
            "gas": 300_000,
            "maxFeePerGas": 10**10,
            "maxPriorityFeePerGas": 1,
            "chainId": w3.eth.chain_id,
        }
    )
    sent = w3.eth.send_raw_transaction(who.sign_transaction(tx).raw_transaction)
    assert w3.eth.wait_for_transaction_receipt(sent).status == 1
    return sent.to_0x_hex()


def _claim(chain: Web3, node: Any, p: Any, tx: str) -> Any:
    finalize(chain, node, seq(node).get_withdrawal_proof(tx)["slot"])
    return claim(chain, p, DEPOSITOR, seq(node).get_withdrawal_proof(tx)["withdrawals"][0])


def test_genesis_value_withdrawn_by_a_dev_account_does_not_take_a_depositors_value(
    l1: Anvil,
) -> None:
    """Attack (red team finding 8): DEPOSITOR locks 5 ETH and 300 XRT in the Portal for
    alice; dev account 3 (public key) withdraws 5 ETH and 300 XRT of its *genesis* balance
    from 902 and claims them on L1. Alice's own withdrawals must still pay in full."""
    chain = l1_web3(l1.url)
    alice, mallory = fresh("backing alice"), fresh("backing mallory")
    dev3 = dev_accounts(4)[3]
    with bridged_devnet(l1.url) as node:
        p, a, b = portal(chain, node), rollup(node, 901), rollup(node, 902)
        rollups = len(node.node.rollups)
        # the Portal holds the rollups' genesis supply (10 dev accounts x 10,000 ETH each,
        # the system account's 1,000,000 ETH, 1,000,000 XRT per dev account, per rollup)
        genesis_eth = rollups * (10 * DEV_BALANCE + 10**6 * ETH)
        assert p.functions.genesisEth().call() == genesis_eth
        assert chain.eth.get_balance(p.address) == genesis_eth
        l1_xrt = chain.eth.contract(address=p.functions.token().call(), abi=XTOKEN_ABI)
        assert l1_xrt.functions.balanceOf(p.address).call() == rollups * 10 * TOKEN_PER_ACCOUNT
        # the depositor's ETH and XRT, for alice on 901
        deposit(chain, p, DEPOSITOR, 901, alice.address, 5 * ETH)
        approve = l1_xrt.functions.approve(p.address, 300 * ETH)._encode_transaction_data()
        assert send_l1(chain, DEPOSITOR, l1_xrt.address, bytes.fromhex(approve[2:])).status == 1
        call = p.functions.depositERC20(901, alice.address, 300 * ETH)._encode_transaction_data()
        assert send_l1(chain, DEPOSITOR, p.address, bytes.fromhex(call[2:])).status == 1
        rollup_xrt = a.eth.contract(address=XRT, abi=XTOKEN_ABI)
        wait_for(lambda: a.eth.get_balance(alice.address) == 5 * ETH, "alice's ETH")
        wait_for(lambda: rollup_xrt.functions.balanceOf(alice.address).call() == 300 * ETH, "XRT")
        # dev account 3 takes out genesis ETH and XRT from 902 and claims them first
        stolen_eth = withdraw(b, dev3, mallory.address, 5 * ETH)
        stolen_xrt = _send_xrt_to_l1(b, dev3, mallory.address, 300 * ETH)
        assert _claim(chain, node, p, stolen_eth).status == 1
        assert _claim(chain, node, p, stolen_xrt).status == 1
        assert chain.eth.get_balance(mallory.address) == 5 * ETH
        assert l1_xrt.functions.balanceOf(mallory.address).call() == 300 * ETH
        # alice's value is still fully claimable
        mine_eth = withdraw(a, alice, alice.address, 4 * ETH)
        mine_xrt = _send_xrt_to_l1(a, alice, alice.address, 300 * ETH)
        assert _claim(chain, node, p, mine_eth).status == 1
        assert _claim(chain, node, p, mine_xrt).status == 1
        assert chain.eth.get_balance(alice.address) == 4 * ETH
        assert l1_xrt.functions.balanceOf(alice.address).call() == 300 * ETH
        assert chain.eth.get_balance(p.address) == genesis_eth + 5 * ETH - 9 * ETH

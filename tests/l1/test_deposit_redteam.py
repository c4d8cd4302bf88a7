"""Red-team tests of the L1 bridge (docs/deposits.md), on a real anvil with web3.py clients.

Each test is an attack a user of the public docs can try, and asserts the Portal / xseqd
refuse it: a withdrawal whose L1 call spends the Portal's own XRT, a deposit made as the
TokenBridge by an impersonated L1 account, a deposit whose calldata is too big for the
rollup's system call (which would stop every later deposit).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from web3 import Web3

from tests.l1.bridge import (
    BRIDGE_ABI,
    DEPOSITOR,
    ETH,
    REFERENCE_TOKEN,
    TOKEN_BRIDGE,
    XTOKEN_ABI,
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


def test_a_withdrawal_cannot_make_the_portal_spend_its_locked_tokens(l1: Anvil) -> None:
    """Attack: a withdrawal whose L1 target is the Portal's XRT token and whose data is
    ``transfer(attacker, locked)``: the Portal would make that call as itself."""
    chain = l1_web3(l1.url)
    mallory = fresh("mallory")
    with bridged_devnet(l1.url) as node:
        a, p = rollup(node, 901), portal(chain, node)
        l1_xrt = chain.eth.contract(address=p.functions.token().call(), abi=XTOKEN_ABI)
        backing = p.functions.genesisXrt().call()  # the rollups' genesis XRT
        assert l1_xrt.functions.balanceOf(p.address).call() == backing > 0
        # an honest user locks 500 XRT in the Portal
        approve = l1_xrt.functions.approve(p.address, 500 * ETH)._encode_transaction_data()
        assert send_l1(chain, DEPOSITOR, l1_xrt.address, bytes.fromhex(approve[2:])).status == 1
        call = p.functions.depositERC20(902, DEPOSITOR.address, 500 * ETH)
        data = bytes.fromhex(call._encode_transaction_data()[2:])
        assert send_l1(chain, DEPOSITOR, p.address, data).status == 1
        assert l1_xrt.functions.balanceOf(p.address).call() == backing + 500 * ETH
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
        assert l1_xrt.functions.balanceOf(p.address).call() == backing + 500 * ETH
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


def test_a_flood_of_big_deposits_in_one_l1_block_does_not_stop_settlement(l1: Anvil) -> None:
    """Attack: fill one L1 block with the largest deposits the Portal takes. They all land
    in one slot; if that slot's batch is too big for one L1 transaction, the poster retries
    it forever and nothing is settled (no withdrawal is ever claimable) again."""
    chain = l1_web3(l1.url)
    alice = fresh("alice-flood")
    with bridged_devnet(l1.url) as node:
        a, p = rollup(node, 901), portal(chain, node)
        poster = node.node.poster
        assert poster is not None
        limit = p.functions.MAX_DEPOSIT_DATA().call()
        call = p.functions.depositETH(901, alice.address, b"\0" * limit)._encode_transaction_data()
        chain.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
        nonce = chain.eth.get_transaction_count(DEPOSITOR.address)
        count = 40
        for i in range(count):
            tx = {
                "to": p.address,
                "data": call,
                "value": 1,
                "nonce": nonce + i,
                "chainId": 900,
                "gas": 700_000,
                "maxFeePerGas": 50 * 10**9,
                "maxPriorityFeePerGas": 10**9,
            }
            chain.eth.send_raw_transaction(DEPOSITOR.sign_transaction(tx).raw_transaction)
        chain.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        chain.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
        assert p.functions.depositCount().call() == count
        wait_for(lambda: mailbox(a).functions.inboxCount(900).call() == count, "the deposits")
        head = node.node.sequencer.head_slot
        wait_for(lambda: poster.safe_slot >= head, f"slots up to {head} posted", timeout=20)
        # and settlement carries on: a later withdrawal is claimable
        deposit(chain, p, DEPOSITOR, 901, alice.address, ETH)
        wait_for(lambda: a.eth.get_balance(alice.address) >= ETH, "alice's ETH")
        tx_hash = withdraw(a, alice, alice.address, ETH // 2)
        finalize(chain, node, seq(node).get_withdrawal_proof(tx_hash)["slot"])
        assert seq(node).get_withdrawal_proof(tx_hash)["claimable"] is True


BURNER = bytes.fromhex("5b5a620186a01060005700")  # burn until 100k gas left
NEEDS_900K = bytes.fromhex("5a620dbba011600a57005b600080fd")  # reverts with < 900k gas


def _deploy(w3: Any, runtime: bytes) -> str:
    size = len(runtime).to_bytes(1, "big").hex()
    init = bytes.fromhex(f"60{size}600c60003960{size}6000f3") + runtime
    tx = {
        "data": init,
        "nonce": w3.eth.get_transaction_count(DEPOSITOR.address),
        "gas": 200_000,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 1,
        "chainId": w3.eth.chain_id,
    }
    sent = w3.eth.send_raw_transaction(DEPOSITOR.sign_transaction(tx).raw_transaction)
    address = w3.eth.wait_for_transaction_receipt(sent).contractAddress
    assert w3.eth.get_code(address) == runtime
    return str(address)


def test_a_deposit_gets_its_full_call_gas_even_after_a_block_full_of_deposits(
    l1: Anvil, tmp_path: Path
) -> None:
    """Attack: fill one L1 block with deposits whose calls burn their 1,000,000 gas, then
    a victim's deposit whose call needs that gas. If the victim lands in the rollup block
    the others nearly filled, its call gets what the block has left, reverts, and its value
    goes to the depositor instead: the outcome would depend on where it landed. Every
    deposit's call must get DEPOSIT_GAS. (Rollup 901 with a 4M gas limit, so that four
    deposits fill a block and the test stays fast.)"""
    rollups = tmp_path / "rollups"
    rollups.mkdir()
    (rollups / "901.toml").write_text('name = "alpha"\nchain_id = 901\ngas_limit = 4000000\n')
    (rollups / "902.toml").write_text('name = "beta"\nchain_id = 902\ngas_limit = 30000000\n')
    chain = l1_web3(l1.url)
    with bridged_devnet(l1.url, rollups_dir=rollups) as node:
        a, p = rollup(node, 901), portal(chain, node)
        burner, victim = _deploy(a, BURNER), _deploy(a, NEEDS_900K)
        burn = p.functions.depositETH(901, burner, b"\x01")._encode_transaction_data()
        need = p.functions.depositETH(901, victim, b"\x01")._encode_transaction_data()
        calls = [burn] * 4 + [need] * 4
        chain.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
        nonce = chain.eth.get_transaction_count(DEPOSITOR.address)
        for i, data in enumerate(calls):
            tx = {
                "to": p.address,
                "data": data,
                "value": 0,
                "nonce": nonce + i,
                "chainId": 900,
                "gas": 200_000,
                "maxFeePerGas": 50 * 10**9,
                "maxPriorityFeePerGas": 10**9,
            }
            chain.eth.send_raw_transaction(DEPOSITOR.sign_transaction(tx).raw_transaction)
        chain.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        chain.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
        assert p.functions.depositCount().call() == len(calls)
        box = mailbox(a)
        wait_for(lambda: box.functions.inboxCount(900).call() == len(calls), "the deposits")
        events = box.events.DepositReceived().get_logs(from_block=0, to_block="latest")
        to_victim = [e for e in events if e.args.target == victim]
        assert len(to_victim) == 4
        assert [e.args.success for e in to_victim] == [True] * 4
        assert all(e.args.success for e in events)


SEQUENCER_KEY = "0x" + bytes(Web3.keccak(text="red-team sequencer key")).hex()


def _settlement_of_a_fresh_l1() -> str:
    """The Settlement address xseqd deploys on a fresh L1 with ``SEQUENCER_KEY``: anyone who
    knows the sequencer's address (every post comes from it) can compute it."""
    from tests.l1.test_settlement import free_port

    other = Anvil(free_port(), 900)
    other.start()
    try:
        with bridged_devnet(other.url, sequencer_key=SEQUENCER_KEY) as node:
            return str(seq(node).info()["l1"]["settlement"])
    finally:
        other.stop()


def test_a_fake_opened_event_naming_the_settlement_does_not_become_the_portal(l1: Anvil) -> None:
    """Attack, on a shared L1 (``--l1-rpc``): the Settlement's address is predictable (the
    sequencer's key and nonce), so anyone can emit ``Opened(settlement, ...)`` from their own
    contract before xseqd starts. xseqd (and ``xseqd verify``) took the first such event as
    the Portal: it would advertise the attacker's contract to depositors and follow its
    ``Deposited`` events. Only a Portal the sequencer deployed counts."""
    settlement = _settlement_of_a_fresh_l1()
    chain = l1_web3(l1.url)
    mallory = fresh("mallory-portal")
    topic = bytes(chain.keccak(text="Opened(address,uint256[])"))
    runtime = bytes.fromhex("73" + mallory.address[2:] + "600052602060" + "00f3")
    prefix = (
        b"\x7f"
        + bytes.fromhex(settlement[2:]).rjust(32, b"\0")
        + b"\x7f"
        + topic
        + bytes.fromhex("60006000a2")
    )
    offset = len(prefix) + 12
    init = prefix + bytes.fromhex(
        f"60{len(runtime):02x}60{offset:02x}60003960{len(runtime):02x}6000f3"
    )
    fake = send_l1(chain, DEPOSITOR, "", init + runtime)
    assert fake.status == 1 and len(fake.logs) == 1
    with bridged_devnet(l1.url, sequencer_key=SEQUENCER_KEY) as node:
        info = seq(node).info()["l1"]
        assert info["settlement"] == settlement
        assert info["portal"] != fake.contractAddress
        a, p = rollup(node, 901), portal(chain, node)
        deposit(chain, p, DEPOSITOR, 901, mallory.address, ETH)
        wait_for(lambda: a.eth.get_balance(mallory.address) == ETH, "the deposit")


def test_a_token_the_l1_cannot_pay_is_not_burned_toward_the_l1(l1: Anvil) -> None:
    """Unlucky user: ``TokenBridge.sendERC20(myToken, to, amount, 900)`` with a token of
    their own. The Portal pays only the reference token (``UnknownToken``), so the burned
    tokens could never be claimed: the bridge must refuse it on the rollup."""
    with bridged_devnet(l1.url) as node:
        a = rollup(node, 901)
        mine = artifact("MyXToken")
        built = (
            a.eth.contract(abi=mine["abi"], bytecode=mine["bytecode"])
            .constructor(1000 * ETH)
            .build_transaction(
                {
                    "from": DEPOSITOR.address,
                    "nonce": a.eth.get_transaction_count(DEPOSITOR.address),
                    "gas": 2_000_000,
                    "maxFeePerGas": 10**10,
                    "maxPriorityFeePerGas": 1,
                    "chainId": 901,
                }
            )
        )
        sent = a.eth.send_raw_transaction(DEPOSITOR.sign_transaction(built).raw_transaction)
        token = a.eth.wait_for_transaction_receipt(sent).contractAddress
        tok = a.eth.contract(address=token, abi=mine["abi"])
        bridge = a.eth.contract(address=TOKEN_BRIDGE, abi=BRIDGE_ABI)
        tx = bridge.functions.sendERC20(token, DEPOSITOR.address, 10 * ETH, 900).build_transaction(
            {
                "from": DEPOSITOR.address,
                "nonce": a.eth.get_transaction_count(DEPOSITOR.address),
                "gas": 300_000,
                "maxFeePerGas": 10**10,
                "maxPriorityFeePerGas": 1,
                "chainId": 901,
            }
        )
        sent = a.eth.send_raw_transaction(DEPOSITOR.sign_transaction(tx).raw_transaction)
        assert a.eth.wait_for_transaction_receipt(sent).status == 0
        assert tok.functions.balanceOf(DEPOSITOR.address).call() == 1000 * ETH
        assert mailbox(a).functions.outboxCount(900).call() == 0


def test_a_withdrawal_cannot_be_claimed_with_another_rollups_or_another_slots_proof(
    l1: Anvil,
) -> None:
    """Attacks that hold: a 901 withdrawal claimed with 902's leaf and state, with its own
    proof but another finalized slot's number, or relabelled as 902's; then the honest
    claim pays once and a second claim is refused."""
    chain = l1_web3(l1.url)
    ann = fresh("ann-proofs")
    with bridged_devnet(l1.url) as node:
        a, b, p = rollup(node, 901), rollup(node, 902), portal(chain, node)
        deposit(chain, p, DEPOSITOR, 901, ann.address, ETH)
        deposit(chain, p, DEPOSITOR, 902, ann.address, ETH)
        wait_for(lambda: b.eth.get_balance(ann.address) == ETH, "ann's ETH on 902")
        wait_for(lambda: a.eth.get_balance(ann.address) == ETH, "ann's ETH on 901")
        on_a = withdraw(a, ann, ann.address, ETH // 2)
        on_b = withdraw(b, ann, ann.address, ETH // 4)
        last = max(seq(node).get_withdrawal_proof(t)["slot"] for t in (on_a, on_b))
        finalize(chain, node, last)
        ea = seq(node).get_withdrawal_proof(on_a)["withdrawals"][0]
        eb = seq(node).get_withdrawal_proof(on_b)["withdrawals"][0]
        assert ea["proof"]["slot"] != eb["proof"]["slot"]
        other_rollup = {**ea, "proof": eb["proof"]}
        assert "BadProof(rollup)" in claim_error(chain, p, ann, other_rollup)
        other_slot = {**ea, "proof": {**ea["proof"], "slot": eb["proof"]["slot"]}}
        assert "BadProof(commitment)" in claim_error(chain, p, ann, other_slot)
        relabelled = {**ea, "withdrawal": {**ea["withdrawal"], "source": 902}, "proof": eb["proof"]}
        assert "BadProof" in claim_error(chain, p, ann, relabelled)
        before = chain.eth.get_balance(ann.address)
        assert send_l1(chain, DEPOSITOR, p.address, _finalize_data(ea)).status == 1
        assert chain.eth.get_balance(ann.address) == before + ETH // 2
        # a second claim of the same withdrawal: refused
        assert "AlreadyFinalized" in claim_error(chain, p, ann, ea)


def test_a_deposit_the_l1_reverted_away_is_rolled_back_on_the_rollup(l1: Anvil) -> None:
    """Attack: ``evm_snapshot`` on the devnet's L1, deposit 3 ETH, wait until it is applied
    and its slot posted, ``evm_revert``. The deposit and the post vanish from the L1; the
    rollup kept the 3 ETH and the poster re-posted the slot with it (it finalized: no
    challenger runs by default), an unbacked 3 ETH. xseqd must roll the slot back."""
    chain = l1_web3(l1.url)
    alice = fresh("alice-reorg")
    with bridged_devnet(l1.url) as node:
        a, p = rollup(node, 901), portal(chain, node)
        poster = node.node.poster
        assert poster is not None
        snapshot = chain.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
        deposit(chain, p, DEPOSITOR, 901, alice.address, 3 * ETH)
        wait_for(lambda: a.eth.get_balance(alice.address) == 3 * ETH, "the deposit")
        head = node.node.sequencer.head_slot
        wait_for(lambda: poster.safe_slot >= head, "its slot posted")
        reverted = chain.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
        assert reverted["result"] is True
        assert p.functions.depositCount().call() == 0
        wait_for(lambda: mailbox(a).functions.inboxCount(900).call() == 0, "the rollback")
        assert a.eth.get_balance(alice.address) == 0
        # deposits after it apply normally, once, and settle
        deposit(chain, p, DEPOSITOR, 901, alice.address, ETH)
        wait_for(lambda: a.eth.get_balance(alice.address) == ETH, "the new deposit")
        tx_hash = withdraw(a, alice, alice.address, ETH // 2)
        finalize(chain, node, seq(node).get_withdrawal_proof(tx_hash)["slot"])
        entry = seq(node).get_withdrawal_proof(tx_hash)["withdrawals"][0]
        assert claim_error(chain, p, DEPOSITOR, entry) == ""
        assert mailbox(a).functions.inboxCount(900).call() == 1

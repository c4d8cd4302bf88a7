"""Deposits from the L1 and withdrawals to it, on a real anvil with web3.py clients.

Pre -> action -> post: a user deposits on the L1 Portal; the deposit shows up on the
target rollup as a system transaction naming the L1 transaction and log; a withdrawal
on a rollup is claimable on L1 once its slot is finalized, exactly once, and every other
claim (early, forged, repeated) reverts and pays nothing. `xseqd verify` re-derives every
deposit from the L1 alone.
"""

from __future__ import annotations

from pathlib import Path

from eth_abi import decode

from tests.adversary.support import batch_of, simulated, verify_cli
from tests.l1.bridge import (
    BRIDGE_ABI,
    DEPOSITOR,
    ETH,
    MAILBOX,
    REFERENCE_TOKEN,
    TOKEN_BRIDGE,
    XTOKEN_ABI,
    bridged_devnet,
    claim,
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
from xseqd.abi import calldata, event_topic
from xseqd.chains.predeploys import SYSTEM
from xseqd.client import SequencerError
from xseqd.l1.anvil import Anvil
from xseqd.l1.client import L1Client

DEPOSIT_RECEIVED = event_topic("Mailbox", "DepositReceived")


def deposit_txs(w3: object, block: int) -> list[object]:
    """The rollup transactions of ``block`` that applied deposits."""
    b = w3.eth.get_block(block, full_transactions=True)  # type: ignore[attr-defined]
    return [t for t in b.transactions if t["from"].lower() == "0x" + SYSTEM.hex()]


def test_an_eth_deposit_lands_once_and_a_withdrawal_is_claimable_once_finalized(
    l1: Anvil,
) -> None:
    chain = l1_web3(l1.url)
    alice, bob = fresh("alice"), fresh("bob")  # nothing on any rollup, nothing on L1
    with bridged_devnet(l1.url) as node:
        a, p = rollup(node, 901), portal(chain, node)
        locked_before = chain.eth.get_balance(p.address)
        # deposit 2 ETH to alice on 901
        r = deposit(chain, p, DEPOSITOR, 901, alice.address, 2 * ETH)
        wait_for(lambda: a.eth.get_balance(alice.address) == 2 * ETH, "the deposit on 901")
        assert chain.eth.get_balance(p.address) == locked_before + 2 * ETH
        assert rollup(node, 902).eth.get_balance(alice.address) == 0
        # the rollup transaction is the system account's, and names the L1 tx and log
        [applied] = [
            t
            for n in range(1, a.eth.block_number + 1)
            for t in deposit_txs(a, n)
            if t["to"] == MAILBOX
        ]
        receipt = a.eth.get_transaction_receipt(applied["hash"])
        [log] = [x for x in receipt.logs if x.topics[0] == DEPOSIT_RECEIVED]
        assert log.topics[2] == r.transactionHash
        log_index, value, ok = decode(["uint256", "uint256", "bool"], log.data)
        assert (log_index, value, ok) == (r.logs[0].logIndex, 2 * ETH, True)
        assert r.transactionHash in bytes(applied["input"])
        slot = seq(node).get_slot(receipt.blockNumber)
        assert [i["kind"] for i in slot["items"]] == ["deposit"]
        item = seq(node).get_bundle(slot["items"][0]["itemHash"])
        assert item["txHash"] == applied["hash"].to_0x_hex()
        assert item["deposit"]["l1TxHash"] == r.transactionHash.to_0x_hex()
        assert item["deposit"]["logIndex"] == r.logs[0].logIndex
        assert item["deposit"]["value"] == hex(2 * ETH) and item["receipt"] is not None
        # Settlement hashes the deposit item as xseqd does: its slot's data is no fault
        poster = node.node.poster
        assert poster is not None
        wait_for(lambda: poster.safe_slot >= receipt.blockNumber, "the slot on L1")
        client, settlement = L1Client(l1.url), poster.address
        batch = batch_of(client, settlement, receipt.blockNumber)
        call = calldata("Settlement", "challengeData", receipt.blockNumber, batch)
        assert "NotAFault" in simulated(client, settlement, call)
        # nothing applies it again: later slots, later polls
        a.eth.send_raw_transaction(
            alice.sign_transaction(
                {
                    "to": bob.address,
                    "value": ETH // 2,
                    "nonce": 0,
                    "gas": 21_000,
                    "maxFeePerGas": 10**10,
                    "maxPriorityFeePerGas": 1,
                    "chainId": 901,
                }
            ).raw_transaction
        )
        wait_for(lambda: a.eth.get_balance(bob.address) == ETH // 2, "alice pays bob")
        # bob withdraws 0.3 ETH to himself on L1
        tx = withdraw(a, bob, bob.address, 3 * ETH // 10)
        proof = seq(node).get_withdrawal_proof(tx)
        entry = proof["withdrawals"][0]
        assert entry["withdrawal"]["value"] == hex(3 * ETH // 10)
        assert proof["claimable"] is False
        # claimed before finality: refused, nothing paid
        if proof["status"] != "finalized":
            assert "NotFinalized" in claim_error(chain, p, DEPOSITOR, entry)
        finalize(chain, node, proof["slot"])
        proof = seq(node).get_withdrawal_proof(tx)
        assert proof["claimable"] is True and proof["status"] == "finalized"
        entry = proof["withdrawals"][0]
        # a forged proof (more value, or another sender) reverts
        forged = {**entry, "withdrawal": {**entry["withdrawal"], "value": hex(ETH)}}
        assert "BadProof(outbox root)" in claim_error(chain, p, DEPOSITOR, forged)
        thief = {**entry, "withdrawal": {**entry["withdrawal"], "target": DEPOSITOR.address}}
        assert "BadProof" in claim_error(chain, p, DEPOSITOR, thief)
        # anyone claims it for bob; bob is paid on L1, once
        assert chain.eth.get_balance(bob.address) == 0
        assert claim(chain, p, DEPOSITOR, entry).status == 1
        assert chain.eth.get_balance(bob.address) == 3 * ETH // 10
        assert "AlreadyFinalized" in claim_error(chain, p, DEPOSITOR, entry)
        assert claim(chain, p, DEPOSITOR, entry).status == 0
        assert chain.eth.get_balance(bob.address) == 3 * ETH // 10
        assert chain.eth.get_balance(p.address) == locked_before + 2 * ETH - 3 * ETH // 10
        # the verifier re-derives the deposit from L1 alone
        settlement = seq(node).info()["l1"]["settlement"]
        code, out = verify_cli("--l1-rpc", l1.url, "--settlement", settlement)
        assert code == 0 and "OK:" in out, out


def test_deposit_calldata_runs_and_a_reverting_call_still_credits_the_value(l1: Anvil) -> None:
    chain = l1_web3(l1.url)
    carol = fresh("carol")
    with bridged_devnet(l1.url) as node:
        a, p = rollup(node, 901), portal(chain, node)
        before = a.eth.get_balance(DEPOSITOR.address)
        # the Mailbox has no such function: the call reverts, the value goes to the sender
        deposit(chain, p, DEPOSITOR, 901, MAILBOX, ETH, b"\xde\xad\xbe\xef")
        wait_for(lambda: a.eth.get_balance(DEPOSITOR.address) == before + ETH, "the credit")
        # a call that runs: a deposit that withdraws straight back is rolled on the outbox
        data = mailbox(a).functions.send(900, carol.address, b"")._encode_transaction_data()
        count = mailbox(a).functions.outboxCount(900).call()
        deposit(chain, p, DEPOSITOR, 901, MAILBOX, 0, bytes.fromhex(data[2:]))
        wait_for(lambda: mailbox(a).functions.outboxCount(900).call() == count + 1, "the call ran")
        assert mailbox(a).functions.inboxCount(900).call() == 2
        # a call that sends its value on to 902: delivered in the same slot, and the
        # message names the deposit's rollup transaction as its origin
        b = rollup(node, 902)
        data = mailbox(a).functions.send(902, carol.address, b"")._encode_transaction_data()
        deposit(chain, p, DEPOSITOR, 901, MAILBOX, ETH, bytes.fromhex(data[2:]))
        wait_for(lambda: b.eth.get_balance(carol.address) == ETH, "the delivery on 902")
        slot = seq(node).get_slot(b.eth.block_number)
        [message] = slot["messages"]
        assert message["source"] == 901 and message["destination"] == 902
        [origin] = deposit_txs(a, b.eth.block_number)
        assert message["originTx"] == origin["hash"].to_0x_hex()
        assert seq(node).call("xseq_getMessage", message["id"])["originTx"] == message["originTx"]
        trace = a.provider.make_request(  # type: ignore[arg-type]
            "debug_traceTransaction", [message["deliveryTx"], {"tracer": "callTracer"}]
        )
        assert "error" in trace  # the delivery is on 902, not 901
        trace = b.provider.make_request(  # type: ignore[arg-type]
            "debug_traceTransaction", [message["deliveryTx"], {"tracer": "callTracer"}]
        )
        assert trace["result"]["xseqDeliveredFrom"]["originTx"] == message["originTx"]
        # deposits to a chain the devnet does not have are refused on L1 itself
        bad = p.functions.depositETH(999, carol.address, b"")._encode_transaction_data()
        reply = chain.provider.make_request(  # type: ignore[arg-type]
            "eth_call",
            [{"from": DEPOSITOR.address, "to": p.address, "data": bad, "value": hex(ETH)}],
        )
        assert "error" in reply


def test_a_deposit_made_while_xseqd_is_down_is_applied_once_after_restart(
    l1: Anvil, tmp_path: Path
) -> None:
    chain = l1_web3(l1.url)
    dave = fresh("dave")
    data = {"data_dir": tmp_path / "data", "db": ""}
    with bridged_devnet(l1.url, **data) as node:
        p = portal(chain, node)
        deposit(chain, p, DEPOSITOR, 902, dave.address, ETH)
        wait_for(lambda: rollup(node, 902).eth.get_balance(dave.address) == ETH, "deposit 1")
    deposit(chain, p, DEPOSITOR, 902, dave.address, 2 * ETH)  # while xseqd is down
    for _ in range(2):  # and a second restart applies nothing again
        _restarted_has(l1, data, dave.address, p.address)


def _restarted_has(l1: Anvil, data: dict[str, object], who: str, portal_address: str) -> None:
    with bridged_devnet(l1.url, **data) as node:
        b = rollup(node, 902)
        wait_for(lambda: b.eth.get_balance(who) == 3 * ETH, "deposit 2")
        assert portal(l1_web3(l1.url), node).address == portal_address
        watcher = node.node.watcher
        assert watcher is not None
        wait_for(lambda: watcher.scanned > 0, "a poll of the L1")
        assert mailbox(b).functions.inboxCount(900).call() == 2
        assert b.eth.get_balance(who) == 3 * ETH


def test_deposits_survive_an_l1_restart(tmp_path: Path) -> None:
    from tests.l1.test_settlement import free_port

    port, state = free_port(), tmp_path / "l1-state.json"
    anvil = Anvil(port, 900, state)
    anvil.start()
    erin = fresh("erin")
    try:
        with bridged_devnet(anvil.url) as node:
            chain = l1_web3(anvil.url)
            p = portal(chain, node)
            a = rollup(node, 901)
            deposit(chain, p, DEPOSITOR, 901, erin.address, ETH)
            wait_for(lambda: a.eth.get_balance(erin.address) == ETH, "deposit before")
            anvil.stop()  # dumps its state
            anvil = Anvil(port, 900, state)
            anvil.start()
            deposit(chain, p, DEPOSITOR, 901, erin.address, ETH)
            wait_for(lambda: a.eth.get_balance(erin.address) == 2 * ETH, "deposit after")
            assert mailbox(a).functions.inboxCount(900).call() == 2
    finally:
        anvil.stop()


def test_withdrawal_proof_errors_are_clear_and_change_nothing(l1: Anvil) -> None:
    with bridged_devnet(l1.url) as node:
        s = seq(node)
        head = s.call("xseq_slotNumber")
        for bad, code in (("0x1234", -32602), ("0x" + "ab" * 32, -32001)):
            try:
                s.get_withdrawal_proof(bad)
                raise AssertionError("accepted")
            except SequencerError as exc:
                assert exc.code == code, exc
        a = rollup(node, 901)
        plain = a.eth.send_transaction(
            {"from": a.eth.accounts[0], "to": a.eth.accounts[1], "value": 1}
        )
        a.eth.wait_for_transaction_receipt(plain)
        try:
            s.get_withdrawal_proof(plain.to_0x_hex())
            raise AssertionError("accepted")
        except SequencerError as exc:
            assert exc.code == -32602 and "no withdrawal" in exc.message
        assert int(s.call("xseq_slotNumber"), 16) == int(head, 16) + 1


def test_the_reference_token_goes_to_a_rollup_and_back(l1: Anvil) -> None:
    chain = l1_web3(l1.url)
    gina = fresh("gina")
    with bridged_devnet(l1.url) as node:
        b, p = rollup(node, 902), portal(chain, node)
        l1_xrt = chain.eth.contract(address=p.functions.token().call(), abi=XTOKEN_ABI)
        assert seq(node).info()["l1"]["l1Token"] == l1_xrt.address
        backing = p.functions.genesisXrt().call()  # the rollups' genesis XRT
        assert l1_xrt.functions.balanceOf(p.address).call() == backing > 0
        xrt = b.eth.contract(address=REFERENCE_TOKEN, abi=XTOKEN_ABI)
        supply = xrt.functions.totalSupply().call()
        # approve, deposit 250 XRT to gina on 902 (and some ETH for her gas)
        approve = l1_xrt.functions.approve(p.address, 250 * ETH)._encode_transaction_data()
        assert send_l1(chain, DEPOSITOR, l1_xrt.address, bytes.fromhex(approve[2:])).status == 1
        call = p.functions.depositERC20(902, gina.address, 250 * ETH)._encode_transaction_data()
        assert send_l1(chain, DEPOSITOR, p.address, bytes.fromhex(call[2:])).status == 1
        deposit(chain, p, DEPOSITOR, 902, gina.address, ETH // 10)
        wait_for(lambda: b.eth.get_balance(gina.address) == ETH // 10, "gina's gas")
        assert xrt.functions.balanceOf(gina.address).call() == 250 * ETH
        assert xrt.functions.totalSupply().call() == supply + 250 * ETH
        assert l1_xrt.functions.balanceOf(p.address).call() == backing + 250 * ETH
        # a plain user cannot fake a token deposit: the bridge only relays its own messages
        fake = bytes.fromhex(
            b.eth.contract(address=TOKEN_BRIDGE, abi=BRIDGE_ABI)
            .functions.relayERC20(REFERENCE_TOKEN, gina.address, gina.address, 10**30)
            ._encode_transaction_data()[2:]
        )
        deposit(chain, p, DEPOSITOR, 902, TOKEN_BRIDGE, 0, fake)
        wait_for(lambda: mailbox(b).functions.inboxCount(900).call() == 3, "the fake one")
        assert xrt.functions.balanceOf(gina.address).call() == 250 * ETH
        # gina sends 100 XRT back to herself on L1 through the token bridge
        bridge = b.eth.contract(address=TOKEN_BRIDGE, abi=BRIDGE_ABI)
        tx = bridge.functions.sendERC20(REFERENCE_TOKEN, gina.address, 100 * ETH, 900)
        built = tx.build_transaction(
            {
                "from": gina.address,
                "nonce": 0,
                "gas": 300_000,
                "maxFeePerGas": 10**10,
                "maxPriorityFeePerGas": 1,
                "chainId": 902,
            }
        )
        sent = b.eth.send_raw_transaction(gina.sign_transaction(built).raw_transaction)
        assert b.eth.wait_for_transaction_receipt(sent).status == 1
        assert xrt.functions.balanceOf(gina.address).call() == 150 * ETH
        proof = seq(node).get_withdrawal_proof(sent.to_0x_hex())
        finalize(chain, node, proof["slot"])
        entry = seq(node).get_withdrawal_proof(sent.to_0x_hex())["withdrawals"][0]
        assert claim(chain, p, DEPOSITOR, entry).status == 1
        assert l1_xrt.functions.balanceOf(gina.address).call() == 100 * ETH
        assert l1_xrt.functions.balanceOf(p.address).call() == backing + 150 * ETH
        assert xrt.functions.totalSupply().call() == supply + 150 * ETH  # locked == minted
        assert claim(chain, p, DEPOSITOR, entry).status == 0


def test_the_deposit_withdraw_example_runs_on_a_devnet_with_its_own_l1() -> None:
    from tests.l1.test_settlement import free_port
    from tests.messaging.test_examples import run
    from xseqd.config import Settings
    from xseqd.node import NodeThread

    settings = Settings.for_tests(
        l1_rpc="", l1_port=free_port(), l1_block_time=1.0, challenge_window=2
    )
    node = NodeThread(settings)
    ep = node.start()
    try:
        out = run("deposit_withdraw.py", ep.base_url)
    finally:
        node.stop()
    lines = out.splitlines()
    assert "901 1.0000" in lines[1], out
    assert "902 0.9000" in lines[2], out
    assert lines[-1].startswith("5. claimed on L1 (status 1)") and "L1 0.8000" in lines[-1], out

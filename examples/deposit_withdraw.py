"""Deposit 1 ETH from the L1 to rollup 901, bridge it to 902, withdraw it to the L1.

.venv/bin/python examples/deposit_withdraw.py [--rpc http://127.0.0.1:9545]

Needs a devnet that settles on an L1 (the default `make devnet`). Prints the balances on
every chain after each step and how long each step took; the withdrawal is claimable
once its slot is finalized (the challenge window, 5 L1 blocks of 1 s by default).
"""

import time

from _common import ALICE, MAILBOX, connect, contract, send
from eth_account import Account
from web3 import Web3

from xseqd.client import SequencerClient, finalize_withdrawal_calldata

a, b = connect()
base = a.provider.endpoint_uri.rsplit("/rollup/", 1)[0]  # type: ignore[attr-defined]
seq = SequencerClient(base)
l1_info = seq.info()["l1"]
l1 = Web3(Web3.HTTPProvider(l1_info["rpc"]))
portal = contract(l1, l1_info["portal"], "Portal")
# a traveller with nothing anywhere (a fresh key each run)
traveller = Account.create()
ETH = 10**18


def balances(step: str, seconds: float) -> None:
    on = [
        f"L1 {l1.eth.get_balance(traveller.address) / ETH:.4f}",
        f"901 {a.eth.get_balance(traveller.address) / ETH:.4f}",
        f"902 {b.eth.get_balance(traveller.address) / ETH:.4f}",
    ]
    print(f"{step:<34} {seconds:6.2f}s   traveller: " + ", ".join(on) + " ETH")


def wait(condition, what: str, timeout: float = 120) -> None:  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


balances("start", 0)
# 1. Alice deposits 1 ETH on L1 for the traveller on 901
t = time.time()
send(l1, ALICE, portal.functions.depositETH(901, traveller.address, b""), value=ETH)
wait(lambda: a.eth.get_balance(traveller.address) == ETH, "the deposit on 901")
balances("1. deposited L1 -> 901 (usable)", time.time() - t)
# 2. the traveller bridges 0.9 ETH to itself on 902 (same slot, no waiting)
t = time.time()
send(
    a,
    traveller,
    contract(a, MAILBOX, "Mailbox").functions.send(902, traveller.address, b""),
    value=9 * ETH // 10,
)
balances("2. bridged 901 -> 902", time.time() - t)
# 3. it withdraws 0.8 ETH from 902 to itself on L1
t = time.time()
receipt = send(
    b,
    traveller,
    contract(b, MAILBOX, "Mailbox").functions.send(900, traveller.address, b""),
    value=8 * ETH // 10,
)
tx = receipt.transactionHash.to_0x_hex()
balances("3. withdrawal sent on 902", time.time() - t)
# 4. wait until its slot is finalized on L1, then anyone (Alice) claims it for the traveller
t = time.time()
wait(lambda: seq.get_withdrawal_proof(tx)["claimable"], "the slot to be finalized")
proof = seq.get_withdrawal_proof(tx)
balances(f"4. slot {proof['slot']} finalized (claimable)", time.time() - t)
t = time.time()
claim = {
    "from": ALICE.address,
    "to": portal.address,
    "data": finalize_withdrawal_calldata(proof["withdrawals"][0]),
    "nonce": l1.eth.get_transaction_count(ALICE.address),
    "chainId": l1.eth.chain_id,
    "gas": 500_000,
    "maxFeePerGas": 2 * l1.eth.get_block("latest")["baseFeePerGas"] + 10**9,
    "maxPriorityFeePerGas": 10**9,
}
raw = Account.sign_transaction(claim, ALICE.key).raw_transaction
status = l1.eth.wait_for_transaction_receipt(l1.eth.send_raw_transaction(raw)).status
balances(f"5. claimed on L1 (status {status})", time.time() - t)

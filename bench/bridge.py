"""Benchmark: L1 deposit and withdrawal latency on the devnet, next to the anchors.

  - deposit-to-usable: from the L1 deposit transaction mined to the value spendable on
    the rollup (the watcher polls every 0.2 s; confirmation depth 0 by default)
  - withdrawal-to-claimable: from the rollup withdrawal's receipt to the slot finalized
    on L1 (`xseq_getWithdrawalProof(...).claimable`), with the devnet's defaults: a
    challenge window of 5 L1 blocks, one L1 block per second
  - claim: Portal.finalizeWithdrawal mined on L1
The anchors are OP Stack mainnet figures (deposits ~1-3 min, withdrawals 7 days); they are
constants, not measured here. Ratios are within this run.
Usage: .venv/bin/python bench/bridge.py [--n 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eth_account import Account  # noqa: E402
from web3 import Web3  # noqa: E402

from bench.settlement import free_port  # noqa: E402
from xseqd.abi import artifact  # noqa: E402
from xseqd.client import SequencerClient, finalize_withdrawal_calldata  # noqa: E402
from xseqd.config import Settings  # noqa: E402
from xseqd.node import NodeThread  # noqa: E402

ETH = 10**18
ALICE = Account.from_key("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
MAILBOX = "0x4200000000000000000000000000000000000023"
OP_DEPOSIT = 120.0  # s, middle of the ~1-3 min OP Stack figure
OP_WITHDRAWAL = 7 * 24 * 3600.0  # s, the OP Stack challenge period


def send(w3: Web3, key: object, tx: dict[str, object]) -> object:
    tx = {
        "chainId": w3.eth.chain_id,
        "nonce": w3.eth.get_transaction_count(key.address),  # type: ignore[attr-defined]
        "gas": 500_000,
        "maxFeePerGas": 2 * w3.eth.get_block("latest")["baseFeePerGas"] + 10**9,
        "maxPriorityFeePerGas": 10**9,
        **tx,
    }
    raw = Account.sign_transaction(tx, key.key).raw_transaction  # type: ignore[attr-defined]
    return w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(raw), poll_latency=0.01)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10)
    args = parser.parse_args()
    settings = Settings.for_tests(l1_rpc="", l1_port=free_port(), l1_block_time=1.0)
    node = NodeThread(settings)  # the devnet's defaults: window 5 blocks, 1 s blocks
    ep = node.start()
    try:
        seq = SequencerClient(ep.base_url)
        info = seq.info()["l1"]
        l1 = Web3(Web3.HTTPProvider(info["rpc"]))
        a = Web3(Web3.HTTPProvider(ep.rollup_url(901)))
        portal = l1.eth.contract(address=info["portal"], abi=artifact("Portal")["abi"])
        mailbox = a.eth.contract(address=MAILBOX, abi=artifact("Mailbox")["abi"])
        deposits, claimable, claims = [], [], []
        for i in range(args.n):
            user = Account.create()
            data = portal.functions.depositETH(901, user.address, b"")._encode_transaction_data()
            send(l1, ALICE, {"to": portal.address, "data": data, "value": ETH})
            start = time.perf_counter()
            while a.eth.get_balance(user.address) < ETH:
                time.sleep(0.005)
            deposits.append(time.perf_counter() - start)
            call = mailbox.functions.send(900, user.address, b"")._encode_transaction_data()
            receipt = send(
                a,
                user,
                {
                    "to": MAILBOX,
                    "data": call,
                    "value": ETH // 2,
                    "gas": 200_000,
                    "maxFeePerGas": 10**10,
                    "maxPriorityFeePerGas": 1,
                },
            )
            tx = receipt.transactionHash.to_0x_hex()  # type: ignore[attr-defined]
            start = time.perf_counter()
            while not seq.get_withdrawal_proof(tx)["claimable"]:
                time.sleep(0.02)
            claimable.append(time.perf_counter() - start)
            entry = seq.get_withdrawal_proof(tx)["withdrawals"][0]
            start = time.perf_counter()
            done = send(
                l1, ALICE, {"to": portal.address, "data": finalize_withdrawal_calldata(entry)}
            )
            assert done.status == 1  # type: ignore[attr-defined]
            claims.append(time.perf_counter() - start)
            print(
                f"  round {i + 1}/{args.n}: deposit {deposits[-1]:.3f}s, "
                f"claimable {claimable[-1]:.2f}s",
                flush=True,
            )
    finally:
        node.stop()
    dep, wd, cl = (statistics.median(x) for x in (deposits, claimable, claims))
    print()
    print(
        f"{'latency (median of ' + str(args.n) + ')':<34}{'xseqd devnet':>14}{'OP anchor':>14}"
        f"{'OP / xseqd':>12}"
    )
    print(
        f"{'deposit -> usable on the rollup':<34}{dep:>13.3f}s{OP_DEPOSIT:>13.0f}s"
        f"{OP_DEPOSIT / dep:>11.0f}x"
    )
    print(
        f"{'withdrawal -> claimable on L1':<34}{wd:>13.2f}s{OP_WITHDRAWAL:>13.0f}s"
        f"{OP_WITHDRAWAL / wd:>11.0f}x"
    )
    print(f"{'claim (finalizeWithdrawal mined)':<34}{cl:>13.3f}s{'-':>14}{'-':>12}")
    print(
        f"\nwithdrawal -> claimable / deposit -> usable: {wd / dep:.0f}x "
        f"(the challenge window, {settings.challenge_window} L1 blocks of "
        f"{settings.l1_block_time:g}s, dominates)"
    )


if __name__ == "__main__":
    main()

"""A cross-rollup sandwich by the sequencer itself, plaintext vs encrypted submission.

Run against a devnet whose sequencer front-runs everything it can read:

    make devnet ARGS="--fault frontrun"          # terminal 1 (keypers on: the default)
    .venv/bin/python examples/sandwich.py        # terminal 2 (--trials 200 --seed 1)

Constant-product pools (contracts/src/SwapPool.sol) on 901 and 902. In each trial a victim
sends one bundle: sell X for USD on 901 and buy X with USD on 902, each leg with a
slippage bound. The sequencer (``--fault frontrun``, xseqd/sequencer/frontrun.py, trading
as dev account 9) inserts its own swaps before and after every swap it can read, as large
as the victim's bound allows. Modes: ``plaintext`` (xseq_sendBundle) and ``encrypted``
(xseq_sendEncryptedBundle: the order is sealed before anyone can read the legs).

Printed per mode: the attacker's profit and the victim's loss per trial (USD at the pools'
prices before the trial; mean and 95% CI), and how many attacker items sit right before
or after the victim's item in the order. The last line is the same as JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import Web3

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from xseqd.accounts import dev_accounts  # noqa: E402
from xseqd.client import SequencerClient  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ART = json.loads((ROOT / "xseqd/contracts/artifacts/SwapPool.json").read_text())
VICTIM, ATTACKER = dev_accounts(10)[3], dev_accounts(10)[9]
DEPOSIT = 10**30  # both traders' X and USD in each pool
RESERVES = 10**24  # each pool starts at 1,000,000 X : 1,000,000 USD (18 decimals)


def send(w3: Web3, key: Any, fn: Any) -> None:
    nonce = w3.eth.get_transaction_count(key.address, "pending")
    tx = fn.build_transaction({"from": key.address, "chainId": w3.eth.chain_id, "gas": 3_000_000,
                               "nonce": nonce})  # fmt: skip
    raw = Account.sign_transaction(tx, key.key).raw_transaction
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(raw), poll_latency=0.02
    )
    assert receipt["status"] == 1, receipt


def deploy_pool(w3: Web3, deployer: Any) -> Any:
    factory = w3.eth.contract(abi=ART["abi"], bytecode=ART["bytecode"])
    tx = factory.constructor(RESERVES, RESERVES).build_transaction(
        {
            "from": deployer.address,
            "chainId": w3.eth.chain_id,
            "nonce": w3.eth.get_transaction_count(deployer.address, "pending"),
        }  # fmt: skip
    )
    raw = Account.sign_transaction(tx, deployer.key).raw_transaction
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(raw), poll_latency=0.02
    )
    pool = w3.eth.contract(receipt["contractAddress"], abi=ART["abi"])
    for who in (VICTIM, ATTACKER):
        send(w3, deployer, pool.functions.faucet(who.address, DEPOSIT, DEPOSIT))
    return pool


def worth(pool: Any, who: str, price: float) -> float:
    """``who``'s holdings in ``pool`` in USD at ``price`` (USD per X)."""
    return pool.functions.x(who).call() * price + pool.functions.usd(who).call()


def swap_tx(w3: Web3, pool: Any, sell_x: bool, amount: int, min_out: int, nonce: int) -> bytes:
    tx = pool.functions.swap(sell_x, amount, min_out).build_transaction(
        {
            "from": VICTIM.address,
            "chainId": w3.eth.chain_id,
            "nonce": nonce,
            "gas": 200_000,
            "maxFeePerGas": 10**11,
            "maxPriorityFeePerGas": 0,
        }  # fmt: skip
    )
    return bytes(Account.sign_transaction(tx, VICTIM.key).raw_transaction)


def trial(seq: SequencerClient, w3s: dict[int, Web3], pools: dict[int, Any], mode: str,
          rng: random.Random) -> tuple[float, float, int]:  # fmt: skip
    """One victim bundle: (attacker profit, victim loss, attacker items next to it)."""
    a, b = pools[901], pools[902]
    prices = {c: p.functions.reserveUsd().call() / p.functions.reserveX().call()
              for c, p in pools.items()}  # fmt: skip
    size = int(RESERVES * rng.uniform(0.005, 0.03))
    slip = rng.uniform(0.005, 0.03)
    expect_a = a.functions.quote(True, size).call()  # USD for X on 901, if alone
    usd_in = int(expect_a * (1 - slip))
    expect_b = b.functions.quote(False, usd_in).call()  # X for USD on 902, if alone
    legs = [
        swap_tx(w3s[901], a, True, size, int(expect_a * (1 - slip)),
                w3s[901].eth.get_transaction_count(VICTIM.address, "pending")),
        swap_tx(w3s[902], b, False, usd_in, int(expect_b * (1 - slip)),
                w3s[902].eth.get_transaction_count(VICTIM.address, "pending")),
    ]  # fmt: skip
    before = {c: (worth(p, ATTACKER.address, prices[c]), p.functions.usd(VICTIM.address).call(),
                  p.functions.x(VICTIM.address).call()) for c, p in pools.items()}  # fmt: skip
    if mode == "plaintext":
        done = seq.send_bundle(legs)
        slot, index = int(done["slot"], 16), int(done["index"], 16)
    else:
        sent = seq.send_encrypted_bundle(legs)
        done = seq.wait_revealed(sent["bundleHash"])
        slot, index = int(done["executedSlot"], 16), int(done["executedIndex"], 16)
    assert done["status"] == "included", done
    profit = sum(worth(p, ATTACKER.address, prices[c]) - before[c][0] for c, p in pools.items())
    got_usd = a.functions.usd(VICTIM.address).call() - before[901][1]
    got_x = b.functions.x(VICTIM.address).call() - before[902][2]
    loss = (expect_a - got_usd) + (expect_b - got_x) * prices[902]
    return profit / 1e18, loss / 1e18, attacker_items(seq, w3s, slot, index)


def attacker_items(seq: SequencerClient, w3s: dict[int, Web3], slot: int, index: int) -> int:
    """Attacker items right before and right after the victim's item in the slot."""
    wait_sealed(seq, slot)
    items = seq.get_slot(slot)["items"]
    count = 0
    for step in (-1, 1):
        i = index + step
        while (
            0 <= i < len(items)
            and items[i]["legs"]
            and all(
                w3s[g["chainId"]].eth.get_transaction(g["txHash"])["from"] == ATTACKER.address
                for g in items[i]["legs"]
            )
        ):
            count, i = count + 1, i + step
    return count


def wait_sealed(seq: SequencerClient, slot: int) -> None:
    import time

    while int(seq.call("xseq_slotNumber"), 16) < slot:
        time.sleep(0.01)


def summary(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / max(len(values) - 1, 1)
    return mean, 1.96 * math.sqrt(var / len(values))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rpc", default="http://127.0.0.1:9545", help="xseqd base URL")
    parser.add_argument("--trials", type=int, default=200, help="trials per mode")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    base = args.rpc.rstrip("/")
    seq = SequencerClient(base)
    w3s = {c: Web3(Web3.HTTPProvider(f"{base}/rollup/{c}")) for c in (901, 902)}
    deployer = dev_accounts(10)[4]
    pools = {c: deploy_pool(w3, deployer) for c, w3 in w3s.items()}
    results: dict[str, dict[str, float]] = {}
    for mode in ("plaintext", "encrypted"):
        rng = random.Random(args.seed)
        rows = [trial(seq, w3s, pools, mode, rng) for _ in range(args.trials)]
        profit, ci = summary([r[0] for r in rows])
        loss, loss_ci = summary([r[1] for r in rows])
        results[mode] = {"profit": profit, "profitCI": ci, "loss": loss, "lossCI": loss_ci,
                         "attackerItems": sum(r[2] for r in rows) / len(rows),
                         "trials": len(rows)}  # fmt: skip
    print(f"{args.trials} seeded trials per mode (seed {args.seed}); USD per trial")
    print("| mode | attacker profit (mean ± 95% CI) | victim's loss (mean ± 95% CI) "
          "| attacker items next to the victim's |")  # fmt: skip
    print("|---|---|---|---|")
    for mode, r in results.items():
        print(f"| {mode} | {r['profit']:.4f} ± {r['profitCI']:.4f} | {r['loss']:.4f} ± "
              f"{r['lossCI']:.4f} | {r['attackerItems']:.2f} |")  # fmt: skip
    print("RESULT " + json.dumps(results))


if __name__ == "__main__":
    main()

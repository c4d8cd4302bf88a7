"""CPU time of each stage of one transaction's path through the sequencer, in process (no
HTTP, no client), before/after alternated: decode + signature check, submit (admission,
execution, order receipt, log), seal the slot, open the next one. ``process_time`` per
stage, median over the transactions; the machine's other load disturbs it far less than
wall-clock latency.

Workloads: ``seq`` (ETH transfers on 901, one per slot, as a lone client sends them) and
``cross`` (a Mailbox send 901 -> 902 per slot: the source call, the delivery on 902 in the
same slot, both blocks sealed).

Usage: git archive <commit> | tar -x -C /tmp/base
       .venv/bin/python bench/seq_stages.py /tmp/base [--rounds 3] [--n 300] [--cross]
(A = the checkout given, B = this one; each round runs A then B in fresh processes.)
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# runs in a fresh interpreter with the checkout to measure first on sys.path
CHILD = r"""
import json, statistics, sys, time
sys.path.insert(0, sys.argv[1])
n, workload = int(sys.argv[2]), sys.argv[3]
from eth_abi import encode
from eth_account import Account
from eth_hash.auto import keccak
from xseqd.accounts import dev_accounts
from xseqd.chains.genesis import RollupSpec, devnet_genesis
from xseqd.chains.rollup import Rollup
from xseqd.sequencer.sequencer import Sequencer
try:
    from xseqd.rpc.recover import check_and_recover
except ImportError:  # the code before it: py-evm's two steps
    def check_and_recover(tx):
        tx.check_signature_validity()
        return tx.sender
keys = dev_accounts(2)
addrs = [bytes.fromhex(k.address[2:]) for k in keys]
seq = Sequencer([Rollup(RollupSpec(c, str(c), devnet_genesis(addrs))) for c in (901, 902)])
mailbox = bytes.fromhex("4200000000000000000000000000000000000023")
send = keccak(b"send(uint256,address,bytes)")[:4] + encode(
    ["uint256", "address", "bytes"], [902, "0x000000000000000000000000000000000000beef", b""])
raws = []
for i in range(n):
    fields = {"chainId": 901, "nonce": i, "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 1,
              "value": 1, "gas": 21_000, "to": b"\x22" * 20}
    if workload == "cross":
        fields.update(gas=200_000, to=mailbox, data=send)
    raws.append(bytes(Account.sign_transaction(fields, keys[0].key).raw_transaction))
builder = seq.rollups[901].vm_class_for(1).get_transaction_builder()
stages = {"decode+recover": [], "submit": [], "seal": [], "open next": []}
clock = time.process_time
for raw in raws:
    t0 = clock()
    tx = builder.decode(raw)
    check_and_recover(tx)
    tx.validate()
    t1 = clock()
    seq.submit(901, tx)
    t2 = clock()
    seq.seal_slot()
    t3 = clock()
    seq.prepare_next_slot()
    t4 = clock()
    for key, value in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
        stages[key].append(value)
assert seq.rollups[901].head.number == n
skip = n // 5  # warm-up
print(json.dumps({k: statistics.median(v[skip:]) * 1000 for k, v in stages.items()}))
"""


def run(code: str, n: int, workload: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, code, str(n), workload],
        check=True,
        capture_output=True,
        text=True,
        cwd=code,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--cross", action="store_true", help="cross-rollup sends instead")
    args = parser.parse_args()
    workload = "cross" if args.cross else "seq"
    rows: dict[str, list[tuple[float, float]]] = {}
    for r in range(args.rounds):
        a, b = run(args.base, args.n, workload), run(str(ROOT), args.n, workload)
        a["total"], b["total"] = sum(a.values()), sum(b.values())
        print(f"round {r + 1}: " + "  ".join(f"{k} {a[k]:.3f} -> {b[k]:.3f}" for k in a))
        for k in a:
            rows.setdefault(k, []).append((a[k], b[k]))
    print(f"\n{workload}: CPU ms per transaction, in process, median of {args.rounds} rounds")
    print(f"{'stage':<16} {'before':>8} {'after':>8} {'ratio':>7}")
    for k, pairs in rows.items():
        before = statistics.median(p[0] for p in pairs)
        after = statistics.median(p[1] for p in pairs)
        print(f"{k:<16} {before:>8.3f} {after:>8.3f} {after / before:>7.2f}")


if __name__ == "__main__":
    main()

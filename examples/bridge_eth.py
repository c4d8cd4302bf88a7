"""Move 1 ETH from Alice on rollup 901 to Bob on rollup 902 — both sides in one slot.

.venv/bin/python examples/bridge_eth.py [--rpc http://127.0.0.1:9545]
"""

from _common import ALICE, BOB, MAILBOX, connect, contract, send

a, b = connect()
mailbox = contract(a, MAILBOX, "Mailbox")
print(
    f"before: Alice on 901 {a.eth.get_balance(ALICE.address) / 1e18:.4f} ETH, "
    f"Bob on 902 {b.eth.get_balance(BOB.address) / 1e18:.4f} ETH"
)
receipt = send(a, ALICE, mailbox.functions.send(902, BOB.address, b""), value=10**18)
print(f"sent in block {receipt.blockNumber} on 901 (status {receipt.status})")
print(
    f"after:  Alice on 901 {a.eth.get_balance(ALICE.address) / 1e18:.4f} ETH, "
    f"Bob on 902 {b.eth.get_balance(BOB.address) / 1e18:.4f} ETH "
    f"(902 is at block {b.eth.block_number})"
)

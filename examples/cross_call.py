"""A contract call from rollup 901 to rollup 902 in the same slot: the target sees the
source chain and sender through the mailbox. Then a call whose target reverts: the
originating transaction is refused and nothing happens anywhere.

    .venv/bin/python examples/cross_call.py [--rpc http://127.0.0.1:9545]
"""

import json

from _common import ALICE, MAILBOX, ROOT, connect, contract, send

COUNTER = "0x000000000000000000000000000000000000C0C0"
a, b = connect()
ARTIFACT = ROOT / "xseqd" / "contracts" / "artifacts" / "XCounter.json"
code = json.loads(ARTIFACT.read_text())["deployedBytecode"]
for w3 in (a, b):  # the same example contract at the same address on both rollups
    if len(w3.eth.get_code(COUNTER)) == 0:
        w3.provider.make_request("anvil_setCode", [COUNTER, code])
target = contract(b, COUNTER, "XCounter")
mailbox = contract(a, MAILBOX, "Mailbox")

print(f"before: XCounter on 902 count={target.functions.count().call()}")
data = target.encode_abi("ping", [])
receipt = send(a, ALICE, mailbox.functions.send(902, COUNTER, data))
print(
    f"called from 901 block {receipt.blockNumber}: count={target.functions.count().call()}, "
    f"lastSource={target.functions.lastSource().call()}, "
    f"lastSender={target.functions.lastSender().call()}"
)
try:
    send(a, ALICE, mailbox.functions.send(902, COUNTER, target.encode_abi("refuse", [])))
except Exception as exc:  # the sequencer refuses the trigger: its action would revert
    print(f"refused as expected: {exc}")
print(f"after:  XCounter on 902 count={target.functions.count().call()}")

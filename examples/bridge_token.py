"""Move 250 XRT (the reference ERC-7802 token) from Alice on 901 to Bob on 902: burned on
901 and minted on 902 in the same slot; total supply over both rollups is unchanged.

    .venv/bin/python examples/bridge_token.py [--rpc http://127.0.0.1:9545]
"""

from _common import ALICE, BOB, BRIDGE, XRT, connect, contract, send

a, b = connect()
xa, xb = contract(a, XRT, "ReferenceXToken"), contract(b, XRT, "ReferenceXToken")
bridge = contract(a, BRIDGE, "TokenBridge")


def show(label: str) -> None:
    supply = xa.functions.totalSupply().call() + xb.functions.totalSupply().call()
    print(
        f"{label} Alice on 901 {xa.functions.balanceOf(ALICE.address).call() / 1e18:,.0f} XRT, "
        f"Bob on 902 {xb.functions.balanceOf(BOB.address).call() / 1e18:,.0f} XRT, "
        f"supply over both {supply / 1e18:,.0f}"
    )


show("before:")
receipt = send(a, ALICE, bridge.functions.sendERC20(XRT, BOB.address, 250 * 10**18, 902))
print(f"bridged in block {receipt.blockNumber} (status {receipt.status})")
show("after: ")

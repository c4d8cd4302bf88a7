"""What the adversary rows share: raw JSON-RPC calls that must fail, the keys an attacker
could guess, a devnet settling on a real anvil, and the L1 side of a challenge (the
batch to cite, a challenge simulated for its revert reason, the bond paid or untouched).
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from typing import Any

from eth_abi import decode
from eth_hash.auto import keccak
from web3 import Web3

from tests.l1.test_settlement import KEYS, sign, wait_posted
from xseqd.abi import event_topic
from xseqd.cli import main
from xseqd.client import SequencerClient
from xseqd.config import Settings
from xseqd.l1.client import L1Client, L1Error
from xseqd.l1.settlement import CHALLENGE_BOND, SEQUENCER_BOND
from xseqd.node import NodeThread
from xseqd.verify.challenge import challenger
from xseqd.verify.challenge import receipt_calldata as receipt_call  # noqa: F401 (re-export)
from xseqd.verify.verifier import posted_batches

# Keys that were public constants once: an attacker tries them first.
OLD_SEQUENCER_KEY = keccak(b"xseqd devnet sequencer key")
OLD_VERIFIER_KEY = keccak(b"xseqd devnet verifier key")
SYSTEM_KEY = keccak(b"xseqd devnet system account key")  # fixed in Mailbox.sol, public

MAILBOX = Web3.to_checksum_address("0x4200000000000000000000000000000000000023")
TOKEN_BRIDGE = Web3.to_checksum_address("0x4200000000000000000000000000000000000024")
REFERENCE_TOKEN = Web3.to_checksum_address("0x4200000000000000000000000000000000000025")
SYSTEM = Web3.to_checksum_address("0xC94BE4064c3892F19b298038DAD4d6e5704BC8a2")
PREDEPLOYS = (MAILBOX, TOKEN_BRIDGE, REFERENCE_TOKEN, SYSTEM)

STATUS = keccak(b"status(uint256)")[:4]
SEQUENCER_BOND_OF = keccak(b"sequencerBond()")[:4]
SLOT_INVALIDATED = "0x" + event_topic("Settlement", "SlotInvalidated").hex()
SAFE, INVALIDATED = 1, 3


def rpc(w3: Web3, method: str, *params: Any) -> Any:
    """The raw JSON-RPC response (result or error) of one call."""
    return w3.provider.make_request(method, list(params))  # type: ignore[arg-type]


def refused(w3: Web3, method: str, *params: Any) -> dict[str, Any]:
    """Call ``method`` and return its JSON-RPC error (fails if it succeeded)."""
    reply = rpc(w3, method, *params)
    assert "error" in reply, f"{method} was accepted: {reply}"
    return dict(reply["error"])


def slot_status(client: L1Client, settlement: str, slot: int) -> int:
    """Settlement.status(slot): 0 = not committed, 1 = safe, 3 = invalidated."""
    out = client.eth_call(settlement, STATUS + slot.to_bytes(32, "big"))
    return int(decode(["uint8"], out)[0])


def bond(client: L1Client, settlement: str, block: str = "latest") -> int:
    data = "0x" + SEQUENCER_BOND_OF.hex()
    out = client.call("eth_call", {"to": settlement, "data": data}, block)
    return int(decode(["uint256"], bytes.fromhex(out[2:]))[0])


@contextmanager
def settled_devnet(l1_url: str, **overrides: Any) -> Iterator[NodeThread]:
    """A devnet (test preset) settling on the anvil at ``l1_url``; stopped on exit."""
    node = NodeThread(Settings.for_tests(l1_rpc=l1_url, challenge_window=100, **overrides))
    node.start()
    try:
        yield node
    finally:
        node.stop()


def settlement_of(node: NodeThread) -> str:
    assert node.endpoints is not None
    return str(SequencerClient(node.endpoints.base_url).info()["l1"]["settlement"])


def rollup(node: NodeThread, chain_id: int) -> Web3:
    assert node.endpoints is not None
    url = node.endpoints.rollup_url(chain_id)
    return Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 30}))


def sequencer(node: NodeThread) -> SequencerClient:
    assert node.endpoints is not None
    return SequencerClient(node.endpoints.base_url)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def wait_head(node: NodeThread, slot: int) -> None:
    """Wait until ``slot`` is sealed and the head (instant mode seals on the next turn)."""
    seq = node.node.sequencer
    wait_for(lambda: seq.head_slot == slot and not seq.open_slot_has_items, f"slot {slot}")


def wait_safe(node: NodeThread, slot: int) -> None:
    """Wait until ``slot`` is committed on L1 (the poster saw its post mined)."""
    poster = node.node.poster
    assert poster is not None
    wait_for(lambda: poster.safe_slot >= slot, f"slot {slot} on L1: {poster.status()}")


def scenario(node: NodeThread) -> dict[str, Any]:
    """Slot 1: one tx (posted before slot 2 is sealed); slot 2: two items, b and c (manual
    mode); slot 3: d. Returns the rollup handle, the sequencer client, the tx hashes and
    the receipts the users got for b, c and d (all in epoch 0)."""
    a, seq = rollup(node, 901), sequencer(node)
    a.eth.send_raw_transaction(sign(901, KEYS[0], 0))
    wait_safe(node, 1)  # a batch of its own: a fault in slot 2 leaves slot 1 committed
    rpc(a, "evm_setAutomine", False)
    b = a.eth.send_raw_transaction(sign(901, KEYS[1], 0))
    c = a.eth.send_raw_transaction(sign(901, KEYS[2], 0))
    rpc(a, "evm_mine")
    rpc(a, "evm_setAutomine", True)
    d = a.eth.send_raw_transaction(sign(901, KEYS[3], 0))
    return {
        "w3": a,
        "seq": seq,
        "b": b,
        "c": c,
        "d": d,
        **{
            f"receipt_{k}": seq.get_bundle(v.to_0x_hex())["receipt"]
            for k, v in zip("bcd", (b, c, d))
        },
    }


def batch_of(client: L1Client, settlement: str, slot: int) -> bytes:
    """The data of the latest batch posted that holds ``slot`` (what a challenge cites)."""
    found = None
    for batch in posted_batches(client, settlement):
        if batch.first <= slot < batch.first + batch.count:
            found = batch.data
    if found is None:
        raise AssertionError(f"slot {slot} not posted")
    return found


def simulated(client: L1Client, settlement: str, call: bytes, value: int = CHALLENGE_BOND) -> str:
    """What Settlement answers to ``call`` from the challenger, simulated (eth_call, no
    state change): "" if it would succeed, else its decoded revert reason."""
    request = {
        "from": challenger().address,
        "to": settlement,
        "data": "0x" + call.hex(),
        "value": hex(value),
    }
    try:
        client.call("eth_call", request, "latest")
    except L1Error as exc:
        return exc.message
    return ""


def submit(client: L1Client, settlement: str, call: bytes, value: int = CHALLENGE_BOND) -> Any:
    """Send ``call`` to Settlement from the challenger for real (raises L1Error if it fails)."""
    return client.send(challenger(), settlement, call, value=value, gas=25_000_000)


def balance(client: L1Client, who: str, block: int | str = "latest") -> int:
    tag = hex(block) if isinstance(block, int) else block
    return int(client.call("eth_getBalance", who, tag), 16)


def assert_bond_paid(client: L1Client, settlement: str, tx_hash: str, slot: int) -> None:
    """The challenge in ``tx_hash`` invalidated ``slot`` and paid the challenger the
    sequencer's bond (its own challenge bond returned; gas aside)."""
    receipt = client.call("eth_getTransactionReceipt", tx_hash)
    who = challenger().address
    assert receipt["status"] == "0x1" and receipt["from"].lower() == who.lower()
    [event] = [log for log in receipt["logs"] if log["topics"][0] == SLOT_INVALIDATED]
    assert int(event["topics"][1], 16) == slot
    assert int(event["topics"][2], 16) == int(who, 16)
    block = int(receipt["blockNumber"], 16)
    gas = int(receipt["gasUsed"], 16) * int(receipt["effectiveGasPrice"], 16)
    gained = balance(client, who, block) - balance(client, who, block - 1) + gas
    assert gained == SEQUENCER_BOND, gained
    assert bond(client, settlement, hex(block)) == 0  # until the sequencer bonds again


def verify_cli(*args: str) -> tuple[int, str]:
    """``xseqd verify ARGS`` run in-process (the CLI's own code, without a Python start-up):
    its exit code and output."""
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(out):
        code = main(["verify", *args])
    return code, out.getvalue()


@contextmanager
def posting_held(node: NodeThread) -> Iterator[None]:
    """Slots sealed inside stay sealed but unposted (the poster finds nothing to post)."""
    poster = node.node.poster
    assert poster is not None
    wait_posted(node)  # nothing in flight: the next post_once is the held one
    real = poster.post_once

    async def hold() -> bool:
        return False

    poster.post_once = hold  # type: ignore[method-assign]
    try:
        yield
    finally:
        poster.post_once = real  # type: ignore[method-assign]

"""Traffic the explorer tests and ``make screenshots`` send to a devnet: a Counter on 902,
a two-leg bundle whose first leg sends a cross-rollup message (901 -> 902) and whose
second leg runs on 902, an aborted bundle (a leg reverts with a reason), and a plain
transfer. Real signed transactions over HTTP (web3.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account import Account
from web3 import Web3

from tests.conftest import artifact
from xseqd.accounts import dev_accounts
from xseqd.client import SequencerClient

MAILBOX = Web3.to_checksum_address("0x4200000000000000000000000000000000000023")
KEYS = dev_accounts(4)
ALICE, BOB, CAROL, DAVE = KEYS


@dataclass
class Sent:
    """What a bundle submission answered, and its legs' hashes."""

    bundle_hash: str
    status: str
    slot: int
    legs: list[str]
    answer: dict[str, Any]


class Traffic:
    """Signs and sends transactions and bundles to one devnet."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url
        self.w3 = {
            cid: Web3(Web3.HTTPProvider(f"{base_url}/rollup/{cid}", request_kwargs={"timeout": 30}))
            for cid in (901, 902)
        }
        self.seq = SequencerClient(base_url)
        self.counter: str | None = None

    def _sign(self, cid: int, key: Any, tx: dict[str, Any], nonce_bump: int = 0) -> str:
        w3 = self.w3[cid]
        tx = {
            "chainId": cid,
            "nonce": w3.eth.get_transaction_count(key.address, "pending") + nonce_bump,
            "gas": 300_000,
            "maxFeePerGas": 10**10,
            "maxPriorityFeePerGas": 10**6,
            "type": 2,
            "value": 0,
            **tx,
        }
        raw = Account.sign_transaction(tx, key.key).raw_transaction
        return "0x" + bytes(raw).hex()

    def deploy_counter(self) -> str:
        w3 = self.w3[902]
        art = artifact("Counter")
        data = art["bytecode"]
        raw = self._sign(902, DAVE, {"data": data, "gas": 1_000_000})
        tx_hash = w3.eth.send_raw_transaction(raw)
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=10, poll_latency=0.02)
        assert receipt.status == 1
        self.counter = str(receipt.contractAddress)
        return self.counter

    def _counter_call(self, name: str) -> str:
        assert self.counter is not None
        contract = self.w3[902].eth.contract(self.counter, abi=artifact("Counter")["abi"])
        return str(contract.encode_abi(name, args=[]))

    def cross_bundle(self, value: int = 5 * 10**17) -> Sent:
        """Leg 0 on 901: Alice sends ``value`` to Bob on 902 through the mailbox; leg 1 on
        902: Bob increments the Counter. Included, with one message 901 -> 902."""
        mailbox = self.w3[901].eth.contract(MAILBOX, abi=artifact("Mailbox")["abi"])
        send_data = mailbox.encode_abi("send", args=[902, BOB.address, b""])
        legs = [
            self._sign(901, ALICE, {"to": MAILBOX, "data": send_data, "value": value}),
            self._sign(902, BOB, {"to": self.counter, "data": self._counter_call("increment")}),
        ]
        return self._bundle(legs)

    def aborted_bundle(self) -> Sent:
        """Leg 0 on 901: a transfer from Carol; leg 1 on 902: Counter.fail() reverts with
        "counter: always fails", so neither leg is included."""
        legs = [
            self._sign(901, CAROL, {"to": DAVE.address, "value": 10**15, "gas": 21_000}),
            self._sign(902, CAROL, {"to": self.counter, "data": self._counter_call("fail")}),
        ]
        return self._bundle(legs)

    def transfer(self, cid: int = 901) -> str:
        raw = self._sign(cid, DAVE, {"to": CAROL.address, "value": 12345, "gas": 21_000})
        tx_hash = self.w3[cid].eth.send_raw_transaction(raw)
        self.w3[cid].eth.wait_for_transaction_receipt(tx_hash, timeout=10, poll_latency=0.02)
        return "0x" + bytes(tx_hash).hex()

    def _bundle(self, legs: list[str]) -> Sent:
        answer = self.seq.call("xseq_sendBundle", {"txs": legs})
        hashes = ["0x" + Web3.keccak(hexstr=raw).hex().removeprefix("0x") for raw in legs]
        return Sent(answer["bundleHash"], answer["status"], int(answer["slot"], 16), hashes, answer)

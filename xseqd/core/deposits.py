"""L1 deposits as items of the order, and their apply rule (pure logic).

A deposit is what the L1 Portal (contracts/src/Portal.sol) emitted in one ``Deposited``
log, plus where that log is on L1 (transaction hash, log index, block). It is ordered as
an item of kind ``DEPOSIT`` whose payload is

    abi.encode(uint256 index, uint256 chainId, uint256 nonce, address sender,
               address target, uint256 value, bytes data,
               bytes32 l1TxHash, uint256 logIndex, uint256 l1Block)

(pinned in tests/core/test_deposits.py; changing it is a breaking change). ``index`` is the
Portal's global deposit counter (L1 order), ``nonce`` its counter per rollup.

Apply rule: a **system call** (not a new transaction type): the sequencer's system account
calls ``Mailbox.receiveDeposit(900, nonce, sender, target, value, data, l1TxHash, logIndex,
callTarget)`` on the target rollup. Nobody else can make that call (the Mailbox accepts only
the system account, intake refuses every transaction acting as it), so no user can forge a
deposit; the L1 transaction hash and log index are in the rollup transaction's input and
in its ``DepositReceived`` log. The value comes from the Mailbox's reserve and is always
credited: to ``target`` with the call, or, if the call reverts, to ``sender`` (OP's rule).
If the call succeeds but triggers a cross-rollup action that fails, the deposit is applied
again without the call (``callTarget = false``): a deposit is never dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eth_abi import decode, encode
from eth_hash.auto import keccak

from xseqd.abi import calldata
from xseqd.chains.predeploys import L1_CHAIN_ID, MAILBOX, SYSTEM_KEY
from xseqd.core.atomic import (
    Abort,
    AtomicChain,
    BundleOutcome,
    Delivery,
    LegResult,
    revert_output,
    revert_reason,
    route,
)
from xseqd.core.items import Item
from xseqd.errors import TxRejected

PAYLOAD_TYPES = [
    "uint256",
    "uint256",
    "uint256",
    "address",
    "address",
    "uint256",
    "bytes",
    "bytes32",
    "uint256",
    "uint256",
]


@dataclass(frozen=True)
class Deposit:
    """One Portal deposit and where it is on L1."""

    index: int
    chain_id: int
    nonce: int
    sender: bytes
    target: bytes
    value: int
    data: bytes
    l1_tx_hash: bytes
    log_index: int
    l1_block: int

    def encode(self) -> bytes:
        """The item payload (module docstring)."""
        return encode(
            PAYLOAD_TYPES,
            [
                self.index,
                self.chain_id,
                self.nonce,
                self.sender,
                self.target,
                self.value,
                self.data,
                self.l1_tx_hash,
                self.log_index,
                self.l1_block,
            ],
        )

    @classmethod
    def decode(cls, payload: bytes) -> Deposit:
        """Raises ``ValueError`` if ``payload`` is not a deposit's encoding."""
        try:
            v = decode(PAYLOAD_TYPES, payload)
        except Exception as exc:
            raise ValueError(f"not a deposit payload: {exc}") from exc
        deposit = cls(
            int(v[0]),
            int(v[1]),
            int(v[2]),
            bytes.fromhex(v[3][2:]),
            bytes.fromhex(v[4][2:]),
            int(v[5]),
            bytes(v[6]),
            bytes(v[7]),
            int(v[8]),
            int(v[9]),
        )
        if deposit.encode() != payload:  # one encoding only
            raise ValueError("not the canonical deposit encoding")
        return deposit

    @property
    def message_id(self) -> bytes:
        """The id both sides roll: Portal.depositRoot[chainId] and Mailbox.inboxRoot[900]."""
        return keccak(
            encode(
                ["uint256", "uint256", "uint256", "address", "address", "uint256", "bytes"],
                [
                    L1_CHAIN_ID,
                    self.chain_id,
                    self.nonce,
                    self.sender,
                    self.target,
                    self.value,
                    self.data,
                ],
            )
        )

    @property
    def item_hash(self) -> bytes:
        return keccak(b"xseqd/deposit" + self.encode())

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "chainId": self.chain_id,
            "nonce": self.nonce,
            "sender": "0x" + self.sender.hex(),
            "target": "0x" + self.target.hex(),
            "value": hex(self.value),
            "data": "0x" + self.data.hex(),
            "l1TxHash": "0x" + self.l1_tx_hash.hex(),
            "logIndex": self.log_index,
            "l1Block": self.l1_block,
            "messageId": "0x" + self.message_id.hex(),
        }


def receive_calldata(d: Deposit, call_target: bool) -> bytes:
    """Calldata of the system call that applies ``d`` (Mailbox.receiveDeposit)."""
    return calldata(
        "Mailbox",
        "receiveDeposit",
        L1_CHAIN_ID,
        d.nonce,
        d.sender,
        d.target,
        d.value,
        d.data,
        d.l1_tx_hash,
        d.log_index,
        call_target,
    )


def apply_deposit(
    chains: Mapping[int, AtomicChain], payload: bytes, keep: bool = True
) -> BundleOutcome:
    """Apply one deposit to the open slot (the module docstring's rule). Aborts only for
    a payload that is not a deposit, an unknown rollup, or an out-of-order nonce (the
    Mailbox refuses it): what an honest sequencer never orders."""
    try:
        d = Deposit.decode(payload)
    except ValueError as exc:
        return BundleOutcome((), Abort(0, str(exc), kind="invalid"))
    if d.chain_id not in chains:
        return BundleOutcome((), Abort(0, f"deposit to unknown chain {d.chain_id}", kind="invalid"))
    marks = {cid: chain.snapshot() for cid, chain in chains.items()}
    result, deliveries, abort = _run(chains, d, True)
    if abort is not None and abort.kind == "message":  # its call's action failed: no call
        for cid, chain in chains.items():
            chain.revert(marks[cid])
        marks = {cid: chain.snapshot() for cid, chain in chains.items()}
        result, deliveries, abort = _run(chains, d, False)
    if abort is None and keep:
        for cid, chain in chains.items():
            chain.commit(marks[cid])
    else:
        for cid, chain in chains.items():
            chain.revert(marks[cid])
    return BundleOutcome((result,) if result is not None else (), abort, tuple(deliveries))


def _run(
    chains: Mapping[int, AtomicChain], d: Deposit, call_target: bool
) -> tuple[LegResult | None, list[Delivery], Abort | None]:
    chain = chains[d.chain_id]
    try:
        tx = chain.system_transaction(SYSTEM_KEY, MAILBOX, receive_calldata(d, call_target))
        applied = chain.apply(tx)
    except TxRejected as exc:
        return None, [], Abort(0, f"deposit #{d.index}: {exc.message}", kind="invalid")
    computation = applied.computation
    tx_hash = bytes(tx.hash)
    if computation.is_error:
        output = revert_output(computation)
        result = LegResult(d.chain_id, tx_hash, 0, applied.gas_used, output)
        why = revert_reason(output, computation.error)
        return result, [], Abort(0, f"deposit #{d.index}: {why}", output, "invalid")
    logs = tuple(
        (bytes(log.address), tuple(t.to_bytes(32, "big") for t in log.topics), bytes(log.data))
        for log in applied.receipt.logs
    )
    result = LegResult(d.chain_id, tx_hash, 1, applied.gas_used, bytes(computation.output), logs)
    deliveries: list[Delivery] = []
    failure = route(chains, d.chain_id, applied, 1, 0, deliveries)
    return result, deliveries, failure


def origin_tx(item: Item, leg: int) -> bytes:
    """The rollup transaction a delivery of ``item`` came from: leg ``leg``'s, or, for a
    deposit (no legs), the system call that applied it."""
    if item.legs:
        return bytes(item.legs[leg].tx_hash)
    if item.outcome is not None and item.outcome.legs:
        return item.outcome.legs[0].tx_hash
    return b""

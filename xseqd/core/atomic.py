"""Atomic execution of a bundle across rollups: all legs or none (pure logic).

    snapshot every touched rollup -> apply the legs in order -> commit all, or revert all

A leg fails the bundle when it is invalid (nonce, funds, fees: ``TxRejected``) or when
its execution fails (revert, out of gas). On failure every touched rollup is returned to
its snapshot, so state roots, nonces, balances, receipts and logs are exactly as if the
bundle had never been sent and no fee is charged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from xseqd.abi import decode_revert_reason
from xseqd.chains.predeploys import L1_CHAIN_ID, MAILBOX, SYSTEM_KEY
from xseqd.core.checks import acts_as_system
from xseqd.core.messages import MAX_DEPTH, Message, deliver_calldata, sent_messages
from xseqd.errors import TxRejected


class AtomicChain(Protocol):
    """What atomic execution needs from a rollup (chains/rollup.py implements it)."""

    def snapshot(self) -> Any: ...
    def commit(self, mark: Any) -> None: ...
    def revert(self, mark: Any) -> None: ...
    def apply(self, tx: Any, sender: bytes | None = None) -> Any: ...
    def system_transaction(self, key: bytes, to: bytes, data: bytes) -> Any: ...


@dataclass(frozen=True)
class Leg:
    """One signed transaction of a bundle and the rollup it belongs to."""

    chain_id: int
    tx: Any
    tx_hash: bytes
    sender: bytes | None = None  # set only when it differs from the signature's signer


@dataclass(frozen=True)
class LegResult:
    """How a leg ran: status 1/0, gas used, return or revert bytes."""

    chain_id: int
    tx_hash: bytes
    status: int
    gas_used: int
    output: bytes
    logs: tuple[tuple[bytes, tuple[bytes, ...], bytes], ...] = ()  # (address, topics, data)


@dataclass(frozen=True)
class Abort:
    """Why a bundle was dropped: the failing leg, a reason, revert data if any, and what
    failed: ``invalid`` (the leg itself), ``reverted`` (its execution) or ``message``
    (a cross-rollup action it triggered; ``message`` then names it)."""

    leg: int
    reason: str
    data: bytes = b""
    kind: str = "reverted"
    message: Message | None = None


@dataclass(frozen=True)
class Delivery:
    """A cross-rollup action the sequencer executed: the message and its system tx."""

    message: Message
    tx_hash: bytes
    depth: int
    leg: int


@dataclass(frozen=True)
class BundleOutcome:
    """The result of running a bundle: per-leg results, and ``abort`` if it was dropped."""

    legs: tuple[LegResult, ...]
    abort: Abort | None
    deliveries: tuple[Delivery, ...] = ()

    @property
    def included(self) -> bool:
        return self.abort is None


def run_legs(
    chains: Mapping[int, AtomicChain], legs: list[Leg], abort_on_revert: bool = True
) -> tuple[list[LegResult], list[Delivery], Abort | None]:
    """Apply ``legs`` in order, each followed by the cross-rollup actions it triggers,
    stopping at the first failure."""
    results: list[LegResult] = []
    deliveries: list[Delivery] = []
    for i, leg in enumerate(legs):
        refused = acts_as_system(leg.tx, leg.sender)
        if refused is not None:
            return results, deliveries, Abort(i, refused, kind="invalid")
        try:
            applied = chains[leg.chain_id].apply(leg.tx, leg.sender)
        except TxRejected as exc:
            return results, deliveries, Abort(i, exc.message, kind="invalid")
        computation = applied.computation
        if computation.is_error:
            output = revert_output(computation)
            results.append(LegResult(leg.chain_id, leg.tx_hash, 0, applied.gas_used, output))
            if abort_on_revert:
                return (
                    results,
                    deliveries,
                    Abort(i, revert_reason(output, computation.error), output),
                )
            continue
        results.append(
            LegResult(
                leg.chain_id,
                leg.tx_hash,
                1,
                applied.gas_used,
                bytes(computation.output),
                tuple(
                    (
                        bytes(log.address),
                        tuple(t.to_bytes(32, "big") for t in log.topics),
                        bytes(log.data),
                    )
                    for log in applied.receipt.logs
                ),
            )
        )
        failure = route(chains, leg.chain_id, applied, 1, i, deliveries)
        if failure is not None:
            return results, deliveries, failure
    return results, deliveries, None


def route(
    chains: Mapping[int, AtomicChain],
    source: int,
    applied: Any,
    depth: int,
    leg: int,
    deliveries: list[Delivery],
) -> Abort | None:
    """Deliver every message ``applied`` sent, in order, depth first; the first failing
    action fails the whole unit. A message toward the L1 is a withdrawal: it is not
    delivered here (it stays in the outbox root, claimable on L1; core/withdrawals.py)."""
    for m in sent_messages(source, applied.receipt.logs):
        if m.destination == L1_CHAIN_ID:
            continue
        label = f"message to chain {m.destination} target 0x{m.target.hex()}"
        if m.destination not in chains:
            return Abort(leg, f"{label}: unknown destination chain", kind="message", message=m)
        if depth > MAX_DEPTH:
            return Abort(
                leg, f"{label}: message depth exceeds {MAX_DEPTH}", kind="message", message=m
            )
        dest = chains[m.destination]
        try:
            tx = dest.system_transaction(SYSTEM_KEY, MAILBOX, deliver_calldata(m))
            delivered = dest.apply(tx)
        except TxRejected as exc:
            return Abort(leg, f"{label}: {exc.message}", kind="message", message=m)
        if delivered.computation.is_error:
            err = delivered.computation.error
            output = revert_output(delivered.computation)
            return Abort(leg, f"{label}: {revert_reason(output, err)}", output, "message", m)
        deliveries.append(Delivery(m, bytes(tx.hash), depth, leg))
        nested = route(chains, m.destination, delivered, depth + 1, leg, deliveries)
        if nested is not None:
            return nested
    return None


def execute_bundle(
    chains: Mapping[int, AtomicChain],
    legs: list[Leg],
    keep: bool = True,
    abort_on_revert: bool = True,
) -> BundleOutcome:
    """Run ``legs`` atomically, with the actions they trigger on other rollups.

    ``abort_on_revert=False`` gives a plain transaction's semantics: a revert is included
    (status 0); only an invalid transaction or a failed cross-rollup action drops it.
    With ``keep=False`` (simulation) everything is undone.
    """
    marks = {cid: chain.snapshot() for cid, chain in chains.items()}
    results, deliveries, abort = run_legs(chains, legs, abort_on_revert)
    if abort is None and keep:
        for cid, chain in chains.items():
            chain.commit(marks[cid])
    else:
        for cid, chain in chains.items():
            chain.revert(marks[cid])
    return BundleOutcome(tuple(results), abort, tuple(deliveries))


def revert_output(computation: Any) -> bytes:
    """The revert bytes of a failed computation (empty for other failures)."""
    return bytes(computation.output) if type(computation.error).__name__ == "Revert" else b""


def revert_reason(output: bytes, error: Any) -> str:
    """A human reason: decoded Error(string)/Panic, a custom error selector, or the VM error."""
    if type(error).__name__ != "Revert":
        return f"execution failed: {type(error).__name__}"
    reason = decode_revert_reason(output)
    if reason is not None:
        return f"execution reverted: {reason}"
    if len(output) >= 4:
        return f"execution reverted: custom error 0x{output[:4].hex()}"
    return "execution reverted"

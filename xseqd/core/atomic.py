"""Atomic execution of a bundle across rollups: all legs or none (pure logic).

    snapshot every touched rollup -> apply the legs in order -> commit all, or revert all

A leg fails the bundle when it is invalid (nonce, funds, fees: ``TxRejected``) or when
its execution fails (revert, out of gas). On failure every touched rollup is returned to
its snapshot, so state roots, nonces, balances, receipts and logs are exactly as if the
bundle had never been sent and no fee is charged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from xseqd.core.revert import decode_revert_reason
from xseqd.errors import TxRejected


class AtomicChain(Protocol):
    """What atomic execution needs from a rollup (chains/rollup.py implements it)."""

    def snapshot(self) -> Any: ...
    def commit(self, mark: Any) -> None: ...
    def revert(self, mark: Any) -> None: ...
    def apply(self, tx: Any, sender: bytes | None = None) -> Any: ...


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
    """Why a bundle was dropped: the failing leg, a reason, and revert data if any."""

    leg: int
    reason: str
    data: bytes = b""


@dataclass(frozen=True)
class BundleOutcome:
    """The result of running a bundle: per-leg results, and ``abort`` if it was dropped."""

    legs: tuple[LegResult, ...]
    abort: Abort | None

    @property
    def included(self) -> bool:
        return self.abort is None


def run_legs(
    chains: dict[int, AtomicChain], legs: list[Leg]
) -> tuple[list[LegResult], Abort | None]:
    """Apply ``legs`` in order, stopping at the first failing one."""
    results: list[LegResult] = []
    for i, leg in enumerate(legs):
        try:
            applied = chains[leg.chain_id].apply(leg.tx)
        except TxRejected as exc:
            return results, Abort(i, exc.message)
        computation = applied.computation
        if computation.is_error:
            output = (
                bytes(computation.output) if type(computation.error).__name__ == "Revert" else b""
            )
            results.append(LegResult(leg.chain_id, leg.tx_hash, 0, applied.gas_used, output))
            return results, Abort(i, revert_reason(output, computation.error), output)
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
    return results, None


def execute_bundle(
    chains: dict[int, AtomicChain], legs: list[Leg], keep: bool = True
) -> BundleOutcome:
    """Run ``legs`` atomically. With ``keep=False`` (simulation) everything is undone."""
    touched = list(dict.fromkeys(leg.chain_id for leg in legs))
    marks = {cid: chains[cid].snapshot() for cid in touched}
    results, abort = run_legs(chains, legs)
    if abort is None and keep:
        for cid in touched:
            chains[cid].commit(marks[cid])
    else:
        for cid in reversed(touched):
            chains[cid].revert(marks[cid])
    return BundleOutcome(tuple(results), abort)


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

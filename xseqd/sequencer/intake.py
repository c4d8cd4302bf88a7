"""Intake: what is checked before anything is ordered, and the errors it raises.

Admission of one transaction against the open block (geth's wording, core/checks.py),
the shape of a bundle, and the sequencer's rejection errors with their JSON-RPC codes.
Nothing here changes state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eth.abc import SignedTransactionAPI
from eth_typing import Address

from xseqd.chains.rollup import Rollup
from xseqd.core.atomic import Abort, Leg
from xseqd.core.checks import AccountFacts, Admission, BlockFacts, TxFacts, check_admission
from xseqd.errors import XseqError

MAX_BUNDLE_LEGS = 16


class MessageFailed(XseqError):
    """Raised when a plain transaction's cross-rollup action failed: the transaction is
    not included anywhere. ``data`` names the action, its target and the revert data."""

    code = -38010

    def __init__(self, abort: Abort, chain_id: int) -> None:
        m = abort.message
        data: dict[str, object] = {"revert": "0x" + abort.data.hex()}
        if m is not None:
            data.update(
                messageId="0x" + m.id.hex(),
                source=m.source,
                destination=m.destination,
                target="0x" + m.target.hex(),
            )
        super().__init__(f"cross-rollup action failed: {abort.reason}", data)


class BundleRejected(XseqError):
    """Raised when a bundle is structurally unacceptable; nothing is ordered.

    Codes: -38001 empty or too large, -38002 duplicate transaction, -38003 unknown chain,
    -38004 already known, -38005 slot bounds. See docs/bundles.md.
    """

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def check_bundle_shape(legs: list[Leg], rollups: Mapping[int, Any]) -> None:
    if not legs:
        raise BundleRejected(-38001, "bundle is empty")
    if len(legs) > MAX_BUNDLE_LEGS:
        raise BundleRejected(-38001, f"bundle has {len(legs)} legs, at most {MAX_BUNDLE_LEGS}")
    seen: set[bytes] = set()
    for i, leg in enumerate(legs):
        if leg.chain_id not in rollups:
            raise BundleRejected(-38003, f"leg {i}: unknown chain id {leg.chain_id}")
        if leg.tx_hash in seen:
            raise BundleRejected(-38002, f"leg {i}: duplicate transaction {leg.tx_hash.hex()}")
        seen.add(leg.tx_hash)


def check_slot_bounds(min_slot: int | None, max_slot: int | None, next_slot: int) -> None:
    if max_slot is not None and max_slot < next_slot:
        raise BundleRejected(-38005, f"maxSlot {max_slot} has passed (next slot {next_slot})")
    if min_slot is not None and max_slot is not None and min_slot > max_slot:
        raise BundleRejected(-38005, "minSlot is after maxSlot")


def check_not_known(known_txs: list[bytes], existing: Any) -> None:
    """Refuse a bundle holding a transaction already known (included, open, queued or held
    by another bundle), or a bundle already ordered."""
    if known_txs:
        raise BundleRejected(-38004, f"transaction {known_txs[0].hex()} is already known")
    if existing is not None and existing.status in ("included", "ordered"):
        raise BundleRejected(-38004, "bundle is already known")


def admit(rollup: Rollup, tx: SignedTransactionAPI, sender: bytes) -> Admission:
    """Whether ``tx`` runs now, queues for a nonce gap, or needs the next slot (the
    rollup's block must be open)."""
    ob = rollup.open
    assert ob is not None, "admission needs the open block"
    state = ob.workspace.state
    base_fee = int(getattr(ob.header, "base_fee_per_gas", 0) or 0)
    account = AccountFacts(state.get_nonce(Address(sender)), state.get_balance(Address(sender)))
    block = BlockFacts(rollup.chain_id, base_fee, int(ob.header.gas_limit), ob.gas_left)
    return check_admission(tx_facts(tx), account, block)


def fits(rollups: Mapping[int, Rollup], legs: tuple[Leg, ...]) -> bool:
    """Whether the legs' gas fits in what the open blocks have left."""
    need: dict[int, int] = {}
    for leg in legs:
        need[leg.chain_id] = need.get(leg.chain_id, 0) + int(leg.tx.gas)
    for cid, gas in need.items():
        ob = rollups[cid].open
        if ob is not None and gas > ob.gas_left:
            return False
    return True


def tx_facts(tx: SignedTransactionAPI) -> TxFacts:
    """The admission-relevant fields of a signed transaction."""
    typed = getattr(tx, "type_id", None) not in (None, 1)
    max_fee = int(tx.max_fee_per_gas) if typed else int(tx.gas_price)
    prio = int(tx.max_priority_fee_per_gas) if typed else int(tx.gas_price)
    blob_cost = 0
    hashes = tx.blob_versioned_hashes if tx.type_id == 3 else None
    if hashes:
        blob_cost = len(hashes) * 131072 * int(tx.max_fee_per_blob_gas)
    tx_chain = getattr(tx, "chain_id", None)
    return TxFacts(
        chain_id=int(tx_chain) if tx_chain is not None else None,
        nonce=int(tx.nonce),
        gas=int(tx.gas),
        value=int(tx.value),
        max_fee_per_gas=max_fee,
        max_priority_fee_per_gas=prio,
        intrinsic_gas=int(tx.intrinsic_gas),
        blob_cost=blob_cost,
    )

"""The slot transition: the one place that applies an ordered item to the rollups and
opens and seals a slot, deriving what the slot commits to (block hashes, state roots,
mailbox roots).

Everyone who executes the order calls these functions and nothing else:

- the live sequencer (``sequencer/sequencer.py``: ``apply_item`` for every submission,
  ``keep=False`` for ``xseq_callBundle``; ``open_slot`` / ``seal_slot``; ``rerun_slot``
  to re-run the open slot under another timestamp for ``evm_mine``),
- restart (``sequencer/recovery.py``: ``reapply`` for every logged item),
- the independent verifier (``verify/verifier.py``: ``replay_slot`` on items decoded from
  L1 batch data, then ``committed_states``),
- the L1 poster (``committed_states`` of each sealed slot) and test replays.

Apply rules per kind: TRANSACTION runs with normal EVM semantics (a revert is included
with status 0; an invalid transaction or a failed cross-rollup action drops it);
BUNDLE runs atomically (any failing leg or action drops every leg); DEVCHANGE sets one
field of one account (anvil_setBalance & co.); ENCRYPTED opens its payload
(core/encrypted.py: a sealed commit changes nothing; a reveal's legs must be the
plaintext of its ciphertext under valid shares) and runs the legs atomically.
DEPOSIT applies an L1 Portal deposit as a
system call that always credits its value (core/deposits.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import rlp
from eth_typing import Address

from xseqd.chains.predeploys import L1_CHAIN_ID, MAILBOX
from xseqd.chains.records import BlockRecord
from xseqd.chains.rollup import Rollup
from xseqd.chains.senders import prefill_sender
from xseqd.core.atomic import Abort, BundleOutcome, execute_bundle
from xseqd.core.commitment import RollupState
from xseqd.core.deposits import apply_deposit
from xseqd.core.devchange import DevChange
from xseqd.core.encrypted import OpeningFault, open_payload
from xseqd.core.items import Entry, Item, ItemKind
from xseqd.core.messages import root_slot

Rollups = Mapping[int, Rollup]


@dataclass(frozen=True)
class Slot:
    """A sealed slot: number, timestamp, the block it sealed on each rollup, its ordered
    items and the order root committing to them."""

    number: int
    timestamp: int
    blocks: Mapping[int, BlockRecord]
    items: tuple[Item, ...] = ()
    order_root: bytes = b""
    epoch: int = 0  # the settlement epoch its receipts were given in


class TransitionFault(Exception):
    """Raised when ordered items do not re-derive: ``kind`` names the fault for the
    verifier ("execution", "data"), ``reason`` says what happened."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind, self.reason = kind, reason


def open_slot(rollups: Rollups, timestamp: int) -> None:
    """Open the slot's block on every rollup (those already open are kept)."""
    for rollup in rollups.values():
        rollup.ensure_open(timestamp)


def seal_slot(rollups: Rollups) -> dict[int, BlockRecord]:
    """Seal exactly one block on every rollup (empty where nothing happened)."""
    return {cid: rollup.seal() for cid, rollup in rollups.items()}


def apply_item(
    rollups: Rollups, kind: ItemKind, legs: Iterable[Any], payload: bytes, keep: bool = True
) -> BundleOutcome:
    """Apply one item to the open slot (or only simulate it, ``keep=False``)."""
    chains = rollups
    if kind is ItemKind.TRANSACTION:
        return execute_bundle(chains, list(legs), keep=keep, abort_on_revert=False)
    if kind is ItemKind.BUNDLE:
        return execute_bundle(chains, list(legs), keep=keep)
    if kind is ItemKind.DEVCHANGE:
        change = DevChange.from_canonical(payload)
        if change.chain_id not in rollups:
            return BundleOutcome(
                (), Abort(0, f"unknown chain id {change.chain_id}", kind="invalid")
            )
        if keep:
            rollups[change.chain_id].apply_change(change.apply)
        return BundleOutcome((), None)
    if kind is ItemKind.DEPOSIT:
        return apply_deposit(chains, payload, keep)
    if kind is ItemKind.ENCRYPTED:
        return _apply_encrypted(rollups, list(legs), payload, keep)
    raise TransitionFault("data", f"no apply rule for item kind {kind!r}")


def _apply_encrypted(
    rollups: Rollups, legs: list[Any], payload: bytes, keep: bool
) -> BundleOutcome:
    """Open an ENCRYPTED item in the open slot; its legs must be exactly the decrypted
    transactions (none when it aborts, or when the plaintext holds a leg no rollup can
    decode), then they run as a bundle."""
    slot = next(iter(rollups.values())).head.number + 1
    try:
        opened = open_payload(payload, slot)
    except OpeningFault as exc:
        raise TransitionFault("execution", f"encrypted item: {exc}") from None
    raws = [bytes(leg.tx.encode()) for leg in legs]
    if opened.raws is None or (not raws and not _all_decode(rollups, opened.raws)):
        if raws:
            raise TransitionFault("execution", "legs on an encrypted item that did not open")
        reason = opened.reason or "a decrypted leg is not a transaction for a known rollup"
        return BundleOutcome((), Abort(0, reason, kind=opened.kind))
    if raws != list(opened.raws):
        raise TransitionFault("execution", "revealed legs are not the ciphertext's plaintext")
    return execute_bundle(rollups, legs, keep=keep)


def _all_decode(rollups: Rollups, raws: Iterable[bytes]) -> bool:
    """Whether every raw transaction names a known rollup (its chain id) and decodes."""
    for raw in raws:
        chain_id = leg_chain_id(raw)
        if chain_id is None or chain_id not in rollups:
            return False
        try:
            decoder(rollups)(chain_id, raw)
        except TransitionFault:
            return False
    return True


def leg_chain_id(raw: bytes) -> int | None:
    """The chain id a signed transaction commits to (typed: field 0; legacy: EIP-155
    v), or None."""
    try:
        if raw and raw[0] < 0x7F:
            return int.from_bytes(rlp.decode(raw[1:])[0], "big")
        v = int.from_bytes(rlp.decode(raw)[6], "big")
    except Exception:
        return None
    return None if v in (27, 28) else (v - 35) // 2


def reapply(rollups: Rollups, item: Item) -> BundleOutcome:
    """Re-execute an ordered item and check it ends as it was ordered: an included item
    applies again; an aborted one aborts again (and changes nothing)."""
    included = item.status == "included"
    outcome = apply_item(rollups, item.kind, item.legs, item.payload, keep=included)
    if outcome.included != included:
        said = "included" if included else "aborted"
        why = f": {outcome.abort.reason}" if outcome.abort is not None else ""
        raise TransitionFault(
            "execution", f"item 0x{item.item_hash.hex()} was ordered as {said}{why}"
        )
    return outcome


def replay_slot(rollups: Rollups, timestamp: int, items: Iterable[Item]) -> dict[int, BlockRecord]:
    """Open, re-apply ``items`` in order, seal: the blocks an honest sequencer sealed."""
    open_slot(rollups, timestamp)
    for item in items:
        reapply(rollups, item)
    return seal_slot(rollups)


def rerun_slot(rollups: Rollups, timestamp: int, items: Iterable[Item]) -> None:
    """Re-open the slot's blocks at ``timestamp`` and re-apply its ``items`` in order
    (``TransitionFault`` if one would end otherwise than it was ordered)."""
    for rollup in rollups.values():
        rollup.discard_open()
    open_slot(rollups, timestamp)
    for item in items:
        item.outcome = reapply(rollups, item)


def decoder(rollups: Rollups) -> Callable[[int, bytes], Any]:
    """Decode a raw transaction for the next block of its rollup (``TransitionFault`` for
    an unknown rollup or undecodable bytes)."""

    def decode_tx(chain_id: int, raw: bytes) -> Any:
        rollup = rollups.get(chain_id)
        if rollup is None:
            raise TransitionFault("data", f"a leg names unknown chain {chain_id}")
        named = leg_chain_id(raw)
        if named is not None and named != chain_id:
            raise TransitionFault("data", f"a transaction signed for chain {named} on {chain_id}")
        try:
            builder = rollup.vm_class_for(rollup.head.number + 1).get_transaction_builder()
            tx = builder.decode(raw)
        except Exception as exc:
            raise TransitionFault("data", f"undecodable transaction on {chain_id}: {exc}") from exc
        prefill_sender(tx)  # the address py-evm would recover, in one call (chains/senders.py)
        return tx

    return decode_tx


def items_of(rollups: Rollups, entries: Iterable[Entry]) -> list[Item]:
    """Items from their committed form (raises ``TransitionFault`` on bad legs)."""
    return [Item.from_entry(entry, decoder(rollups)) for entry in entries]


def committed_states(rollups: Rollups, blocks: Mapping[int, BlockRecord]) -> list[RollupState]:
    """What each rollup commits for a slot, in chain-id order: its block hash, state root
    and mailbox roots toward/from every other rollup and the L1 (chain id 900: withdrawals
    out, deposits in), in chain-id order."""
    states = []
    for cid in sorted(blocks):
        header = blocks[cid].block.header
        state = rollups[cid].state_at(header)
        others = tuple(sorted([c for c in rollups if c != cid] + [L1_CHAIN_ID]))
        outbox = tuple(_root(state, 0, o) for o in others)
        inbox = tuple(_root(state, 1, o) for o in others)
        states.append(
            RollupState(cid, blocks[cid].hash, bytes(header.state_root), others, outbox, inbox)
        )
    return states


def _root(state: Any, mapping: int, other: int) -> bytes:
    value: int = state.get_storage(Address(MAILBOX), root_slot(mapping, other))
    return value.to_bytes(32, "big")

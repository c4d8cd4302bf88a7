"""The sequencer's side of the L1 bridge: including L1 deposits in the order (fed by the
deposit watcher, l1/portal.py), and building withdrawal proofs from sealed slots.

A deposit is ordered like any submission (a receipt, journaled before anyone hears of
it) and applied through core/transition.py, so restart and the verifier re-apply it the
same way.
"""

from __future__ import annotations

import logging

from eth_typing import Address

from xseqd.chains.predeploys import L1_CHAIN_ID, MAILBOX
from xseqd.core import transition
from xseqd.core.deposits import Deposit
from xseqd.core.items import Item, ItemKind
from xseqd.core.messages import root_slot
from xseqd.core.transition import committed_states
from xseqd.core.withdrawals import WithdrawalProof, withdrawal_proofs
from xseqd.errors import InvalidParams, ResourceNotFound
from xseqd.sequencer.sequencer import Sequencer

log = logging.getLogger("xseqd.deposits")

INBOX_COUNT = 3  # Mailbox storage: outboxRoot, inboxRoot, outboxCount, inboxCount
# deposit payload bytes per slot (4 of the Portal's largest, MAX_DEPOSIT_DATA = 32 KiB):
# a flood of big deposits in one L1 block is spread over several slots, so that every
# slot's batch stays small enough for one L1 transaction (l1/poster.py BATCH_MAX_BYTES)
SLOT_DEPOSIT_BYTES = 132 * 1024
# gas a deposit's system call needs so that its call to the target gets the whole
# Mailbox.DEPOSIT_GAS (1,000,000): with less, the call would revert and the value go to the
# depositor only because the block was nearly full. A deposit waits for a block with this
# much gas left (any empty block takes it).
DEPOSIT_CALL_GAS = 1_000_000
DEPOSIT_OVERHEAD_GAS = 250_000


def deposit_gas(d: Deposit) -> int:
    """Gas the open block must have left to apply ``d`` with its full call gas."""
    return DEPOSIT_CALL_GAS * 64 // 63 + DEPOSIT_OVERHEAD_GAS + 64 * len(d.data)


def applied_deposits(seq: Sequencer, chain_id: int) -> int:
    """How many L1 deposits rollup ``chain_id`` has applied, open slot included
    (``Mailbox.inboxCount[900]``): the nonce of the next one it must apply."""
    rollup = seq.rollups.get(chain_id)
    if rollup is None:
        return 0
    ob = rollup.open
    state = ob.workspace.state if ob is not None else rollup.state_at(rollup.head.block.header)
    value: int = state.get_storage(Address(MAILBOX), root_slot(INBOX_COUNT, L1_CHAIN_ID))
    return value


def include_deposits(seq: Sequencer, deposits: list[Deposit]) -> int:
    """Order and apply ``deposits`` (in the given order) in the open slot; returns how
    many were included. Stops at one that does not apply (which an honest Portal never
    produces), once the open slot holds ``SLOT_DEPOSIT_BYTES`` of deposits, or at one
    its rollup's open block has not ``deposit_gas`` left for, leaving the rest for the
    next round (the node seals after each round)."""
    done = 0
    used = sum(len(i.payload) for i in seq.book.open_items if i.kind is ItemKind.DEPOSIT)
    for d in deposits:
        if d.nonce != applied_deposits(seq, d.chain_id):
            break
        size = len(d.encode())
        if used and used + size > SLOT_DEPOSIT_BYTES:  # the rest go to the next slot
            break
        rollup = seq.rollups.get(d.chain_id)
        ob = rollup.open if rollup is not None and seq.has_open_slot else None
        if ob is not None and ob.txs and ob.gas_left < deposit_gas(d):  # next slot
            break
        used += size
        seq.open_slot()
        item = Item(ItemKind.DEPOSIT, (), d.encode(), "included")
        outcome = transition.apply_item(seq.rollups, item.kind, (), item.payload)
        if outcome.abort is not None:
            log.warning("deposit #%d not applied: %s", d.index, outcome.abort.reason)
            break
        item.outcome = outcome
        seq.order(item)
        done += 1
    return done


def withdrawal_proofs_for(seq: Sequencer, tx_hash: bytes) -> list[WithdrawalProof]:
    """Proofs of the withdrawals rollup transaction ``tx_hash`` made (sealed slots only).
    ``ResourceNotFound`` for an unknown or not yet sealed transaction, ``InvalidParams``
    for one that made no withdrawal."""
    for chain_id, rollup in sorted(seq.rollups.items()):
        record = rollup.txs.get(tx_hash)
        if record is None:
            continue
        slot = next((s for s in reversed(seq.slots) if s.number == record.block_number), None)
        if slot is None:
            raise ResourceNotFound(f"transaction 0x{tx_hash.hex()} is not in a sealed slot")
        parent = rollup.block(slot.number - 1)
        assert parent is not None
        state = rollup.state_at(parent.block.header)
        before: int = state.get_storage(Address(MAILBOX), root_slot(0, L1_CHAIN_ID))
        states = committed_states(seq.rollups, slot.blocks)
        proofs = withdrawal_proofs(
            chain_id,
            slot.blocks[chain_id],
            tx_hash,
            (slot.number, slot.timestamp, slot.order_root),
            states,
            before.to_bytes(32, "big"),
        )
        if not proofs:
            raise InvalidParams(f"transaction 0x{tx_hash.hex()} made no withdrawal to the L1")
        return proofs
    raise ResourceNotFound(f"transaction 0x{tx_hash.hex()} not found on any rollup")

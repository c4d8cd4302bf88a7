"""DEV ONLY: the misbehaviours the L1 poster can inject (``--fault KIND:N``), so that
``xseqd verify`` and challenges can be seen to catch a cheating sequencer: ``inject_fault``
edits the slots of a batch as that sequencer would post them. The deposit ones
(``skip-deposit:N`` / ``invent-deposit:N``) leave out an L1 deposit or make one up, with a
commitment that matches. ``--fault censor-deposits`` (stop including deposits, keep posting)
is not a change to posted data but the deposit watcher's ``censor`` switch (l1/portal.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from eth_hash.auto import keccak

from xseqd.chains.predeploys import L1_CHAIN_ID
from xseqd.core.commitment import PostedSlot, RollupState, posted_commitment
from xseqd.core.deposits import Deposit
from xseqd.core.items import Entry, ItemKind
from xseqd.core.transition import Slot


def skip_deposit(slot: PostedSlot) -> PostedSlot:
    """The slot's first deposit left out."""
    items = list(slot.items)
    for i, entry in enumerate(items):
        if entry.kind is ItemKind.DEPOSIT:
            del items[i]
            break
    return replace(slot, items=tuple(items))


def invent_deposit(slot: PostedSlot) -> PostedSlot:
    """A deposit of 1,000 ETH the Portal never received, after the slot's items."""
    last = [Deposit.decode(e.payload) for e in slot.items if e.kind is ItemKind.DEPOSIT]
    index = last[-1].index + 1 if last else 10**6
    made_up = Deposit(
        index=index,
        chain_id=901,
        nonce=last[-1].nonce + 1 if last else 0,
        sender=b"\x11" * 20,
        target=b"\x11" * 20,
        value=1000 * 10**18,
        data=b"",
        l1_tx_hash=keccak(b"invented" + slot.number.to_bytes(8, "big")),
        log_index=0,
        l1_block=1,
    )
    entry = Entry(ItemKind.DEPOSIT, True, (), made_up.encode())
    return replace(slot, items=slot.items + (entry,))


DEPOSIT_FAULTS: dict[str, Callable[[PostedSlot], PostedSlot]] = {
    "skip-deposit": skip_deposit,
    "invent-deposit": invent_deposit,
}


def inject_fault(
    fault: str,
    slots: list[Slot],
    posted: list[PostedSlot],
    states: list[list[RollupState]],
    commitments: list[bytes],
) -> None:
    """DEV ONLY (--fault KIND:N): the poster misbehaves on slot N so that verify and challenges
    can be seen to work. commitment/data: data and commitment disagree; mailbox: the
    committed roots do not pair up; state: a wrong state root, consistently committed;
    order: the items posted in another order than the receipts promised; flip: the
    first item posted as not included; omit-rollup / skip-slot: batch data that
    leaves a rollup or the slot out (Settlement.post refuses both); skip-deposit /
    invent-deposit: the slot's first deposit left out / a deposit the Portal never
    received added (l1/faults.py)."""
    kind, _, target = fault.partition(":")
    for i, s in enumerate(slots):
        if not target or s.number != int(target):
            continue
        if kind == "commitment":
            commitments[i] = _flip(commitments[i])
        elif kind == "data" and posted[i].items:
            posted[i] = PostedSlot(s.number, s.timestamp, posted[i].items[:-1])
        elif kind in ("mailbox", "state"):
            r = states[i][0]
            if kind == "mailbox":  # toward the first other rollup (not the L1)
                k = next(j for j, c in enumerate(r.counterparties) if c != L1_CHAIN_ID)
                roots = list(r.outbox_roots)
                roots[k] = _flip(roots[k])
                r = replace(r, outbox_roots=tuple(roots))
            else:
                r = replace(r, state_root=_flip(r.state_root))
            states[i][0] = r
            commitments[i] = posted_commitment(posted[i], states[i])
        elif kind == "order":
            posted[i] = PostedSlot(s.number, s.timestamp, tuple(reversed(posted[i].items)))
            commitments[i] = posted_commitment(posted[i], states[i])
        elif kind == "flip" and posted[i].items:
            first = replace(posted[i].items[0], included=not posted[i].items[0].included)
            posted[i] = replace(posted[i], items=(first,) + posted[i].items[1:])
            commitments[i] = posted_commitment(posted[i], states[i])
        elif kind == "omit-rollup":
            states[i] = states[i][1:]
            commitments[i] = posted_commitment(posted[i], states[i])
        elif kind == "skip-slot":
            posted[i] = replace(posted[i], number=s.number + 1)
        elif kind in DEPOSIT_FAULTS:
            posted[i] = DEPOSIT_FAULTS[kind](posted[i])
            commitments[i] = posted_commitment(posted[i], states[i])


def _flip(value: bytes) -> bytes:
    return bytes([value[0] ^ 1]) + value[1:]

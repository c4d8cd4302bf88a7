"""DEV ONLY: the deposit misbehaviours the poster can inject (``--fault skip-deposit:N`` /
``invent-deposit:N``), so that the verifier and challenges can be seen to catch a
sequencer that leaves out an L1 deposit or makes one up. Each returns the slot as the
cheating sequencer posts it (with a commitment that matches it). The third deposit
misbehaviour, ``--fault censor-deposits`` (stop including deposits, keep posting), is not
a change to posted data but the deposit watcher's ``censor`` switch (l1/portal.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from eth_hash.auto import keccak

from xseqd.core.commitment import PostedSlot
from xseqd.core.deposits import Deposit
from xseqd.core.items import Entry, ItemKind


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

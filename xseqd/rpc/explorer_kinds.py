"""How the explorer's read-only methods (rpc/explorer.py) show the item kinds that are not
plain transactions or bundles: L1 deposits (``DEPOSIT``) and encrypted items
(``ENCRYPTED``, a sealed commit, later its reveal).

    deposit    ``deposit`` (the L1 log: l1TxHash, logIndex, sender, target, value, ...),
               ``txHash`` (the rollup's system call) and, for a Portal ERC-20 deposit,
               ``deposit.token`` {address, from, to, amount} decoded from its relay call
    encrypted  ``encrypted`` {phase: commit | reveal, ciphertextHash, ciphertextSize,
               maxSlot, commit {slot, index}, reveal {slot, index, status} | null}

A commit carries only the ciphertext: no legs, no abort (its "runs when revealed" rule is
no abort), and nothing here reads the content before the reveal is ordered (the sequencer
itself only decrypts to order the reveal). Also: the deposit a rollup system transaction
applied, and the deposit items an L1 transaction hash names (for ``xseq_search``).
"""

from __future__ import annotations

from typing import Any

from eth_abi import decode

from xseqd.abi import selector
from xseqd.chains.predeploys import TOKEN_BRIDGE
from xseqd.core.deposits import Deposit, origin_tx
from xseqd.core.encrypted import Envelope, split_payload
from xseqd.core.items import Item, ItemKind
from xseqd.rpc import format as fmt
from xseqd.rpc.context import Services
from xseqd.sequencer.encrypted import is_commit, is_reveal

RELAY_SELECTOR = selector("TokenBridge", "relayERC20")
L1_TX_WORD = slice(7 * 32, 8 * 32)  # l1TxHash in a deposit payload's head (core/deposits.py)


# -- deposits -------------------------------------------------------------------------------


def token_of(d: Deposit) -> dict[str, Any] | None:
    """The ERC-20 a Portal ``depositERC20`` moves: only the Portal can emit a deposit whose
    sender is the TokenBridge, so a relay call from anyone else is shown as plain data."""
    if d.sender != TOKEN_BRIDGE or d.target != TOKEN_BRIDGE or d.data[:4] != RELAY_SELECTOR:
        return None
    try:
        token, sender, to, amount = decode(["address", "address", "address", "uint256"], d.data[4:])
    except Exception:
        return None
    return {"address": str(token), "from": str(sender), "to": str(to), "amount": hex(amount)}


def deposit_json(item: Item, doc: dict[str, Any]) -> None:
    """Add ``deposit.token`` (when it is one) to ``doc`` (item_json already has the rest)."""
    if item.kind is not ItemKind.DEPOSIT or "deposit" not in doc:
        return
    doc["deposit"]["token"] = token_of(Deposit.decode(item.payload))


def deposit_of_tx(slot_items: tuple[Item, ...], tx_hash: bytes) -> Any:
    """The deposit whose system call is ``tx_hash`` among a slot's items (None if none)."""
    for item in slot_items:
        if item.kind is ItemKind.DEPOSIT and item.outcome is not None:
            if origin_tx(item, 0) == tx_hash:
                d = Deposit.decode(item.payload)
                return {
                    "itemHash": fmt.h(item.item_hash),
                    "l1TxHash": fmt.h(d.l1_tx_hash),
                    "logIndex": d.log_index,
                    "sender": fmt.h(d.sender),
                    "target": fmt.h(d.target),
                    "value": fmt.q(d.value),
                    "token": token_of(d),
                }
    return None


def deposits_by_l1_tx(services: Services, l1_tx_hash: bytes) -> list[Item]:
    """Deposit items that came from L1 transaction ``l1_tx_hash``, by log index (a scan of
    the remembered items comparing one payload word: no decoding)."""
    found = [
        item
        for item in services.sequencer.book.items.values()
        if item.kind is ItemKind.DEPOSIT and item.payload[L1_TX_WORD] == l1_tx_hash
    ]
    return sorted(found, key=lambda i: Deposit.decode(i.payload).log_index)


# -- encrypted items ------------------------------------------------------------------------


def encrypted_json(services: Services, item: Item, doc: dict[str, Any]) -> None:
    """Add ``encrypted`` to ``doc`` (an ``item_json`` of ``item``, a commit or a reveal)."""
    if item.kind is not ItemKind.ENCRYPTED:
        return
    envelope = split_payload(item.payload)[0]
    try:
        max_slot: int | None = Envelope.decode(envelope).max_slot or None
    except ValueError:
        max_slot = None
    info: dict[str, Any] = {
        "phase": "reveal" if is_reveal(item) else "commit",
        "ciphertextHash": fmt.h(item.item_hash),
        "ciphertextSize": len(envelope),
        "maxSlot": None if max_slot is None else fmt.q(max_slot),
        "commit": None,
        "reveal": None,
    }
    latest = services.sequencer.book.items.get(item.item_hash)
    if is_commit(item):
        doc["legs"] = []  # a commit has none; say so whatever else the outcome holds
        doc.pop("abort", None)
        doc.pop("messages", None)
        info["commit"] = _place(item)
        if latest is not None and is_reveal(latest):
            info["reveal"] = {**_place(latest), "status": latest.status}
    else:
        info["reveal"] = {**_place(item), "status": item.status}
        desk = services.encrypted
        commit = None if desk is None else desk.commit_of(item.item_hash)
        if commit is not None:
            info["commit"] = _place(commit)
    doc["encrypted"] = info


def _place(item: Item) -> dict[str, Any]:
    return {
        "slot": None if item.slot is None else fmt.q(item.slot),
        "index": None if item.index is None else fmt.q(item.index),
    }


def kind_json(services: Services, item: Item, doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with what its kind adds (deposit, encrypted); other kinds unchanged."""
    deposit_json(item, doc)
    encrypted_json(services, item, doc)
    return doc

"""Encrypted submission over JSON-RPC: ``xseq_encryptionKey``, ``xseq_sendEncryptedBundle``
and how ``xseq_getBundle`` shows an encrypted item (sequencer/encrypted.py does the work).

An encrypted item is known by its ciphertext's hash. Until it is revealed it is
``sealed``, with no legs; its slot, index and receipt are those of its commit (what the
sender was given). Once revealed, status, legs and abort are those of the reveal, which
``executedSlot`` / ``executedIndex`` place.
"""

from __future__ import annotations

from typing import Any

from xseqd.core.items import Item
from xseqd.core.threshold import SCHEME
from xseqd.rpc import format as fmt
from xseqd.rpc import params as p
from xseqd.rpc.context import Services
from xseqd.rpc.envelope import Registry
from xseqd.rpc.eth import check_backlog
from xseqd.sequencer.encrypted import EncryptionOff, is_commit

encrypted: Registry[Any] = Registry({})


def _desk(services: Services) -> Any:
    desk = services.encrypted
    if desk is None or desk.keyset is None:
        raise EncryptionOff()
    return desk


@encrypted.method("xseq_encryptionKey")
def encryption_key(c: Any, params: list[Any]) -> dict[str, Any]:
    desk = _desk(c.services)
    keyset = desk.keyset
    decryptor = c.services.decryptor
    return {
        "scheme": SCHEME,
        "publicKey": fmt.h(keyset.public_key),
        "keysetId": fmt.h(keyset.id),
        "threshold": keyset.threshold,
        "n": keyset.n,
        "commitments": [fmt.h(x) for x in keyset.commitments],
        "keypers": [
            {"index": i + 1, "url": url, "verificationKey": fmt.h(keyset.verification_key(i + 1))}
            for i, url in enumerate(c.services.keyper_urls)
        ],
        "epoch": c.services.sequencer.book.epoch,
        "domain": c.services.sequencer.book.domain.to_json(),
        "status": None if decryptor is None else decryptor.status(),
    }


@encrypted.method("xseq_sendEncryptedBundle")
def send_encrypted_bundle(c: Any, params: list[Any]) -> dict[str, Any]:
    (obj,) = p.positional(params, 1, 1)
    if not isinstance(obj, dict) or "ciphertext" not in obj:
        raise p.InvalidParams("expected {ciphertext, maxSlot?}")
    desk = _desk(c.services)
    check_backlog(c.services)
    envelope = p.data(obj["ciphertext"], "ciphertext")
    max_slot = p.quantity(obj["maxSlot"], "maxSlot") if obj.get("maxSlot") is not None else None
    item = desk.submit(envelope, max_slot)
    c.services.driver.submitted()
    return {
        "bundleHash": fmt.h(item.item_hash),
        "status": item.status,
        "slot": fmt.q(item.slot),
        "index": fmt.q(item.index),
        "receipt": None if item.receipt is None else item.receipt.to_json(),
    }


def encrypted_json(services: Services, latest: Item, out: dict[str, Any]) -> dict[str, Any]:
    """``xseq_getBundle``'s answer ``out`` for an encrypted item, placed at its commit."""
    if is_commit(latest):
        out["status"] = "sealed"
        out.pop("abort", None)  # the commit's rule ("runs when revealed") is no abort
        return out
    desk = services.encrypted
    commit = None if desk is None else desk.commit_of(latest.item_hash)
    out["executedSlot"], out["executedIndex"] = out["slot"], out["index"]
    if commit is not None:
        out["slot"], out["index"] = fmt.q(commit.slot), fmt.q(commit.index)
        out["receipt"] = None if commit.receipt is None else commit.receipt.to_json()
    return out

"""Per-keyper authentication of the sequencer's requests (pure): what the sequencer signs
for each ``keyper_release`` / ``keyper_refuse`` it sends, so that a keyper acts only on a
request the sequencer made for THAT keyper.

The seal and the binding a keyper releases under are published (``keyper_releases``)
and the ciphertexts and entry hashes are in the L1 batch data, so without this anyone
could replay a published request to a keyper that has not released yet — binding it to
an old binding (no reveal possible any more) or making it refuse (a void the sequencer
never chose). The signature is over

    keccak("xseqd/ask/v1" || domain separator || keyper index || keccak(method)
           || the release context (or, without a binding, the seal digest of N)
           || keccak(each item's index and entry hash))

and goes in the request's ``auth`` field, which keypers never store nor publish.
Replaying a request the sequencer did send to the same keyper is harmless: that keyper
is already bound (or has refused) exactly that way.
"""

from __future__ import annotations

from typing import Any

from eth_hash.auto import keccak

from xseqd.core.encrypted import digest_signer, release_context, seal_digest, span_root
from xseqd.core.order import ReceiptDomain

TAG = b"xseqd/ask/v1"


def ask_digest(request: dict[str, Any], index: int, method: str) -> bytes:
    """The digest the sequencer signs for sending ``request`` to keyper ``index`` as
    ``method`` (raises ``ValueError`` on a malformed request)."""
    try:
        domain = ReceiptDomain.from_json(request["domain"])
        slot = int(request["slot"])
        root = bytes.fromhex(str(request["orderRoot"])[2:])
        entries = [bytes.fromhex(str(e)[2:]) for e in request["entries"]]
        items = b"".join(
            int(i["index"]).to_bytes(4, "big") + entries[int(i["index"])] for i in request["items"]
        )
        after = request.get("after")
        if after is None:
            context = seal_digest(domain, slot, root)
        else:
            roots = [bytes.fromhex(str(r)[2:]) for r in after["roots"]]
            context = release_context(domain, slot, root, int(after["slot"]), span_root(roots))
    except Exception as exc:
        raise ValueError(f"not a release request: {exc}") from None
    return keccak(TAG + domain.separator() + index.to_bytes(8, "big")
                  + keccak(method.encode()) + context + keccak(items))  # fmt: skip


def ask_signer(request: Any, index: int, method: str) -> str:
    """Who signed ``request``'s ``auth`` for keyper ``index`` and ``method`` ("" if it is
    missing or malformed)."""
    try:
        auth = str(request["auth"])
        if not auth.startswith("0x"):
            return ""
        return digest_signer(ask_digest(request, index, method), bytes.fromhex(auth[2:]))
    except Exception:
        return ""

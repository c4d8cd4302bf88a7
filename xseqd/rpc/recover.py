"""A submitted transaction's signature checked and its sender recovered in one go.

py-evm checks a signature (``check_signature_validity``: recover the public key, verify)
and recovers the sender again on first use of ``tx.sender``: two secp256k1 recoveries and
two signing-message encodings per transaction. ``check_and_recover`` does what
``validate_transaction_signature`` does (same errors, same order) and keeps the key it
recovered as the transaction's sender, so intake pays for one.
"""

from __future__ import annotations

from eth.abc import SignedTransactionAPI
from eth_keys import keys
from eth_keys.exceptions import BadSignature
from eth_utils import ValidationError


def check_and_recover(tx: SignedTransactionAPI) -> bytes:
    """Raise py-evm's ``ValidationError`` for a bad signature; else the sender (20
    bytes), which ``tx.sender`` then returns without recovering it again."""
    message = tx.get_message_for_signing()
    try:
        signature = keys.Signature(vrs=(tx.y_parity, tx.r, tx.s))
        public_key = signature.recover_public_key_from_msg(message)
    except BadSignature as exc:
        raise ValidationError(f"Bad Signature: {exc}") from None
    if not signature.verify_msg(message, public_key):
        raise ValidationError("Invalid Signature")
    sender = bytes(public_key.to_canonical_address())
    tx.__dict__["sender"] = sender  # the cached_property py-evm would fill
    return sender

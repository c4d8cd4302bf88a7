"""A decoded transaction's sender, recovered with one libsecp256k1 call (coincurve) and
kept where py-evm's cached ``tx.sender`` looks.

py-evm recovers a sender through eth-keys' objects on first use of ``tx.sender``: about
three times the cost of the recovery itself. Reveals' legs and every leg the verifier or a
restart re-executes are decoded from raw bytes (core/transition.py ``decoder``) and pay
it. ``prefill_sender`` gives the same address (tests/chains/test_senders.py: every
transaction type, tampered signatures); a signature it cannot recover is left to py-evm,
which then fails exactly as before when the sender is first needed.
"""

from __future__ import annotations

from typing import Any

from eth_hash.auto import keccak

from xseqd.keys import recover_address


def prefill_sender(tx: Any) -> None:
    """Recover ``tx``'s sender now and cache it as ``tx.sender`` (nothing if it does not
    recover)."""
    try:
        message = keccak(tx.get_message_for_signing())
        signature = tx.r.to_bytes(32, "big") + tx.s.to_bytes(32, "big") + bytes([tx.y_parity])
        tx.__dict__["sender"] = recover_address(message, signature)
    except Exception:
        return

"""``prefill_sender`` (chains/senders.py) caches exactly the sender py-evm would recover,
and nothing where py-evm's recovery fails (so the failure is py-evm's, as before)."""

from __future__ import annotations

import pytest

from tests.rpc.test_recover import decode, signed, tampered, with_signature
from xseqd.chains.senders import prefill_sender


def py_evm_sender(raw: bytes) -> bytes | str:
    try:
        return bytes(decode(raw).sender)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def prefilled(raw: bytes) -> bytes | str:
    tx = decode(raw)
    prefill_sender(tx)
    if "sender" not in tx.__dict__:  # left to py-evm
        return py_evm_sender(raw)
    return bytes(tx.sender)


@pytest.mark.parametrize("kind", [-1, 0, 1, 2, 3, 4])
def test_the_prefilled_sender_is_py_evms(kind: int) -> None:
    cases = tampered(kind, kind + 20, randoms=20)
    if kind >= 0:  # a typed y_parity / legacy v that no signature has
        raw = cases[0][1]
        cases.append(((2, 5, 5), with_signature(raw, 2 if raw[0] < 0x7F else 900, 5, 5)))
    if kind < 3:
        cases.append(((0, 0, 0), signed(kind)))  # the honest signature
    recovered = 0
    for vrs, raw in cases:
        expected = py_evm_sender(raw)
        assert prefilled(raw) == expected, vrs
        recovered += isinstance(expected, bytes)
    assert recovered > 0 and recovered < len(cases)  # both outcomes were tried

"""``prefill_sender`` (chains/senders.py) caches exactly the sender py-evm would recover,
and nothing where py-evm's recovery fails (so the failure is py-evm's, as before)."""

from __future__ import annotations

import random

import pytest

from tests.rpc.test_recover import N, decode, signed, unsigned_typed, with_signature
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
    rng = random.Random(kind + 20)
    raw = signed(kind) if kind < 3 else unsigned_typed(kind)
    typed = raw[0] < 0x7F
    parities = [0, 1] if typed else [27, 28, 901 * 2 + 35, 901 * 2 + 36]
    cases = [(parities[0], 0, 1), (parities[0], 1, 0), (parities[0], N, 1), (parities[1], 1, N)]
    cases += [(parities[1], N - 1, N - 1), (parities[0], 1, N // 2 + 1), (2, 5, 5)]
    cases += [(rng.choice(parities), rng.randrange(1, N), rng.randrange(1, N)) for _ in range(20)]
    recovered = 0
    for v, r, s in cases:
        tampered = with_signature(raw, v, r, s) if (typed or v != 2) else raw
        expected = py_evm_sender(tampered)
        assert prefilled(tampered) == expected, (v, r, s)
        recovered += isinstance(expected, bytes)
    if kind < 3:
        assert prefilled(raw) == py_evm_sender(raw)  # the honest signature
    assert recovered > 0

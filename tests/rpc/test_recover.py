"""Intake recovers a transaction's sender once (rpc/recover.py): the same sender, and the
same error for a bad signature, as py-evm's ``check_signature_validity`` then
``tx.sender``, for every transaction type."""

from __future__ import annotations

import random

import pytest
import rlp
from eth.vm.forks import PragueVM
from eth_account import Account
from eth_utils import ValidationError

from xseqd.rpc.recover import check_and_recover

KEY = bytes(range(1, 33))
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
TO = b"\x11" * 20


def decode(raw: bytes):  # type: ignore[no-untyped-def]
    return PragueVM.get_transaction_builder().decode(raw)


def py_evm(raw: bytes) -> bytes | str:
    """What py-evm's two steps give: the sender, or the error's text."""
    tx = decode(raw)
    try:
        tx.check_signature_validity()
    except ValidationError as exc:
        return f"ValidationError: {exc}"
    return bytes(tx.sender)


def ours(raw: bytes) -> bytes | str:
    tx = decode(raw)
    try:
        sender = check_and_recover(tx)
    except ValidationError as exc:
        return f"ValidationError: {exc}"
    assert bytes(tx.sender) == sender  # kept: tx.sender does not recover again
    return sender


def signed(kind: int) -> bytes:
    fields: dict[str, object] = {"nonce": 3, "gas": 21_000, "to": TO, "value": 5, "data": b""}
    if kind == -1:  # legacy without a chain id (pre-EIP-155)
        fields["gasPrice"] = 10**9
    else:
        fields["chainId"] = 901
        if kind in (0, 1):
            fields["gasPrice"] = 10**9
            if kind == 1:
                fields["accessList"] = [{"address": "0x" + TO.hex(), "storageKeys": []}]
        else:
            fields.update(maxFeePerGas=2 * 10**9, maxPriorityFeePerGas=1)
    return bytes(Account.sign_transaction(fields, KEY).raw_transaction)


def with_signature(raw: bytes, v: int, r: int, s: int) -> bytes:
    """The same transaction with other signature values (typed: y_parity, r, s)."""
    typed = raw[0] < 0x7F
    body = rlp.decode(raw[1:] if typed else raw)
    body[-3:] = [v, r, s]
    encoded = rlp.encode(body)
    return raw[:1] + encoded if typed else encoded


def unsigned_typed(kind: int) -> bytes:
    """A blob (3) or set-code (4) transaction body with placeholder signature values."""
    common = [901, 1, 1, 2 * 10**9, 100_000, TO, 0, b"", []]
    if kind == 3:
        body = [*common, 1, [b"\x01" + b"\x00" * 31], 0, 1, 1]
    else:
        body = [*common, [[901, TO, 0, 0, 1, 1]], 0, 1, 1]
    return bytes([kind]) + rlp.encode(body)


@pytest.mark.parametrize("kind", [-1, 0, 1, 2])
def test_valid_signatures_same_sender(kind: int) -> None:
    raw = signed(kind)
    assert ours(raw) == py_evm(raw) == bytes.fromhex(Account.from_key(KEY).address[2:])


def tampered(kind: int, seed: int, randoms: int = 12) -> list[tuple[tuple[int, int, int], bytes]]:
    """Transactions of ``kind`` with other signature values: zero and out-of-range r/s,
    high s, and ``randoms`` random ones, each with its (v, r, s)."""
    rng = random.Random(seed)
    raw = signed(kind) if kind < 3 else unsigned_typed(kind)
    typed = raw[0] < 0x7F
    parities = [0, 1] if typed else [27, 28, 901 * 2 + 35, 901 * 2 + 36]
    cases = [(parities[0], 0, 1), (parities[0], 1, 0), (parities[0], N, 1), (parities[1], 1, N)]
    cases += [(parities[1], N - 1, N - 1), (parities[0], 1, N // 2 + 1)]
    cases += [(rng.choice(parities), rng.randrange(1, N), rng.randrange(1, N))
              for _ in range(randoms)]  # fmt: skip
    return [((v, r, s), with_signature(raw, v, r, s)) for v, r, s in cases]


@pytest.mark.parametrize("kind", [-1, 0, 1, 2, 3, 4])
def test_tampered_signatures_same_outcome(kind: int) -> None:
    outcomes = set()
    for (v, r, s), raw in tampered(kind, kind + 10):
        expected = py_evm(raw)
        assert ours(raw) == expected, (v, r, s)
        outcomes.add(isinstance(expected, str))
    assert outcomes == {True, False}  # both rejected and recovered signatures were tried

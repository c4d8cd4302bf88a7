"""The two ways a cheating sequencer read an encrypted bundle early (issue 11, red-team
findings 3 and 4), refused or named (pure: keypers' rules and the verifier's ledger):

- a pre-signed seal of a FUTURE empty slot M: the shares come at once, the sequencer
  trades in N+1..M-1 and reveals at the top of M+1. Now the release binds the order
  roots of every slot N+1..M (the span), so anything placed there was committed blind,
  and a span that differs from what was committed is named;
- a void after reading: a void must carry a refusal certificate of n-t+1 keypers, a
  keyper never refuses what it released nor releases what it refused (also after a
  restart), so an uncertified void is named.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.test_redteam_encryption import ACCOUNTS, DOMAIN, release_request, transfer
from xseqd.core import encrypted as enc
from xseqd.core import threshold as th
from xseqd.core.items import Entry, ItemKind, RawLeg
from xseqd.core.order import order_root
from xseqd.core.refusals import Certificate, Refusal, certificate_fault, sign_refusal
from xseqd.core.reveals import RevealLedger
from xseqd.keyper import Bindings, Refused, refuse, release

SEQUENCER = ACCOUNTS[1].address
N = 3


def commit_entry(envelope: bytes) -> Entry:
    return Entry(ItemKind.ENCRYPTED, False, (), enc.commit_payload(envelope))


def ledger_after_commit(envelope: bytes) -> RevealLedger:
    ledger = RevealLedger()
    for s in range(1, N):
        assert ledger.check(s, []) is None
    assert ledger.check(N, [commit_entry(envelope)]) is None
    return ledger


def reveal_entry(
    keyset: th.Keyset, got: list[dict[str, object]], envelope: bytes, m: int, span: bytes
) -> Entry:
    shares = tuple(th.Share.from_json(s) for s in got)
    root = order_root(N, [enc.commit_entry_hash(envelope)])
    opening = enc.Opening(N, root, m, span, keyset, shares)
    return Entry(ItemKind.ENCRYPTED, True, (RawLeg(901, transfer(901)),),
                 enc.reveal_payload(envelope, opening))  # fmt: skip


def test_a_pre_signed_seal_of_a_future_empty_slot_is_named() -> None:
    """The red-team script (finding 3) as a test: the sequencer asks, right after slot N,
    for shares bound to a future empty slot M = 13, reads the bundle, trades in the slots
    before M, keeps M empty and reveals at the top of M+1."""
    keyset, shares = th.deal(3, 2)
    env = enc.encrypt_bundle(keyset, [transfer(901)], DOMAIN)
    m = 13
    request = release_request(env.encode(), N, m)  # it must name the roots of N+1..M
    got = [release(shares[0], SEQUENCER, request)[0], release(shares[1], SEQUENCER, request)[0]]
    span = enc.span_root([order_root(s, []) for s in range(N + 1, m + 1)])
    reveal = reveal_entry(keyset, got, env.encode(), m, span)
    assert enc.open_payload(reveal.payload, m + 1).raws is not None  # it did read it
    ledger = ledger_after_commit(env.encode())
    front = Entry(ItemKind.TRANSACTION, True, (RawLeg(901, transfer(901, 0)),))
    for s in range(N + 1, m):
        assert ledger.check(s, [front]) is None  # its trades, after reading
    assert ledger.check(m, []) is None
    breach = ledger.check(m + 1, [reveal])
    assert breach is not None and "asked for ahead of them" in breach, breach
    # control: a sequencer that asked ahead but kept its word (the slots N+1..M exactly as
    # it committed to them before reading anything: empty) is not named
    honest = ledger_after_commit(env.encode())
    for s in range(N + 1, m + 1):
        assert honest.check(s, []) is None
    assert honest.check(m + 1, [reveal]) is None


def test_a_keyper_refuses_a_binding_not_signed_over_the_span() -> None:
    keyset, shares = th.deal(3, 2)
    env = enc.encrypt_bundle(keyset, [transfer(901)], DOMAIN)
    request = release_request(env.encode(), N, 5)
    after = dict(request["after"])  # type: ignore[call-overload]
    for bad, why in (
        ({**after, "roots": after["roots"][:1]}, "one each"),
        ({**after, "roots": ["0x" + "07" * 32, after["roots"][1]]}, "not signed by the sequencer"),
        ({"slot": 5, "orderRoot": "0x" + "00" * 32, "signature": after["signature"]}, "roots"),
    ):
        with pytest.raises(Refused, match=why):
            release(shares[0], SEQUENCER, {**request, "after": bad})
    other = enc.sign_digest(b"\x01" * 32, b"\x02" * 32)
    with pytest.raises(Refused, match="not signed by the sequencer"):
        release(
            shares[0], SEQUENCER, {**request, "after": {**after, "signature": "0x" + other.hex()}}
        )
    assert len(release(shares[0], SEQUENCER, request)) == 1  # control


def test_a_keyper_never_refuses_what_it_released_nor_releases_what_it_refused(
    tmp_path: Path,
) -> None:
    keyset, shares = th.deal(3, 2)
    a = enc.encrypt_bundle(keyset, [transfer(901)], DOMAIN).encode()
    b = enc.encrypt_bundle(keyset, [transfer(901, 1)], DOMAIN).encode()
    path = tmp_path / "keyper-1.bindings.json"
    request_a = release_request(a, N, 4)
    assert len(release(shares[0], SEQUENCER, request_a, Bindings(path))) == 1
    no_after = {k: v for k, v in release_request(b, N, 4).items() if k != "after"}
    [refused] = refuse(shares[0], SEQUENCER, no_after, Bindings(path))
    assert set(refused) == {"refusal"}
    for bindings in (Bindings(path), Bindings(path)):  # the same, and after a restart
        [answer] = refuse(shares[0], SEQUENCER, {**request_a, "after": None}, bindings)
        assert set(answer) == {"released"}, answer  # never a refusal of a released one
        [again] = refuse(shares[0], SEQUENCER, request_a, bindings)  # the same binding:
        assert set(again) == {"share"}  # its share again (the sequencer missed it)
        with pytest.raises(Refused, match="refused"):
            release(shares[0], SEQUENCER, release_request(b, N, 4), bindings)
        with pytest.raises(Refused, match="refused"):
            release(shares[0], SEQUENCER, release_request(b, N, 5), bindings)
    # a refusal is keyper 1's signature, checked from the keyset alone
    env_b = enc.Envelope.decode(b)
    cert = Certificate(keyset, (Refusal.from_json(refused["refusal"]),))  # type: ignore[arg-type]
    assert "1 valid refusal(s), 2 needed" in (certificate_fault(b, cert.encode()) or "")
    second = sign_refusal(shares[2], DOMAIN, env_b.id)
    assert certificate_fault(b, Certificate(keyset, (cert.refusals[0], second)).encode()) is None


def refusals_of(signers: list[th.KeyShare], envelope: bytes) -> tuple[Refusal, ...]:
    item_id = enc.Envelope.decode(envelope).id
    return tuple(sign_refusal(s, DOMAIN, item_id) for s in signers)


def void_entry(envelope: bytes, certificate: Certificate | None) -> Entry:
    cert = b"" if certificate is None else certificate.encode()
    return Entry(ItemKind.ENCRYPTED, False, (), enc.void_payload(envelope, cert))


def test_the_ledger_names_a_void_without_a_valid_refusal_certificate() -> None:
    keyset, shares = th.deal(5, 3)  # a certificate needs 5 - 3 + 1 = 3 refusals
    envelope = enc.encrypt_bundle(keyset, [transfer(901)], DOMAIN).encode()
    other = enc.encrypt_bundle(keyset, [transfer(901, 1)], DOMAIN).encode()
    outsider, _ = th.deal(5, 3)
    for cert, why in (
        (None, "no refusal certificate"),
        (Certificate(keyset, refusals_of(shares[:2], envelope)), "2 valid refusal(s), 3 needed"),
        (Certificate(keyset, refusals_of(shares[:3], other)), "0 valid refusal(s)"),
        (Certificate(outsider, refusals_of(shares[:3], envelope)), "another keyset"),
        (Certificate(keyset, refusals_of([shares[0]] * 3, envelope)), "1 valid refusal(s)"),
    ):
        breach = ledger_after_commit(envelope).check(N + 2, [void_entry(envelope, cert)])
        assert breach is not None and why in breach and "a void that" in breach, (why, breach)
    good = Certificate(keyset, refusals_of(shares[2:], envelope))
    assert ledger_after_commit(envelope).check(N + 2, [void_entry(envelope, good)]) is None
    # the per-item rule still aborts it as a void (the ledger is what names the fault)
    assert enc.open_payload(void_entry(envelope, None).payload, N + 2).kind == "void"


def test_the_ledger_keeps_only_the_roots_since_the_oldest_pending_commit() -> None:
    keyset, shares = th.deal(3, 2)
    envelope = enc.encrypt_bundle(keyset, [transfer(901)], DOMAIN).encode()
    ledger = ledger_after_commit(envelope)
    for s in range(N + 1, N + 50):
        assert ledger.check(s, []) is None
    assert min(ledger.roots) == N and len(ledger.roots) == 50  # the commit is pending
    void = void_entry(envelope, Certificate(keyset, refusals_of(shares[:2], envelope)))
    assert ledger.check(N + 50, [void]) is None
    assert list(ledger.roots) == [N + 50]  # bounded once nothing is pending

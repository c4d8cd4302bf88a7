"""The threshold scheme and the encrypted item's encodings (pure): pinned vectors,
t shares decrypt and t-1 do not, a bad or replayed share is detected, tampering with
anything the ciphertext binds fails authentication, and the apply rule's opening."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest
from eth_abi import decode, encode
from eth_hash.auto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from xseqd.core import encrypted as enc
from xseqd.core import threshold as th
from xseqd.core.items import Entry, ItemKind, item_id
from xseqd.core.order import ReceiptDomain

DOMAIN = ReceiptDomain(900, bytes.fromhex("11" * 20))
ROOT = b"\x22" * 32


def counter(start: int = 7) -> th.Rand:
    values = itertools.count(start)
    return lambda: int.from_bytes(keccak(next(values).to_bytes(32, "big")), "big") % th.N


def dealt(n: int = 5, t: int = 3) -> tuple[th.Keyset, list[th.KeyShare]]:
    return th.deal(n, t, counter())


def test_pinned_keyset_and_envelope() -> None:
    """Pre: a deterministic dealer and encryption. Post: these exact bytes; a change here
    breaks every client that encrypts (docs/encryption.md)."""
    keyset, _ = dealt()
    assert keyset.id.hex() == PINNED_KEYSET_ID
    env = enc.encrypt_bundle(keyset, [b"\x02\x01", b"\x02\x02"], DOMAIN, 9, r=12345,
                             nonce=b"\x01" * 12)  # fmt: skip
    assert env.id.hex() == PINNED_ENVELOPE_ID
    assert enc.Envelope.decode(env.encode()) == env


PINNED_KEYSET_ID = "993b20d29cf282b46fd1619b464b6bc1e1388c8dc3c1386a965f61c93647e2cf"
PINNED_ENVELOPE_ID = "d06f697c9cbc0d1e9bce7b49c3a7288b7a541b69c225417b7d54867fe0d00d1b"


def test_any_t_shares_open_and_t_minus_1_do_not() -> None:
    keyset, shares = dealt()
    env = enc.encrypt_bundle(keyset, [b"\x02tx"], DOMAIN)
    ctx = enc.seal_digest(DOMAIN, 3, ROOT)
    made = [th.make_share(s, env.c1, ctx) for s in shares]
    assert all(th.verify_share(keyset, env.c1, ctx, s) for s in made)
    plaintext = encode(["bytes[]"], [[b"\x02tx"]])
    for subset in itertools.combinations(made, 3):
        assert th.open_sealed(th.combine(subset), env.nonce, env.body, env.aad) == plaintext
    for subset in itertools.combinations(made, 2):
        with pytest.raises(th.DecryptionFailed):
            th.open_sealed(th.combine(subset), env.nonce, env.body, env.aad)


def test_a_bad_or_replayed_share_does_not_verify() -> None:
    keyset, shares = dealt()
    env = enc.encrypt_bundle(keyset, [b"\x02tx"], DOMAIN)
    ctx = enc.seal_digest(DOMAIN, 3, ROOT)
    good = th.make_share(shares[0], env.c1, ctx)
    wrong_point = th.Share(1, th.mul(env.c1, 5), good.c, good.z)
    as_other = th.Share(2, good.point, good.c, good.z)
    assert not th.verify_share(keyset, env.c1, ctx, wrong_point)
    assert not th.verify_share(keyset, env.c1, ctx, as_other)
    # bound to the seal: the same share for another slot or order root is no proof
    assert not th.verify_share(keyset, env.c1, enc.seal_digest(DOMAIN, 4, ROOT), good)
    assert not th.verify_share(keyset, env.c1, enc.seal_digest(DOMAIN, 3, b"\x23" * 32), good)


def textbook_verify(keyset: th.Keyset, c1: bytes, ctx: bytes, share: th.Share) -> bool:
    """The Chaum-Pedersen check written plainly (what verify_share computes faster)."""
    if not (1 <= share.index <= keyset.n and 0 < share.c < th.N and 0 < share.z < th.N):
        return False
    if not (th.is_point(share.point) and th.is_point(c1)):
        return False
    big_x = keyset.verification_key(share.index)
    try:
        a = th.add([th.base_mul(share.z), th.mul(big_x, share.c)])
        b = th.add([th.mul(c1, share.z), th.mul(share.point, share.c)])
    except ValueError:
        return False
    digest = keccak(th.DLEQ_TAG + ctx + big_x + c1 + share.point + a + b)
    return int.from_bytes(digest, "big") % th.N == share.c


def test_share_verification_agrees_with_the_textbook_check() -> None:
    keyset, shares = dealt()
    env = enc.encrypt_bundle(keyset, [b"\x02tx"], DOMAIN)
    ctx = enc.seal_digest(DOMAIN, 3, ROOT)
    not_a_point = b"\x02" + b"\xff" * 32  # x beyond the field: no such point
    cases = []
    for key in shares:
        good = th.make_share(key, env.c1, ctx)
        cases += [good, replace(good, c=(good.c + 1) % th.N), replace(good, z=good.z ^ 1),
                  replace(good, point=th.mul(good.point, 2)), replace(good, point=not_a_point),
                  replace(good, point=bytes([good.point[0] ^ 1]) + good.point[1:]),  # -D
                  replace(good, point=bytes(th.PublicKey(good.point).format(False))),
                  replace(good, index=good.index % 5 + 1), replace(good, c=0)]  # fmt: skip
    outcomes = [th.verify_share(keyset, env.c1, ctx, s) for s in cases]
    assert outcomes == [textbook_verify(keyset, env.c1, ctx, s) for s in cases]
    assert outcomes.count(True) == len(shares)  # exactly the honest ones
    assert not th.verify_share(keyset, not_a_point, ctx, cases[0])


def test_key_derivation_is_rfc5869_hkdf_sha256() -> None:
    """derive_key's two HMACs are HKDF-SHA256 (pycryptodome's, and RFC 5869 test case 1)."""
    from Crypto.Hash import SHA256
    from Crypto.Protocol.KDF import HKDF

    for n in (0, 1, 33, 200):
        shared, aad = bytes(range(33)), bytes(range(n))
        expected = HKDF(shared, 32, th.KEM_SALT, SHA256, context=keccak(aad))
        assert th.derive_key(shared, aad) == expected
    ikm, salt = b"\x0b" * 22, bytes(range(13))
    info = bytes(range(0xF0, 0xFA))
    prk = th.hmac.digest(salt, ikm, "sha256")
    okm = th.hmac.digest(prk, info + b"\x01", "sha256")
    assert okm.hex() == "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"


@pytest.mark.parametrize("field", ["max_slot", "l1_chain_id", "settlement", "keyset_id"])
def test_tampered_header_fails_authentication(field: str) -> None:
    keyset, shares = dealt()
    env = enc.encrypt_bundle(keyset, [b"\x02tx"], DOMAIN, 9)
    changed = {"max_slot": 10, "l1_chain_id": 901, "settlement": b"\x12" * 20,
               "keyset_id": b"\x00" * 32}[field]  # fmt: skip
    forged = enc.Envelope(**{**env.__dict__, field: changed})
    key = th.combine([th.make_share(s, env.c1, b"") for s in shares[:3]])
    with pytest.raises(th.DecryptionFailed):
        th.open_sealed(key, forged.nonce, forged.body, forged.aad)
    assert th.open_sealed(key, env.nonce, env.body, env.aad)  # the untampered one opens


def test_commit_entry_hash_is_the_entry_hash() -> None:
    keyset, _ = dealt()
    envelope = enc.encrypt_bundle(keyset, [b"\x02tx"], DOMAIN).encode()
    entry = Entry(ItemKind.ENCRYPTED, False, (), enc.commit_payload(envelope))
    assert enc.commit_entry_hash(envelope) == entry.hash
    assert entry.id == keccak(envelope) == item_id(ItemKind.ENCRYPTED, [], entry.payload)
    assert Entry.decode(entry.encode()) == entry


AFTER_ROOT = b"\x34" * 32


def opening(keyset: th.Keyset, shares: list[th.KeyShare], env: enc.Envelope) -> enc.Opening:
    ctx = enc.release_context(env.domain, 3, ROOT, 4, AFTER_ROOT)
    made = tuple(th.make_share(s, env.c1, ctx) for s in shares[: keyset.threshold])
    return enc.Opening(3, ROOT, 4, AFTER_ROOT, keyset, made)


def test_an_opening_encoded_here_decodes_as_it_would_anywhere() -> None:
    """Opening.decode gives back the opening this process just encoded (no second
    decode on the reveal path); it must equal what a fresh process decodes from the
    same bytes, for a plain and a mixed opening."""
    keyset, shares = dealt()
    env = enc.encrypt_bundle(keyset, [b"\x02a"], DOMAIN)
    plain = opening(keyset, shares, env)
    ctxs = [enc.release_context(env.domain, 3, ROOT, m, AFTER_ROOT) for m in (3, 4, 4)]
    made = [th.make_share(k, env.c1, c) for k, c in zip(shares, ctxs, strict=False)]
    mixed = enc.Opening.mixed(3, ROOT, keyset, [(s, m, AFTER_ROOT) for s, m in
                                                 zip(made, (3, 4, 4), strict=True)])  # fmt: skip
    assert mixed.bindings
    for built in (plain, mixed):
        data = built.encode()
        assert enc.Opening.decode(data) is built
        enc._RECENT.clear()
        assert enc.Opening.decode(data) == built  # what the verifier decodes
        assert enc.Opening.decode(data) is not built


def test_open_payload_outcomes() -> None:
    keyset, shares = dealt()
    raws = [b"\x02a", b"\x02b"]
    env = enc.encrypt_bundle(keyset, raws, DOMAIN, 9)
    payload = enc.reveal_payload(env.encode(), opening(keyset, shares, env))
    assert enc.open_payload(payload, 5).raws == tuple(raws)
    assert enc.open_payload(payload, 10).kind == "expired"
    assert enc.open_payload(enc.commit_payload(env.encode()), 5).kind == "sealed"
    not_txs = enc.encrypt_bundle(keyset, [], DOMAIN)
    opened = enc.open_payload(
        enc.reveal_payload(not_txs.encode(), opening(keyset, shares, not_txs)), 5
    )
    assert opened.raws is None and "legs" in opened.reason
    void = enc.open_payload(enc.void_payload(env.encode()), 5)
    assert void.raws is None and void.kind == "void" and void.reason == enc.VOID_REASON


def test_an_opening_no_honest_sequencer_posts_is_a_fault() -> None:
    keyset, shares = dealt()
    env = enc.encrypt_bundle(keyset, [b"\x02a"], DOMAIN)
    good = opening(keyset, shares, env)
    too_few = replace(good, shares=good.shares[:2])
    other_slot = replace(good, slot=4)
    other_keyset, _ = th.deal(5, 3, counter(99))
    wrong_keys = replace(good, keyset=other_keyset)
    # the shares bind the reveal slot: the same shares claimed for a later M, or another
    # span, are no proof (a reveal withheld by a slot cannot be re-opened)
    later = replace(good, after_slot=5)
    other_span = replace(good, span=b"\x35" * 32)
    before_commit = replace(good, after_slot=2)
    for bad in (too_few, other_slot, wrong_keys, later, other_span, before_commit):
        with pytest.raises(enc.OpeningFault):
            enc.open_payload(enc.reveal_payload(env.encode(), bad), 5)


def test_seal_signature_names_its_signer() -> None:
    key = keccak(b"seal test key")
    sig = enc.sign_seal(key, DOMAIN, 3, ROOT)
    from eth_keys import keys

    me = keys.PrivateKey(key).public_key.to_checksum_address()
    assert enc.seal_signer(DOMAIN, 3, ROOT, sig) == me
    assert enc.seal_signer(DOMAIN, 4, ROOT, sig) != me


def roundtrip_accepts(data: bytes) -> bool:
    """The reference rule: eth_abi decodes it and encodes the same bytes back."""
    try:
        values = decode(enc.ENVELOPE_TYPES, data)
    except Exception:
        return False
    return bool(encode(enc.ENVELOPE_TYPES, list(values)) == data)


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_envelope_parser_accepts_exactly_the_canonical_encoding(data: st.DataObject) -> None:
    """The direct parser (_canonical_envelope) agrees with decode-then-re-encode on valid
    envelopes and on random edits of them: bytes flipped, words overwritten with small
    or huge numbers, data cut or appended."""
    keyset, _ = dealt()
    txs = data.draw(st.lists(st.binary(max_size=70), max_size=3))
    blob = bytearray(enc.encrypt_bundle(keyset, txs, DOMAIN, max_slot=data.draw(
        st.integers(0, 2**64 - 1))).encode())  # fmt: skip
    edit = data.draw(st.sampled_from(["none", "flip", "word", "cut", "append"]))
    if edit == "flip":
        at = data.draw(st.integers(0, len(blob) - 1))
        blob[at] ^= data.draw(st.integers(1, 255))
    elif edit == "word":
        word = data.draw(st.integers(0, len(blob) // 32 - 1))
        value = data.draw(st.one_of(st.integers(0, 600), st.integers(0, 2**256 - 1)))
        blob[word * 32 : word * 32 + 32] = value.to_bytes(32, "big")
    elif edit == "cut":
        del blob[data.draw(st.integers(0, len(blob) - 1)) :]
    elif edit == "append":
        blob += data.draw(st.binary(min_size=1, max_size=64))
    raw = bytes(blob)
    try:
        fields = enc._canonical_envelope(raw)
    except ValueError:
        assert not roundtrip_accepts(raw)
        return
    assert roundtrip_accepts(raw)
    v, kid, chain, settlement, max_slot, c1, nonce, body = decode(enc.ENVELOPE_TYPES, raw)
    assert fields == (v, kid, chain, bytes.fromhex(settlement[2:]), max_slot, c1, nonce, body)

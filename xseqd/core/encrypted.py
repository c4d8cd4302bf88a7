"""Encrypted items (pure): the ciphertext envelope users send, the sequencer's seal of a
slot, and the rule that opens an ENCRYPTED item's payload (core/threshold.py does the
cryptography).

An encrypted submission is ordered twice under one id, ``keccak256(envelope)``:

    commit  in the slot it arrived in, payload = envelope only, no legs, never included:
            the order receipt is over this entry, before anyone can decrypt it
    reveal  at the top of slot M+1, once keypers released the commit's shares bound to
            the commit slot's seal, M (the latest sealed slot when the sequencer asked)
            and the span: the order roots of EVERY slot N+1..M, so that whatever the
            sequencer places between the commit and the reveal was committed before
            anyone could read it: payload = envelope + opening (the t shares with their
            proofs, the keyset, M and the span root), legs = the decrypted
            transactions; executed atomically like a bundle
    void    at the top of a later slot, when keypers did not release in time: payload =
            envelope + VOID_OPENING + a refusal certificate (core/refusals.py: n-t+1
            keypers signed that they never released it and never will), no legs, aborted

Payload bytes: ``uint32 len(envelope) || envelope || opening`` (opening empty = commit).

    envelope = abi.encode(uint8 version=1, bytes32 keysetId, uint256 l1ChainId,
                          address settlement, uint64 maxSlot, bytes c1, bytes nonce,
                          bytes body)
    aad      = the same encoding with body empty (what AES-GCM authenticates beside body)
    plaintext= abi.encode(bytes[] rawTxs)
    opening  = abi.encode(uint64 commitSlot, bytes32 commitOrderRoot, uint64 revealAfter,
                          bytes32 span, bytes keyset,
                          (uint256 index, bytes share, uint256 c, uint256 z)[] shares)
               or, when the shares were released under different bindings (a partial
               round recovered later), MIXED_OPENING = "xseqd/mixed/v1" ||
               abi.encode(uint64 commitSlot, bytes32 commitOrderRoot, bytes keyset,
                          (uint256 index, bytes share, uint256 c, uint256 z,
                           uint64 revealAfter_i, bytes32 span_i)[] shares):
               each proof under its own context, the reveal after max(revealAfter_i)
               or VOID_OPENING = "xseqd/void/v1" (13 ASCII bytes) || certificate
    seal     = keccak256("xseqd/seal/v1" || domainSeparator || uint64 slot || orderRoot),
               signed by the sequencer
    span     = keccak256("xseqd/span/v1" || orderRoot(N+1) || ... || orderRoot(M))
               (N = commitSlot, M = revealAfter; no roots when M = N)
    context  = keccak256("xseqd/release/v2" || seal(commitSlot) || uint64 revealAfter ||
               span): what the shares' proofs are bound to; the sequencer signs it to ask

``open_payload`` is the apply rule's first half (core/transition.py runs the legs): it
returns the plaintext transactions, or why the item aborts (sealed commit, expired,
undecryptable, not transactions), and raises ``OpeningFault`` for an opening no honest
sequencer posts (bad or missing shares, another keyset), which the verifier names.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from eth_abi import decode, encode
from eth_hash.auto import keccak

from xseqd.core import threshold
from xseqd.core.order import ReceiptDomain
from xseqd.core.threshold import Keyset, Share
from xseqd.keys import hash_signer, sign_hash

VERSION = 1
MAX_LEGS = 16  # as xseq_sendBundle (sequencer/intake.py MAX_BUNDLE_LEGS)
KIND_ENCRYPTED = 4  # ItemKind.ENCRYPTED (core/items.py), here to keep keypers light
ENVELOPE_TYPES = ["uint8", "bytes32", "uint256", "address", "uint64", "bytes", "bytes", "bytes"]
SHARE_TYPE = "(uint256,bytes,uint256,uint256)"
OPENING_TYPES = ["uint64", "bytes32", "uint64", "bytes32", "bytes", f"{SHARE_TYPE}[]"]
MIXED_SHARE_TYPE = "(uint256,bytes,uint256,uint256,uint64,bytes32)"
MIXED_TYPES = ["uint64", "bytes32", "bytes", f"{MIXED_SHARE_TYPE}[]"]
MIXED_OPENING = b"xseqd/mixed/v1"
VOID_OPENING = b"xseqd/void/v1"
VOID_REASON = "void: keypers did not release in time"
# keyper_releases answers at most this many releases per call (xseqd/keyper.py; the
# verifier pages through them: core/releases.py)
PAGE = 100  # keyper_releases records per call at most (bounded work on a keyper's loop)


class OpeningFault(Exception):
    """Raised when a reveal's opening is not what an honest sequencer posts."""


@dataclass(frozen=True)
class Envelope:
    """A sealed bundle as sent: who can open it (keyset), where it is valid (deployment,
    maxSlot; 0 = no bound), the KEM point C1, the AES-GCM nonce and body."""

    keyset_id: bytes
    l1_chain_id: int
    settlement: bytes
    max_slot: int
    c1: bytes
    nonce: bytes
    body: bytes
    version: int = VERSION

    def _values(self, body: bytes) -> list[object]:
        return [self.version, self.keyset_id, self.l1_chain_id, self.settlement,
                self.max_slot, self.c1, self.nonce, body]  # fmt: skip

    def encode(self) -> bytes:
        return self._encoded

    # an envelope is immutable: its encoding, AAD and id are computed once (keypers and
    # the sequencer ask for them several times per release)
    @functools.cached_property
    def _encoded(self) -> bytes:
        return encode(ENVELOPE_TYPES, self._values(self.body))

    @functools.cached_property
    def aad(self) -> bytes:
        return encode(ENVELOPE_TYPES, self._values(b""))

    @functools.cached_property
    def id(self) -> bytes:
        return keccak(self.encode())

    @property
    def domain(self) -> ReceiptDomain:
        return ReceiptDomain(self.l1_chain_id, self.settlement)

    @classmethod
    def decode(cls, data: bytes) -> Envelope:
        """Parse and check an envelope (raises ``ValueError`` with what is wrong); the
        same bytes give the same (immutable) envelope, decoded once (up to
        ``CACHED_BYTES``): a commit's envelope is read by the desk, the round, keypers'
        checks and the reveal."""
        return _decode_envelope(data) if len(data) <= CACHED_BYTES else cls._decode(data)

    @classmethod
    def _decode(cls, data: bytes) -> Envelope:
        v, kid, chain, settlement, max_slot, c1, nonce, body = _canonical_envelope(data)
        env = cls(kid, chain, settlement, max_slot, c1, nonce, body, v)
        env.__dict__["_encoded"] = data  # the canonical encoding (``encode``): these bytes
        if env.version != VERSION:
            raise ValueError(f"unknown envelope version {env.version}")
        if not threshold.is_point(env.c1) or len(env.nonce) != 12 or len(env.body) < 16:
            raise ValueError("malformed ciphertext (c1, nonce or body)")
        return env


def _canonical_envelope(data: bytes) -> tuple[int, bytes, int, bytes, int, bytes, bytes, bytes]:
    """The fields of ``abi.encode(ENVELOPE_TYPES)`` bytes, accepted only in the one
    canonical encoding (exactly what ``encode`` gives back; ``ValueError`` otherwise):
    five static words (uint8, bytes32, uint256, address, uint64: zero-padded on the
    left), three offsets that point right after what precedes them, each ``bytes`` a
    length word and its data zero-padded to a word, nothing after. Read directly, about
    20x faster than decoding with eth_abi and encoding again to compare."""
    data = bytes(data)

    def fail(why: str) -> ValueError:
        return ValueError(f"envelope is not canonically encoded: {why}")

    if len(data) < 8 * 32:
        raise ValueError("not an encrypted-bundle envelope")
    for word, width in ((0, 1), (3, 20), (4, 8)):  # uint8, address, uint64
        if any(data[word * 32 : word * 32 + 32 - width]):
            raise fail("a value overflows its type")
    parts: list[bytes] = []
    at = 8 * 32
    for word in (5, 6, 7):
        if int.from_bytes(data[word * 32 : word * 32 + 32], "big") != at:
            raise fail("an offset is not the canonical one")
        length = int.from_bytes(data[at : at + 32], "big")
        end = at + 32 + length
        padded = at + 32 + -(-length // 32) * 32
        if padded > len(data) or any(data[end:padded]):
            raise fail("a byte string overruns the data or is padded with non-zero bytes")
        parts.append(data[at + 32 : end])
        at = padded
    if at != len(data):
        raise fail("bytes after the last field")
    version, chain, max_slot = (
        int.from_bytes(data[i * 32 : i * 32 + 32], "big") for i in (0, 2, 4)
    )
    c1, nonce, body = parts
    return version, data[32:64], chain, data[108:128], max_slot, c1, nonce, body


@functools.lru_cache(maxsize=256)
def _decode_envelope(data: bytes) -> Envelope:
    return Envelope._decode(data)


def encrypt_bundle(
    keyset: Keyset,
    raw_txs: list[bytes],
    domain: ReceiptDomain,
    max_slot: int = 0,
    r: int | None = None,
    nonce: bytes = b"",
) -> Envelope:
    """Encrypt signed raw transactions (any mix of rollups) to ``keyset``."""
    r = threshold.random_scalar() if r is None else r
    nonce = nonce or threshold.secrets.token_bytes(12)
    header = Envelope(keyset.id, domain.chain_id, domain.verifying_contract, max_slot,
                      threshold.base_mul(r), nonce, b"")  # fmt: skip
    plaintext = encode(["bytes[]"], [list(raw_txs)])
    _, _, body = threshold.seal(keyset.public_key, plaintext, header.aad, r, nonce)
    return Envelope(header.keyset_id, header.l1_chain_id, header.settlement, max_slot,
                    header.c1, nonce, body)  # fmt: skip


# -- payloads -----------------------------------------------------------------------------


def commit_payload(envelope: bytes) -> bytes:
    return len(envelope).to_bytes(4, "big") + envelope


def reveal_payload(envelope: bytes, opening: Opening) -> bytes:
    return commit_payload(envelope) + opening.encode()


def split_payload(payload: bytes) -> tuple[bytes, bytes]:
    """(envelope, opening) of an ENCRYPTED payload; a malformed payload is all envelope."""
    size = int.from_bytes(payload[:4], "big")
    if len(payload) < 4 or 4 + size > len(payload):
        return payload, b""
    return payload[4 : 4 + size], payload[4 + size :]


def item_id(payload: bytes) -> bytes:
    """The id users know an encrypted item by: the hash of its ciphertext envelope."""
    return keccak(split_payload(payload)[0])


def commit_entry_hash(envelope: bytes) -> bytes:
    """``Entry(ENCRYPTED, False, (), commit_payload(envelope)).hash`` (core/items.py),
    spelled out so that keypers check it without loading the EVM: the ABI encoding of
    (uint8 kind, bool included, bytes32 id, legs[] = [], bytes32 keccak(payload)) word by
    word, as ``Entry.hash`` writes it (tests/core/test_threshold.py pins the two equal)."""
    words = (KIND_ENCRYPTED.to_bytes(32, "big"), bytes(32), keccak(envelope),
             (5 * 32).to_bytes(32, "big"), keccak(commit_payload(envelope)), bytes(32))  # fmt: skip
    return keccak(b"".join(words))


# -- the seal -----------------------------------------------------------------------------


def seal_digest(domain: ReceiptDomain, slot: int, order_root: bytes) -> bytes:
    """What the sequencer signs when a slot's order is final (and proofs bind to)."""
    return keccak(b"xseqd/seal/v1" + domain.separator() + slot.to_bytes(8, "big") + order_root)


def span_root(roots: Sequence[bytes]) -> bytes:
    """The order roots of the slots N+1..M between a commit (slot N) and the slot M its
    reveal follows, in one hash: a release binds the sequencer to all of them."""
    return keccak(b"xseqd/span/v1" + b"".join(roots))


def release_context(
    domain: ReceiptDomain, slot: int, order_root: bytes, after_slot: int, span: bytes
) -> bytes:
    """What a share's proof is bound to: the commit slot's seal, the slot M after which
    the reveal must come (at the top of M+1), and the span root of slots N+1..M."""
    seal = seal_digest(domain, slot, order_root)
    return keccak(b"xseqd/release/v2" + seal + after_slot.to_bytes(8, "big") + span)


def void_payload(envelope: bytes, certificate: bytes = b"") -> bytes:
    """A void's payload; ``certificate`` is a refusal certificate (core/refusals.py),
    without which the void is a fault the verifier names."""
    return commit_payload(envelope) + VOID_OPENING + certificate


def is_void(opening: bytes) -> bool:
    return opening.startswith(VOID_OPENING)


def sign_digest(key: bytes, digest: bytes) -> bytes:
    """The sequencer's signature r || s || v (v = 27/28) over a 32-byte digest."""
    return sign_hash(key, digest)


def digest_signer(digest: bytes, signature: bytes) -> str:
    """The checksum address that signed ``digest`` (raises ``ValueError`` if malformed)."""
    return hash_signer(digest, signature)


def sign_seal(key: bytes, domain: ReceiptDomain, slot: int, order_root: bytes) -> bytes:
    return sign_digest(key, seal_digest(domain, slot, order_root))


def seal_signer(domain: ReceiptDomain, slot: int, order_root: bytes, signature: bytes) -> str:
    """The checksum address that signed this seal (raises ``ValueError`` if malformed)."""
    return digest_signer(seal_digest(domain, slot, order_root), signature)


@dataclass(frozen=True)
class Opening:
    """What reveals a commit: the commit's slot and order root, the slot M the reveal
    must follow (at the top of M+1), the span root of slots N+1..M, the keyset, t
    shares. ``bindings`` (a mixed opening) gives each share its own (M_i, span_i); M is
    then the largest M_i (empty: every share is bound to (M, span))."""

    slot: int
    order_root: bytes
    after_slot: int
    span: bytes
    keyset: Keyset
    shares: tuple[Share, ...]
    bindings: tuple[tuple[int, bytes], ...] = ()

    @classmethod
    def mixed(
        cls,
        slot: int,
        order_root: bytes,
        keyset: Keyset,
        bound: Sequence[tuple[Share, int, bytes]],
    ) -> Opening:
        """An opening of shares each with its own binding (share, M_i, span_i)."""
        top = max(bound, key=lambda b: b[1])
        shares = tuple(b[0] for b in bound)
        binds = tuple((b[1], b[2]) for b in bound)
        if len(set(binds)) == 1:
            binds = ()
        return cls(slot, order_root, top[1], top[2], keyset, shares, binds)

    def share_bindings(self) -> list[tuple[int, bytes]]:
        """(M_i, span_i) of each share, in order."""
        return list(self.bindings) or [(self.after_slot, self.span)] * len(self.shares)

    def encode(self) -> bytes:
        """The opening's bytes (an opening is immutable: encoded once); remembered with
        it for a while, so that decoding the bytes this process just encoded (the
        sequencer builds a reveal, then applies it) gives this opening back."""
        data = self._encoded
        _RECENT[data] = self
        while len(_RECENT) > RECENT_OPENINGS:
            del _RECENT[next(iter(_RECENT))]
        return data

    @functools.cached_property
    def _encoded(self) -> bytes:
        if self.bindings:
            values = [(*s.values(), m, sp) for s, (m, sp) in zip(self.shares, self.bindings,
                                                                  strict=True)]  # fmt: skip
            return MIXED_OPENING + encode(
                MIXED_TYPES, [self.slot, self.order_root, self.keyset.encode(), values]
            )
        return encode(OPENING_TYPES, [self.slot, self.order_root, self.after_slot,
                                      self.span, self.keyset.encode(),
                                      [s.values() for s in self.shares]])  # fmt: skip

    @classmethod
    def decode(cls, data: bytes) -> Opening:
        known = _RECENT.get(data)
        if known is not None:  # encoded here: it decodes to an equal opening
            return known
        if data.startswith(MIXED_OPENING):
            try:
                slot, root, keyset, rows = decode(MIXED_TYPES, data[len(MIXED_OPENING) :])
                ks = Keyset.decode(bytes(keyset))
            except Exception as exc:
                raise OpeningFault(f"mixed opening does not decode: {exc}") from None
            if not rows:
                raise OpeningFault("a mixed opening without shares")
            bound = [(Share(int(i), bytes(p), int(c), int(z)), int(m), bytes(sp))
                     for i, p, c, z, m, sp in rows]  # fmt: skip
            top = max(bound, key=lambda b: b[1])
            return cls(int(slot), bytes(root), top[1], top[2], ks,
                       tuple(b[0] for b in bound), tuple((b[1], b[2]) for b in bound))  # fmt: skip
        try:
            slot, root, after, span, keyset, shares = decode(OPENING_TYPES, data)
            ks = Keyset.decode(bytes(keyset))
        except Exception as exc:
            raise OpeningFault(f"opening does not decode: {exc}") from None
        parsed = tuple(Share(int(i), bytes(p), int(c), int(z)) for i, p, c, z in shares)
        return cls(int(slot), bytes(root), int(after), bytes(span), ks, parsed)

    def context(self, domain: ReceiptDomain, after_slot: int = -1, span: bytes = b"") -> bytes:
        """The release context of the binding (M, span) (default: the opening's own)."""
        if after_slot < 0:
            after_slot, span = self.after_slot, self.span
        return release_context(domain, self.slot, self.order_root, after_slot, span)


RECENT_OPENINGS = 64
_RECENT: dict[bytes, Opening] = {}  # openings by the bytes ``encode`` gave, oldest first


@dataclass(frozen=True)
class Opened:
    """The outcome of opening a payload: the plaintext transactions, or why not."""

    raws: tuple[bytes, ...] | None
    reason: str = ""
    kind: str = "invalid"
    opening: Opening | None = None


# Remembered results are for payloads up to this size: a cache of 256 full-size ones
# (~2 MB each, and their plaintexts) would hold a gigabyte a stranger could fill.
CACHED_BYTES = 64 * 1024


def open_payload(payload: bytes, slot: int) -> Opened:
    """Open an ENCRYPTED item's payload in ``slot`` (see module docstring). A pure function
    of its arguments, remembered (up to ``CACHED_BYTES``): the sequencer opens a reveal
    to build it and again to apply it, so its shares are not verified twice (an
    OpeningFault is never cached)."""
    if len(payload) <= CACHED_BYTES:
        return _open_remembered(payload, slot)
    return _open(payload, slot)


@functools.lru_cache(maxsize=256)
def _open_remembered(payload: bytes, slot: int) -> Opened:
    return _open(payload, slot)


def _open(payload: bytes, slot: int) -> Opened:
    env_bytes, opening_bytes = split_payload(payload)
    if not opening_bytes:
        return Opened(None, "sealed: runs when its slot's decryption shares are released",
                      "sealed")  # fmt: skip
    if is_void(opening_bytes):  # its certificate is core/reveals.py's to check
        try:
            max_slot = Envelope.decode(env_bytes).max_slot
        except ValueError:
            max_slot = 0
        if max_slot and slot > max_slot:  # voided unopened: it could no longer run
            return Opened(None, f"expired: maxSlot {max_slot} passed", "expired")
        return Opened(None, VOID_REASON, "void")
    opening = Opening.decode(opening_bytes)
    try:
        env = Envelope.decode(env_bytes)
    except ValueError as exc:
        return Opened(None, f"undecryptable: {exc}", opening=opening)
    if opening.keyset.id != env.keyset_id:
        raise OpeningFault("the opening's keyset is not the one the ciphertext names")
    binds = opening.share_bindings()
    if any(after < opening.slot for after, _ in binds):
        raise OpeningFault("an opening binds a reveal slot before its commit's")
    shares = opening.shares
    if len(shares) != opening.keyset.threshold or len({s.index for s in shares}) != len(shares):
        raise OpeningFault(f"an opening carries {opening.keyset.threshold} distinct shares")
    for share, (after, span) in zip(shares, binds, strict=True):
        context = opening.context(env.domain, after, span)
        if not threshold.verify_share(opening.keyset, env.c1, context, share):
            raise OpeningFault(f"decryption share of keyper {share.index} does not verify")
    if env.max_slot and slot > env.max_slot:
        return Opened(None, f"expired: maxSlot {env.max_slot} passed", "expired", opening)
    try:
        plaintext = threshold.open_sealed(threshold.combine(shares), env.nonce, env.body, env.aad)
    except threshold.DecryptionFailed as exc:
        return Opened(None, f"undecryptable: {exc}", opening=opening)
    try:
        (raws,) = decode(["bytes[]"], plaintext)
        if encode(["bytes[]"], [list(raws)]) != plaintext:
            raise ValueError
    except Exception:
        return Opened(None, "undecryptable: the plaintext is not a list of transactions",
                      opening=opening)  # fmt: skip
    if not 1 <= len(raws) <= MAX_LEGS:
        return Opened(None, f"a sealed bundle has 1 to {MAX_LEGS} legs, not {len(raws)}",
                      opening=opening)  # fmt: skip
    return Opened(tuple(bytes(r) for r in raws), opening=opening)

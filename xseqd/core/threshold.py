"""Threshold encryption of sealed submissions (pure): ElGamal key encapsulation on
secp256k1, HKDF-SHA256 and AES-256-GCM, with a t-of-n key dealt by Shamir + Feldman.

Nothing here is new cryptography; it is the textbook composition of well-kept pieces
(coincurve = libsecp256k1 for the group, cryptography (OpenSSL) for AES-GCM, the
standard library's hmac for HKDF):

    keyset      secret x, polynomial f of degree t-1 with f(0) = x; keyper i holds
                x_i = f(i); published: Feldman commitments C_k = a_k·G (C_0 = P = x·G),
                so anyone derives keyper i's verification key X_i = Σ i^k·C_k.
                keysetId = keccak256(abi.encode(SCHEME, t, n, [C_0..C_{t-1}]))
    encrypt     r random, C1 = r·G, K = r·P; key = HKDF-SHA256(K, salt "xseqd/kem/v1",
                info = keccak256(aad)); body = AES-256-GCM(key, nonce, plaintext, aad)
    share i     D_i = x_i·C1 with a Chaum-Pedersen proof (c, z) that
                log_G(X_i) = log_C1(D_i), its challenge bound to a context (the seal)
    combine     K = Σ λ_i·D_i over t valid shares (Lagrange at 0), then decrypt

Points travel compressed (33 bytes), scalars as integers. Changing any of this is a
breaking change for every client that encrypts (pinned by tests/core/test_threshold.py).
"""

from __future__ import annotations

import functools
import hmac
import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from coincurve import PublicKey
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eth_abi import encode
from eth_hash.auto import keccak

SCHEME = "xseqd/threshold-elgamal-secp256k1/hkdf-sha256/aes-256-gcm/v1"
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141  # group order
KEM_SALT = b"xseqd/kem/v1"
DLEQ_TAG = b"xseqd/dleq/v1"

Rand = Callable[[], int]


def random_scalar() -> int:
    return 1 + secrets.randbelow(N - 1)


class DecryptionFailed(Exception):
    """Raised when a ciphertext does not authenticate under the derived key."""


# -- the group ----------------------------------------------------------------------------


def base_mul(k: int) -> bytes:
    """k·G, compressed (k in 1..N-1)."""
    return bytes(PublicKey.from_secret((k % N).to_bytes(32, "big")).format())


def mul(point: bytes, k: int) -> bytes:
    """k·point, compressed (k in 1..N-1)."""
    return bytes(PublicKey(point).multiply((k % N).to_bytes(32, "big")).format())


def add(points: Sequence[bytes]) -> bytes:
    """The sum of ``points`` (raises ``ValueError`` at infinity)."""
    return bytes(PublicKey.combine_keys([PublicKey(p) for p in points]).format())


def is_point(value: bytes) -> bool:
    try:
        PublicKey(value)
        return len(value) == 33
    except Exception:
        return False


# -- the keyset ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def _verification_key(commitments: tuple[bytes, ...], index: int) -> bytes:
    return add([mul(c, pow(index, k, N)) for k, c in enumerate(commitments)])


@dataclass(frozen=True)
class Keyset:
    """The public side of a dealt key: threshold, keyper count, Feldman commitments."""

    threshold: int
    n: int
    commitments: tuple[bytes, ...]  # C_0 = P, ..., C_{t-1}

    @property
    def public_key(self) -> bytes:
        return self.commitments[0]

    def encode(self) -> bytes:
        return self._encoded

    @functools.cached_property  # immutable: encoded and hashed once
    def _encoded(self) -> bytes:
        return encode(
            ["string", "uint256", "uint256", "bytes[]"],
            [SCHEME, self.threshold, self.n, list(self.commitments)],
        )

    @functools.cached_property
    def id(self) -> bytes:
        return keccak(self.encode())

    def verification_key(self, index: int) -> bytes:
        """X_i = f(i)·G, from the commitments alone."""
        return _verification_key(self.commitments, index)

    def to_json(self) -> dict[str, object]:
        return {
            "scheme": SCHEME,
            "threshold": self.threshold,
            "n": self.n,
            "commitments": ["0x" + c.hex() for c in self.commitments],
        }

    @classmethod
    def from_json(cls, doc: dict[str, object]) -> Keyset:
        commitments = doc["commitments"]
        assert isinstance(commitments, list)
        return cls(
            int(str(doc["threshold"])),
            int(str(doc["n"])),
            tuple(bytes.fromhex(str(c)[2:]) for c in commitments),
        )

    @classmethod
    def decode(cls, data: bytes) -> Keyset:
        """The inverse of ``encode`` (raises ``ValueError`` on anything else); every
        opening carries the same keyset: decoded once."""
        return _decode_keyset(data)

    @classmethod
    def _decode(cls, data: bytes) -> Keyset:
        from eth_abi import decode

        scheme, t, n, commitments = decode(["string", "uint256", "uint256", "bytes[]"], data)
        keyset = cls(int(t), int(n), tuple(bytes(c) for c in commitments))
        if scheme != SCHEME or not 1 <= keyset.threshold <= keyset.n <= 255:
            raise ValueError("not a keyset of this scheme")
        if len(keyset.commitments) != keyset.threshold:
            raise ValueError("a keyset has exactly t commitments")
        if not all(is_point(c) for c in keyset.commitments):
            raise ValueError("a commitment is not a curve point")
        return keyset


@functools.lru_cache(maxsize=16)
def _decode_keyset(data: bytes) -> Keyset:
    return Keyset._decode(data)


@dataclass(frozen=True)
class KeyShare:
    """What one keyper holds: its index (1..n), its secret share, the keyset."""

    index: int
    secret: int
    keyset: Keyset

    def to_json(self) -> str:
        doc = {"index": self.index, "secret": hex(self.secret), "keyset": self.keyset.to_json()}
        return json.dumps(doc, indent=2)

    @classmethod
    def from_json(cls, text: str) -> KeyShare:
        doc = json.loads(text)
        return cls(int(doc["index"]), int(doc["secret"], 16), Keyset.from_json(doc["keyset"]))


def deal(n: int, t: int, rand: Rand = random_scalar) -> tuple[Keyset, list[KeyShare]]:
    """The dealer (a devnet simplification): a random degree t-1 polynomial, its Feldman
    commitments, and f(1)..f(n)."""
    if not 1 <= t <= n <= 255:
        raise ValueError(f"need 1 <= threshold ({t}) <= keypers ({n}) <= 255")
    coefficients = [rand() % N or 1 for _ in range(t)]
    keyset = Keyset(t, n, tuple(base_mul(a) for a in coefficients))
    shares = []
    for i in range(1, n + 1):
        value = sum(a * pow(i, k, N) for k, a in enumerate(coefficients)) % N
        shares.append(KeyShare(i, value, keyset))
    return keyset, shares


# -- encapsulation ------------------------------------------------------------------------


def derive_key(shared: bytes, aad: bytes) -> bytes:
    """HKDF-SHA256 (RFC 5869) of K, 32 bytes: one HMAC to extract, one to expand (the
    same bytes as pycryptodome's HKDF, which tests compare; stdlib hmac is 10x faster)."""
    prk = hmac.digest(KEM_SALT, shared, "sha256")
    return hmac.digest(prk, keccak(aad) + b"\x01", "sha256")


def seal(
    public_key: bytes, plaintext: bytes, aad: bytes, r: int | None = None, nonce: bytes = b""
) -> tuple[bytes, bytes, bytes]:
    """Encrypt to ``public_key``: (C1, nonce, AES-GCM ciphertext || tag)."""
    r = random_scalar() if r is None else r
    nonce = nonce or secrets.token_bytes(12)
    key = derive_key(mul(public_key, r), aad)
    return base_mul(r), nonce, AESGCM(key).encrypt(nonce, plaintext, aad)  # body || tag


def open_sealed(shared: bytes, nonce: bytes, body: bytes, aad: bytes) -> bytes:
    """Decrypt with the shared point K (raises ``DecryptionFailed``)."""
    if len(nonce) != 12 or len(body) < 16:
        raise DecryptionFailed("malformed ciphertext")
    try:
        return AESGCM(derive_key(shared, aad)).decrypt(nonce, body, aad)
    except InvalidTag:
        raise DecryptionFailed("the ciphertext does not authenticate") from None


# -- decryption shares --------------------------------------------------------------------


@dataclass(frozen=True)
class Share:
    """Keyper ``index``'s decryption share D = x_i·C1 and its proof (c, z)."""

    index: int
    point: bytes
    c: int
    z: int

    def values(self) -> tuple[int, bytes, int, int]:
        return (self.index, self.point, self.c, self.z)

    def to_json(self) -> dict[str, str | int]:
        return {"index": self.index, "share": "0x" + self.point.hex(), "c": hex(self.c),
                "z": hex(self.z)}  # fmt: skip

    @classmethod
    def from_json(cls, doc: dict[str, object]) -> Share:
        return cls(
            int(str(doc["index"])),
            bytes.fromhex(str(doc["share"])[2:]),
            int(str(doc["c"]), 16),
            int(str(doc["z"]), 16),
        )


def _challenge(context: bytes, parts: Sequence[bytes]) -> int:
    return int.from_bytes(keccak(DLEQ_TAG + context + b"".join(parts)), "big") % N


def make_share(share: KeyShare, c1: bytes, context: bytes, rand: Rand = random_scalar) -> Share:
    """Keyper ``share.index``'s decryption share of C1, proven against its verification
    key, the proof bound to ``context``."""
    x_i = share.secret
    point = PublicKey(c1)  # parsed once for both products
    d = bytes(point.multiply((x_i % N).to_bytes(32, "big")).format())
    big_x = _public(x_i)
    while True:
        w = rand() % N or 1
        a, b = base_mul(w), bytes(point.multiply(w.to_bytes(32, "big")).format())
        c = _challenge(context, [big_x, c1, d, a, b])
        z = (w - c * x_i) % N
        if c and z:
            return Share(share.index, d, c, z)


@functools.lru_cache(maxsize=16)
def _public(secret: int) -> bytes:
    """X_i = x_i·G of a keyper's own share (the same for every release it makes)."""
    return base_mul(secret)


@functools.lru_cache(maxsize=1024)
def verify_share(keyset: Keyset, c1: bytes, context: bytes, share: Share) -> bool:
    """Whether ``share`` is keyper ``share.index``'s true share of C1 (for ``context``).
    Remembered (a pure function): the sequencer checks each share as it arrives and again
    when it opens the reveal."""
    if not (1 <= share.index <= keyset.n and 0 < share.c < N and 0 < share.z < N):
        return False
    if len(share.point) != 33 or len(c1) != 33:
        return False
    c, z = share.c.to_bytes(32, "big"), share.z.to_bytes(32, "big")
    try:  # A = z·G + c·X_i, B = z·C1 + c·D_i (points parsed once, not re-encoded between)
        big_x = keyset.verification_key(share.index)
        a = PublicKey.combine_keys([PublicKey.from_secret(z), _parsed(big_x).multiply(c)])
        b = PublicKey.combine_keys([_parsed(c1).multiply(z), PublicKey(share.point).multiply(c)])
    except ValueError:  # not a point, or a sum at infinity
        return False
    return _challenge(context, [big_x, c1, share.point, a.format(), b.format()]) == share.c


@functools.lru_cache(maxsize=64)
def _parsed(point: bytes) -> PublicKey:
    """A point used again and again (keypers' verification keys, a commit's C1)."""
    return PublicKey(point)


def lagrange_at_zero(index: int, indices: Sequence[int]) -> int:
    num, den = 1, 1
    for j in indices:
        if j != index:
            num = num * j % N
            den = den * (j - index) % N
    return num * pow(den, -1, N) % N


def combine(shares: Sequence[Share]) -> bytes:
    """K = Σ λ_i·D_i over the given shares (distinct indices; t of them)."""
    indices = [s.index for s in shares]
    if len(set(indices)) != len(indices):
        raise ValueError("shares must come from distinct keypers")
    return add([mul(s.point, lagrange_at_zero(s.index, indices)) for s in shares])

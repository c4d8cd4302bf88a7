"""Refusal certificates (pure): what makes a void of an encrypted commit provable.

A void says "keypers did not release in time". Without proof, a sequencer that did get
the shares (and read the bundle) could void it and later replay the victim's signed
transactions as plain items after its own. So a void carries the signatures of n-t+1
keypers, each saying "I have not released this ciphertext and never will":

    digest      = keccak256("xseqd/refuse/v1" || domainSeparator || commitId || keysetId)
    refusal i   = ECDSA (secp256k1, r || s || recid) over digest with keyper i's share
                  scalar x_i as the key; its public key is X_i = x_i·G, the verification
                  key anyone derives from the keyset's Feldman commitments
    certificate = abi.encode(bytes keyset, (uint256 index, bytes signature)[] refusals)
                  appended to VOID_OPENING in the void's payload (core/encrypted.py)

A keyper never refuses what it released and never releases what it refused (its
bindings file, xseqd/keyper.py). Since t + (n-t+1) > n, honest keypers cannot both have
released t shares and signed n-t+1 refusals: a certified void was unreadable. The
verifier checks a certificate from L1 data alone (core/reveals.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from coincurve import PrivateKey, PublicKey
from eth_abi import decode, encode
from eth_hash.auto import keccak

from xseqd.core.encrypted import Envelope
from xseqd.core.order import ReceiptDomain
from xseqd.core.threshold import Keyset, KeyShare

TAG = b"xseqd/refuse/v1"
CERTIFICATE_TYPES = ["bytes", "(uint256,bytes)[]"]


def needed(keyset: Keyset) -> int:
    """How many refusals make a certificate: n - t + 1."""
    return keyset.n - keyset.threshold + 1


def refusal_digest(domain: ReceiptDomain, item_id: bytes, keyset_id: bytes) -> bytes:
    return keccak(TAG + domain.separator() + item_id + keyset_id)


@dataclass(frozen=True)
class Refusal:
    """Keyper ``index``'s signature that it never released (nor will) a commit."""

    index: int
    signature: bytes

    def to_json(self) -> dict[str, object]:
        return {"index": self.index, "signature": "0x" + self.signature.hex()}

    @classmethod
    def from_json(cls, doc: dict[str, object]) -> Refusal:
        return cls(int(str(doc["index"])), bytes.fromhex(str(doc["signature"])[2:]))


def sign_refusal(share: KeyShare, domain: ReceiptDomain, item_id: bytes) -> Refusal:
    digest = refusal_digest(domain, item_id, share.keyset.id)
    key = PrivateKey(share.secret.to_bytes(32, "big"))
    return Refusal(share.index, key.sign_recoverable(digest, hasher=None))


def refusal_valid(keyset: Keyset, digest: bytes, refusal: Refusal) -> bool:
    """Whether ``refusal`` is keyper ``refusal.index``'s signature over ``digest``."""
    if not 1 <= refusal.index <= keyset.n or len(refusal.signature) != 65:
        return False
    try:
        public = PublicKey.from_signature_and_message(refusal.signature, digest, hasher=None)
    except Exception:
        return False
    return public.format(compressed=True) == keyset.verification_key(refusal.index)


@dataclass(frozen=True)
class Certificate:
    """n-t+1 refusals of one commit, with the keyset that checks them."""

    keyset: Keyset
    refusals: tuple[Refusal, ...]

    def encode(self) -> bytes:
        refusals = [(r.index, r.signature) for r in self.refusals]
        return encode(CERTIFICATE_TYPES, [self.keyset.encode(), refusals])

    @classmethod
    def decode(cls, data: bytes) -> Certificate:
        """Raises ``ValueError`` with what is wrong."""
        try:
            keyset, refusals = decode(CERTIFICATE_TYPES, data)
            ks = Keyset.decode(bytes(keyset))
        except Exception:
            raise ValueError("its refusal certificate does not decode") from None
        return cls(ks, tuple(Refusal(int(i), bytes(s)) for i, s in refusals))


def certificate_fault(envelope: bytes, certificate: bytes) -> str | None:
    """Why ``certificate`` does not prove that the commit of ``envelope`` was never
    released, or None if it does."""
    if not certificate:
        return "carries no refusal certificate (n-t+1 keypers' signatures)"
    try:
        env = Envelope.decode(envelope)
        cert = Certificate.decode(certificate)
    except ValueError as exc:
        return str(exc)
    if cert.keyset.id != env.keyset_id:
        return "its refusal certificate names another keyset than the ciphertext"
    digest = refusal_digest(env.domain, env.id, cert.keyset.id)
    signers = {r.index for r in cert.refusals if refusal_valid(cert.keyset, digest, r)}
    if len(signers) < needed(cert.keyset):
        return (f"carries {len(signers)} valid refusal(s), "
                f"{needed(cert.keyset)} needed (n-t+1)")  # fmt: skip
    return None

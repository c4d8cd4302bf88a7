"""Keypers' published releases, checked against the committed order (pure): what names a
sequencer that read an encrypted bundle and never revealed it (or revealed it later than
it could have read it).

A keyper's decryption share x_i·C1 does not depend on the binding; only its proof does.
So a sequencer can ask t keypers under t different bindings, combine the shares and read
the bundle, and hold no opening the reveal rule accepts at any one slot. Keypers publish
every release they made (``keyper_releases``, xseqd/keyper.py): the commit id, the seal
of its slot, the sequencer's signed binding (M_i, the order roots of N+1..M_i) and the
share with its proof. ``ReleaseWatch`` follows the committed order the verifier reads
from L1 (every slot's order root, each commit's slot and root, each reveal's or void's
slot); ``ReleaseWatch.findings`` takes the published releases and, for every commit
with t releases that check out — the seal and the binding signed by the sequencer, the
commit slot and root the ones committed, every root of N+1..M_i the committed one, the
share's proof valid under that binding — computes the earliest slot the sequencer could
have read it: M* = the largest M_i of the t releases with the smallest M_i. If slot
M*+1 is committed and the commit was not revealed there (not at all, or later), it is a
fault; the shares decrypt it, so the plaintext transactions (which the sequencer may
have replayed as plain items) are named too.

Keypers cannot check a binding's roots, only the sequencer's signature over them; a
share x_i·C1 combines whatever binding it was proven under. So every verified release
counts (seal and binding signed by the sequencer, proof valid), not only those over the
committed roots: a release whose seal of N, or whose binding for a committed slot of
N+1..M_i, names a root that is not the committed one is **equivocation** (the sequencer
signed an order it did not commit) and is named as such; for M* it counts as read at N
(it needed nothing but N's seal). A binding that reaches past the last committed slot
counts at its M_i until those slots are committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_abi import decode, encode
from eth_hash.auto import keccak

from xseqd.core import threshold
from xseqd.core.encrypted import (
    Envelope,
    digest_signer,
    release_context,
    seal_signer,
    span_root,
    split_payload,
)
from xseqd.core.items import Entry, ItemKind
from xseqd.core.order import ReceiptDomain, order_root
from xseqd.core.threshold import Keyset, Share


@dataclass(frozen=True)
class Release:
    """One keyper's published release of one commit."""

    commit_id: bytes
    slot: int
    order_root: bytes
    seal_signature: bytes
    after: int
    roots: tuple[bytes, ...]
    binding_signature: bytes
    share: Share

    @classmethod
    def from_json(cls, doc: Any) -> Release:
        """Parse one ``keyper_releases`` record (raises ``ValueError``)."""
        try:

            def hx(value: Any) -> bytes:
                return bytes.fromhex(str(value)[2:])

            after = doc["after"]
            return cls(hx(doc["id"]), int(doc["slot"]), hx(doc["orderRoot"]),
                       hx(doc["signature"]), int(after["slot"]),
                       tuple(hx(r) for r in after["roots"]), hx(after["signature"]),
                       Share.from_json(doc["share"]))  # fmt: skip
        except Exception as exc:
            raise ValueError(f"not a release record: {exc}") from None


@dataclass(frozen=True)
class Withheld:
    """A commit t keypers released bound up to slot ``after``, not revealed at after+1."""

    commit_id: bytes
    commit_slot: int
    after: int
    revealed_in: int | None  # None: never revealed (nor voided)
    keypers: tuple[int, ...]
    raw_txs: tuple[bytes, ...]
    reason: str
    kind: str = "withheld"  # or "equivocation": a binding over roots never committed

    @property
    def tx_hashes(self) -> list[bytes]:
        return [keccak(raw) for raw in self.raw_txs]


@dataclass
class ReleaseWatch:
    """The committed order as the verifier reads it, for checking releases against."""

    roots: dict[int, bytes] = field(default_factory=dict)
    commits: dict[bytes, tuple[int, bytes, bytes]] = field(default_factory=dict)
    settled: dict[bytes, tuple[int, bool]] = field(default_factory=dict)  # id -> slot, void

    def observe(self, slot: int, entries: Sequence[Entry]) -> None:
        root = order_root(slot, [e.hash for e in entries])
        self.roots[slot] = root
        for entry in entries:
            if entry.kind is not ItemKind.ENCRYPTED:
                continue
            envelope, opening = split_payload(entry.payload)
            if not opening:
                self.commits.setdefault(entry.id, (slot, root, envelope))
            else:
                self.settled.setdefault(entry.id, (slot, opening.startswith(b"xseqd/void/v1")))

    def usable(self, release: Release, keyset: Keyset, sequencer: str, env: Envelope) -> str | None:
        """Why ``release`` does not count against its commit, or None if it does (a
        verified release whose roots are not the committed ones counts: see ``fake``)."""
        slot, _, _ = self.commits[release.commit_id]
        root = release.order_root  # another root than the committed one: ``fake``
        if release.slot != slot:
            return "its seal is not of the committed slot"
        domain = ReceiptDomain(env.l1_chain_id, env.settlement)
        try:
            signer = seal_signer(domain, slot, root, release.seal_signature)
        except ValueError:
            return "its seal signature is malformed"
        if signer.lower() != sequencer.lower():
            return "its seal is not the sequencer's"
        between = range(slot + 1, release.after + 1)
        if release.after < slot or len(release.roots) != len(between):
            return "its binding does not name one root per slot"
        context = release_context(domain, slot, root, release.after, span_root(release.roots))
        try:
            bound = digest_signer(context, release.binding_signature)
        except ValueError:
            return "its binding signature is malformed"
        if bound.lower() != sequencer.lower():
            return "its binding is not signed by the sequencer"
        if not threshold.verify_share(keyset, env.c1, context, release.share):
            return "its share does not verify"
        return None

    def fake(self, release: Release) -> int | None:
        """The first committed slot of N..M whose root ``release``'s seal (N) or binding
        (N+1..M) misstates (the sequencer signed an order it did not commit), or None."""
        slot, root, _ = self.commits[release.commit_id]
        if release.order_root != root:
            return slot
        for n, r in zip(range(slot + 1, release.after + 1), release.roots, strict=False):
            if n in self.roots and self.roots[n] != r:
                return n
        return None

    def findings(
        self, releases: Sequence[Release], keyset: Keyset, sequencer: str
    ) -> list[Withheld]:
        """Every verified release over roots that are not the committed ones
        (equivocation), and every commit that t verified releases let the sequencer read
        by slot M* that was not revealed at M*+1 though M*+1 is committed (module
        docstring)."""
        last = max(self.roots, default=0)
        by_commit: dict[bytes, dict[int, tuple[int, Release]]] = {}  # index -> (M, release)
        out = []
        for release in releases:
            if release.commit_id not in self.commits:
                continue
            slot, _, envelope = self.commits[release.commit_id]
            try:
                env = Envelope.decode(envelope)
            except ValueError:
                continue
            if env.keyset_id != keyset.id or self.usable(release, keyset, sequencer, env):
                continue
            after, wrong = release.after, self.fake(release)
            if wrong is not None:
                after = slot  # it needed only N's seal: read as early as that
                out.append(_equivocation(release, slot, wrong, self.settled.get(release.commit_id)))
            known = by_commit.setdefault(release.commit_id, {})
            index = release.share.index
            if index not in known or after < known[index][0]:
                known[index] = (after, release)
        for commit_id, known in by_commit.items():
            if len(known) < keyset.threshold:
                continue
            ranked = sorted(known.values(), key=lambda k: k[0])[: keyset.threshold]
            chosen = [r for _, r in ranked]
            after = max(m for m, _ in ranked)
            where = self.settled.get(commit_id)
            if after + 1 > last or (where is not None and (where[1] or where[0] == after + 1)):
                continue  # not due yet, revealed in time, or voided (the ledger checks voids)
            slot, _, envelope = self.commits[commit_id]
            raws = _decrypt(Envelope.decode(envelope), [r.share for r in chosen])
            t = keyset.threshold
            head = f"commit 0x{commit_id.hex()} (slot {slot}): {t} keypers released it"
            if where is None:
                reason = f"{head} bound up to slot {after}; not revealed at slot {after + 1}"
            else:
                reason = (f"{head} bound up to slot {after}; revealed only at slot "
                          f"{where[0]} (withheld after it could be read)")  # fmt: skip
            keypers = tuple(sorted(r.share.index for r in chosen))
            revealed = None if where is None else where[0]
            out.append(Withheld(commit_id, slot, after, revealed, keypers, raws, reason))
        return sorted(out, key=lambda w: (w.commit_slot, w.kind != "equivocation", w.commit_id))


def _equivocation(
    release: Release, slot: int, wrong: int, where: tuple[int, bool] | None
) -> Withheld:
    """A verified release whose seal or binding the sequencer signed over a root of slot
    ``wrong`` that is not the committed one."""
    reason = (f"commit 0x{release.commit_id.hex()} (slot {slot}): keyper {release.share.index} "
              f"released it under a seal and binding the sequencer signed up to slot "
              f"{release.after} over order roots it never committed (slot {wrong}'s root "
              "differs): the sequencer could read it from the seal of its slot on")  # fmt: skip
    revealed = None if where is None else where[0]
    return Withheld(release.commit_id, slot, release.after, revealed,
                    (release.share.index,), (), reason, "equivocation")  # fmt: skip


def _decrypt(env: Envelope, shares: list[Share]) -> tuple[bytes, ...]:
    """The plaintext transactions under t verified shares (empty if it does not open)."""
    try:
        plaintext = threshold.open_sealed(threshold.combine(shares), env.nonce, env.body, env.aad)
        (raws,) = decode(["bytes[]"], plaintext)
        if encode(["bytes[]"], [list(raws)]) != plaintext:
            return ()
    except Exception:
        return ()
    return tuple(bytes(r) for r in raws)

"""Encrypted submissions at the sequencer: order the ciphertext now (its commit), and
reveal it at the top of a later slot once keypers released its slot's shares.

``EncryptedDesk.submit`` checks an envelope (this keyset, this deployment, maxSlot) and
orders its commit in the open slot: the receipt is over the ciphertext; nothing of the
content exists anywhere yet. ``pending`` lists sealed commits not yet revealed, in order
(they survive a restart: the log holds every commit and every reveal). ``seal`` is the
sequencer's signature over a sealed slot's order root, what keypers ask for. ``bind``
seals the open slot if it holds anything but reveals and returns the seal of the latest
sealed slot M; ``binding`` signs, per commit slot N, the release context over N's seal,
M and the span root of the order roots of slots N+1..M: keypers bind their shares to it,
and the reveal must sit at the top of slot M+1 (core/reveals.py). ``reveal`` turns
released shares into the reveal item and runs it through the slot transition at the top
of M+1 (held bundles due there run after it), so that nothing the sequencer could insert
after reading it runs before it. ``void`` orders a commit's void instead when keypers
did not release in time (aborted, "void: keypers did not release in time"), with the
refusal certificate n-t+1 keypers signed (core/refusals.py; sequencer/decryption.py
collects it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xseqd.core import transition
from xseqd.core.asks import ask_digest
from xseqd.core.atomic import Leg
from xseqd.core.encrypted import (
    Envelope,
    Opening,
    commit_payload,
    open_payload,
    release_context,
    reveal_payload,
    sign_digest,
    sign_seal,
    span_root,
    split_payload,
    void_payload,
)
from xseqd.core.items import Item, ItemKind
from xseqd.core.threshold import Keyset, Share
from xseqd.errors import InvalidParams, ServerBusy, XseqError
from xseqd.sequencer.intake import BundleRejected, check_slot_bounds
from xseqd.sequencer.lazybook import items_with_status
from xseqd.sequencer.sequencer import Sequencer

# A sealed bundle is at most what xseq_sendBundle takes (16 legs of geth's 128 KB), plus
# the envelope's header; commits waiting for their keypers (sealed, not yet revealed or
# voided) are capped in number and in bytes so that keypers down for long cannot make the
# node hold an unbounded backlog of ciphertexts: past either cap a submission is refused
# (-32005) and plain items flow. One slot's commits are at most two maximum-size
# ciphertexts: the keyper request for a slot carries them all, hex-encoded (twice the
# bytes), and must stay under the keyper's body limit (xseqd/keyperhttp.py MAX_BODY, 16 MB;
# tests/encryption/test_limits.py derives one from the other). Past it the submission is
# refused (-32005) and goes into a later slot when retried.
MAX_ENVELOPE_BYTES = 16 * 128 * 1024 + 4096
MAX_SLOT_CIPHERTEXT_BYTES = 2 * MAX_ENVELOPE_BYTES
MAX_PENDING_COMMITS = 1024
MAX_PENDING_BYTES = 64 * 1024 * 1024


class EncryptionOff(XseqError):
    """Raised when encrypted submission is asked for on a devnet without keypers."""

    code = -32601

    def __init__(self) -> None:
        super().__init__("encrypted submission is off (the devnet runs with --keypers 0)")


@dataclass(frozen=True)
class Seal:
    """The sequencer's signed statement that ``slot``'s order is final."""

    slot: int
    order_root: bytes
    entries: tuple[bytes, ...]
    signature: bytes


@dataclass(frozen=True)
class Binding:
    """The sequencer's signed request to open commits of slot N after slot M: the order
    roots of slots N+1..M, their span root, the signature over the release context."""

    slot: int  # M
    roots: tuple[bytes, ...]
    span: bytes
    signature: bytes

    def to_json(self) -> dict[str, object]:
        return {"slot": self.slot, "roots": ["0x" + r.hex() for r in self.roots],
                "signature": "0x" + self.signature.hex()}  # fmt: skip


def is_reveal(item: Item) -> bool:
    return item.kind is ItemKind.ENCRYPTED and bool(split_payload(item.payload)[1])


def is_commit(item: Item) -> bool:
    return item.kind is ItemKind.ENCRYPTED and not split_payload(item.payload)[1]


REMEMBERED_REVEALS = 1 << 16  # ~10 MB at most; a rewind reaching further back is rare


class EncryptedDesk:
    """Commits, seals and reveals of encrypted submissions for one sequencer."""

    def __init__(self, seq: Sequencer, key: bytes, keyset: Keyset | None) -> None:
        self.seq, self._key, self.keyset = seq, key, keyset
        self.backlog = 0  # sealed commits not yet revealed or voided, as ``pending`` last saw
        # commits that may still wait, by hash: filled by one scan of the book (after a
        # start or a rewind), then kept by ``submit`` / ``reveal`` / ``void``, so that the
        # decryption loop's ``pending`` after every seal does not walk the history
        self._waiting: dict[bytes, Item] | None = None
        self.backlog_bytes = 0  # their ciphertext bytes
        self._unblocked: list[tuple[int, bytes]] = []  # (rollup, sender) to promote: run_due
        # the last REMEMBERED_REVEALS commits revealed in this process, kept across rewinds:
        # the keypers released their shares bound to that order and release them under no
        # other, so the same ciphertext sent again after a rewind dropped its commit could
        # never be revealed (and every later commit would wait behind it): it is refused
        self.revealed: dict[bytes, None] = {}
        seq.listeners.on_rewind.append(self.rewound)

    def rewound(self, head: int) -> None:
        """After a rewind to ``head`` (evm_revert, an L1 invalidation): a commit still in
        a kept slot whose reveal or void was dropped is sealed and pending again."""
        book = self.seq.book
        self._waiting = None  # scanned again on the next ``pending``
        for slot in self.seq.slots:
            for item in slot.items:
                now = book.items.get(item.item_hash)
                if is_commit(item) and (now is None or now.slot is None or now.slot > head):
                    item.status = "sealed"
                    book.items[item.item_hash] = item

    def submit(self, envelope: bytes, max_slot: int | None = None) -> Item:
        """Order a ciphertext's commit in the open slot (raises on a bad envelope)."""
        if self.keyset is None:
            raise EncryptionOff()
        seq = self.seq
        if len(envelope) > MAX_ENVELOPE_BYTES:
            raise InvalidParams(f"ciphertext is larger than {MAX_ENVELOPE_BYTES} bytes")
        here = [len(split_payload(i.payload)[0]) for i in seq.book.open_items if is_commit(i)]
        waiting = self.backlog + len(here)
        if waiting >= MAX_PENDING_COMMITS:
            raise ServerBusy(f"{waiting} sealed bundles wait for their keypers (at most "
                             f"{MAX_PENDING_COMMITS}); retry later")  # fmt: skip
        held = self.backlog_bytes + sum(here)
        if held + len(envelope) > MAX_PENDING_BYTES:
            raise ServerBusy(f"{held} bytes of sealed bundles wait for their keypers "
                             f"(at most {MAX_PENDING_BYTES}); retry later")  # fmt: skip
        if sum(here) + len(envelope) > MAX_SLOT_CIPHERTEXT_BYTES:
            raise ServerBusy(f"the open slot holds {sum(here)} bytes of ciphertext (at most "
                             f"{MAX_SLOT_CIPHERTEXT_BYTES}); retry in the next slot")  # fmt: skip
        try:
            env = Envelope.decode(envelope)
        except ValueError as exc:
            raise InvalidParams(f"ciphertext: {exc}") from None
        if env.keyset_id != self.keyset.id:
            raise InvalidParams("ciphertext is encrypted to another keyset (xseq_encryptionKey)")
        if env.domain != seq.book.domain:
            raise InvalidParams("ciphertext is bound to another deployment (l1ChainId/settlement)")
        if max_slot is not None and max_slot != env.max_slot:
            raise InvalidParams(f"maxSlot {max_slot} differs from the ciphertext's {env.max_slot}")
        check_slot_bounds(None, env.max_slot or None, seq.head_slot + 1)
        item = Item(ItemKind.ENCRYPTED, (), commit_payload(envelope), "sealed")
        if item.item_hash in seq.book.items:
            raise BundleRejected(-38004, "ciphertext is already known")
        if item.item_hash in self.revealed:
            raise BundleRejected(-38004, "ciphertext was revealed before a rewind dropped it: "
                                 "its shares are bound to that order; encrypt the bundle "
                                 "again")  # fmt: skip
        seq.open_slot()
        item.max_slot = env.max_slot or None
        item.outcome = transition.apply_item(seq.rollups, item.kind, (), item.payload)
        seq.order(item)
        if self._waiting is not None:
            self._waiting[item.item_hash] = item
        return item

    def pending(self) -> list[Item]:
        """Commits in sealed slots that were not revealed yet, in their order."""
        head, items = self.seq.head_slot, self.seq.book.items
        if self._waiting is None:
            found = items_with_status(items, "sealed")
            self._waiting = {i.item_hash: i for i in found if is_commit(i)}
        for item_hash in list(self._waiting):  # revealed or voided since: its item replaced
            now = items.get(item_hash)
            if now is None or not is_commit(now) or now.status != "sealed":
                del self._waiting[item_hash]
        waiting = [i for i in self._waiting.values() if i.slot is not None and i.slot <= head]
        self.backlog = len(waiting)  # what ``submit`` caps (the decryption loop asks often)
        self.backlog_bytes = sum(len(split_payload(i.payload)[0]) for i in waiting)
        return sorted(waiting, key=lambda i: (i.slot or 0, i.index or 0))

    def commit_of(self, item_hash: bytes) -> Item | None:
        """The commit of the encrypted item ``item_hash`` (its place and receipt)."""
        for slot in reversed(self.seq.slots):
            for item in slot.items:
                if item.item_hash == item_hash and is_commit(item):
                    return item
        return None

    def seal(self, number: int) -> Seal:
        """Sign the sealed slot ``number``'s order root."""
        for slot in reversed(self.seq.slots):
            if slot.number == number:
                return self.seal_of(number, slot.items, slot.order_root)
        raise XseqError(f"slot {number} is not sealed here")

    def seal_of(self, number: int, items: tuple[Item, ...], order_root: bytes) -> Seal:
        """Sign slot ``number``'s final order (``items`` chaining to ``order_root``)."""
        entries = tuple(i.entry.hash for i in items)
        signature = sign_seal(self._key, self.seq.book.domain, number, order_root)
        return Seal(number, order_root, entries, signature)

    def bind(self) -> Seal:
        """Seal the open slot unless it holds only reveals; the seal of the latest sealed
        slot M, after which the next reveals go (at the top of M+1)."""
        seq = self.seq
        if seq.has_open_slot and not all(is_reveal(i) for i in seq.book.open_items):
            seq.seal_slot()
        return self.seal(seq.head_slot)

    def span(self, first: int, last: int) -> bytes:
        """The span root of this sequencer's sealed slots first+1..last."""
        roots = {s.number: s.order_root for s in self.seq.slots if first < s.number <= last}
        return span_root([roots.get(n, b"") for n in range(first + 1, last + 1)])

    def binding(self, seal: Seal, after: Seal) -> Binding:
        """Sign the binding of commits sealed in ``seal``'s slot N to the reveal slot
        ``after.slot`` + 1, over the order roots of every slot N+1..M."""
        roots: dict[int, bytes] = {}
        for slot in reversed(self.seq.slots):
            if slot.number <= seal.slot:
                break
            roots[slot.number] = slot.order_root
        between = tuple(roots[n] for n in range(seal.slot + 1, after.slot + 1))
        span = span_root(between)
        context = release_context(self.seq.book.domain, seal.slot, seal.order_root,
                                  after.slot, span)  # fmt: skip
        return Binding(after.slot, between, span, sign_digest(self._key, context))

    def authorize(self, request: dict[str, Any], index: int, method: str) -> dict[str, Any]:
        """``request`` with the sequencer's signature for keyper ``index`` and ``method``
        (core/asks.py): keypers act only on requests signed for them."""
        auth = sign_digest(self._key, ask_digest(request, index, method))
        return dict(request, auth="0x" + auth.hex())

    def can_reveal_after(self, after: Seal | Binding) -> bool:
        """Whether the next item ordered would still be at the top of slot after+1."""
        seq = self.seq
        return seq.head_slot == after.slot and all(is_reveal(i) for i in seq.book.open_items)

    def reveal(
        self,
        commit: Item,
        seal: Seal,
        after: Binding,
        shares: tuple[Share, ...],
        force: bool = False,
        bound: tuple[tuple[int, bytes], ...] = (),
    ) -> Item:
        """Order and run the reveal of ``commit`` with t verified ``shares`` bound to
        ``seal`` (its commit slot's) and ``after`` (the slot M it must follow and the span;
        ``force``: DEV ONLY --fault withhold, wherever the open slot is; ``bound``: each
        share's own binding (M_i, span_i), a mixed opening, when some were released in
        an earlier round)."""
        assert self.keyset is not None
        seq = self.seq
        if not force and not self.can_reveal_after(after):
            raise XseqError(f"slot {after.slot + 1} is no longer open for reveals")
        envelope = split_payload(commit.payload)[0]
        if bound:
            opening = Opening.mixed(seal.slot, seal.order_root, self.keyset,
                                    [(s, m, sp) for s, (m, sp) in zip(shares, bound,
                                                                       strict=True)])  # fmt: skip
        else:
            opening = Opening(seal.slot, seal.order_root, after.slot, after.span, self.keyset,
                              shares)  # fmt: skip
        payload = reveal_payload(envelope, opening)
        self._top_of_slot()
        opened = open_payload(payload, seq.head_slot + 1)
        legs = self._legs(opened.raws or ())
        item = Item(ItemKind.ENCRYPTED, legs, payload, "ordered")
        self.revealed[commit.item_hash] = None
        if len(self.revealed) > REMEMBERED_REVEALS:
            del self.revealed[next(iter(self.revealed))]
        item.outcome = transition.apply_item(seq.rollups, item.kind, item.legs, item.payload)
        item.status = "included" if item.outcome.included else "aborted"
        item.max_slot = commit.max_slot
        seq.order(item)
        for leg in legs if item.outcome.included else ():
            # queued transactions its senders unblocked run after every reveal of this
            # slot (``run_due``): here they would push the next reveal off the top
            self._unblocked.append((leg.chain_id, bytes(leg.tx.sender)))
            for callback in seq.listeners.on_pending:
                callback(leg.chain_id, leg.tx_hash)
        return item

    def void(self, commit: Item, certificate: bytes) -> Item:
        """Order ``commit``'s void at the top of a slot, with the refusal ``certificate``
        of n-t+1 keypers (DEV ONLY --fault readvoid: without one)."""
        seq = self.seq
        payload = void_payload(split_payload(commit.payload)[0], certificate)
        self._top_of_slot()
        item = Item(ItemKind.ENCRYPTED, (), payload, "ordered")
        item.outcome = transition.apply_item(seq.rollups, item.kind, (), payload)
        item.status = "aborted"
        item.max_slot = commit.max_slot
        seq.order(item)
        return item

    def run_due(self) -> None:
        """After the slot's reveals: the queued transactions the reveals' senders
        unblocked, then the held bundles due at the open slot."""
        seq = self.seq
        unblocked, self._unblocked = self._unblocked, []
        for chain_id, sender in unblocked:
            seq.promote(chain_id, sender)
        if seq.has_open_slot:
            for item in seq.book.due(seq.head_slot + 1):
                seq.bundles.run_held(item)

    def _legs(self, raws: tuple[bytes, ...]) -> tuple[Leg, ...]:
        """The decrypted transactions as legs; none if any does not decode (the item then
        aborts, the rule in core/transition.py)."""
        decode = transition.decoder(self.seq.rollups)
        legs = []
        for raw in raws:
            chain_id = transition.leg_chain_id(raw)
            if chain_id is None or chain_id not in self.seq.rollups:
                return ()
            try:
                tx = decode(chain_id, raw)
            except transition.TransitionFault:
                return ()
            legs.append(Leg(chain_id, tx, bytes(tx.hash)))
        return tuple(legs)

    def _top_of_slot(self) -> None:
        """Open a slot whose items so far are reveals only; held bundles due at it wait
        (``run_due`` runs them after the reveals)."""
        seq = self.seq
        for _ in range(3):
            held, seq.book.held = seq.book.held, []
            try:
                seq.open_slot()
            finally:
                seq.book.held = held + seq.book.held
            if all(is_reveal(i) for i in seq.book.open_items):
                return
            seq.seal_slot()
        raise XseqError("could not open a slot for reveals")

"""Mixed openings and published releases (issue 11, the hole a split read left open),
pure: the keypers' rules, the verifier's ledger and the release check.

- A reveal may carry t shares each with its own binding (M_i, span_i) — an honest
  sequencer recovering from a partial round — and must then sit at the top of slot
  max(M_i)+1 with every span_i the committed roots of N+1..M_i.
- Keypers publish their releases; from t of them (seal and binding signed by the
  sequencer, roots the committed ones, proofs valid) ``ReleaseWatch`` names a commit the
  sequencer could read and did not reveal at M*+1, and decrypts it.
"""

from __future__ import annotations

from typing import Any

from eth_hash.auto import keccak

from tests.core.test_redteam_encryption import ACCOUNTS, DOMAIN, release_request, transfer
from xseqd.core import encrypted as enc
from xseqd.core import threshold as th
from xseqd.core.items import Entry, ItemKind, RawLeg
from xseqd.core.order import order_root
from xseqd.core.releases import Release, ReleaseWatch
from xseqd.core.reveals import RevealLedger
from xseqd.keyper import Bindings, published, release

SEQUENCER = ACCOUNTS[1].address
N = 3
PLAIN = Entry(ItemKind.TRANSACTION, True, (RawLeg(901, transfer(901, 0)),))


def commit_entry(envelope: bytes) -> Entry:
    return Entry(ItemKind.ENCRYPTED, False, (), enc.commit_payload(envelope))


class Scenario:
    """A commit in slot N, slots N+1..N+2 with one plain item each; keyper 1 released
    bound to M = N (a partial round), keyper 2 bound to M = N+2."""

    def __init__(self) -> None:
        self.keyset, self.shares = th.deal(3, 2)
        self.raw = transfer(901)
        self.env = enc.encrypt_bundle(self.keyset, [self.raw], DOMAIN)
        self.root = order_root(N, [enc.commit_entry_hash(self.env.encode())])
        self.roots = [order_root(s, [PLAIN.hash]) for s in (N + 1, N + 2)]
        self.bindings = [Bindings(None) for _ in self.shares]
        self.first = self.ask(0, N)
        self.second = self.ask(1, N + 2)

    def ask(self, keyper: int, m: int, roots: list[bytes] | None = None) -> th.Share:
        roots = self.roots[: m - N] if roots is None else roots
        request = release_request(self.env.encode(), N, m, roots)
        answer = release(self.shares[keyper], SEQUENCER, request, self.bindings[keyper])[0]
        return th.Share.from_json(answer)

    def span(self, m: int) -> bytes:
        return enc.span_root(self.roots[: m - N])

    def reveal(self, bound: list[tuple[th.Share, int, bytes]]) -> Entry:
        opening = enc.Opening.mixed(N, self.root, self.keyset, bound)
        return Entry(ItemKind.ENCRYPTED, True, (RawLeg(901, self.raw),),
                     enc.reveal_payload(self.env.encode(), opening))  # fmt: skip

    def mixed(self) -> Entry:
        return self.reveal([(self.first, N, self.span(N)), (self.second, N + 2, self.span(N + 2))])

    def ledger(self, through: int = N + 2) -> RevealLedger:
        ledger = RevealLedger()
        for s in range(1, N):
            assert ledger.check(s, []) is None
        assert ledger.check(N, [commit_entry(self.env.encode())]) is None
        for s in range(N + 1, through + 1):
            assert ledger.check(s, [PLAIN]) is None
        return ledger

    def published(self) -> list[Release]:
        out = []
        for share, bindings in zip(self.shares, self.bindings, strict=True):
            out += [Release.from_json(r) for r in published(share, bindings, {})]
        return out


def test_a_mixed_opening_reveals_at_the_slot_after_its_highest_binding() -> None:
    s = Scenario()
    entry = s.mixed()
    opened = enc.open_payload(entry.payload, N + 3)
    assert opened.raws == (s.raw,) and opened.opening is not None
    assert opened.opening.after_slot == N + 2
    assert enc.Opening.decode(enc.split_payload(entry.payload)[1]) == opened.opening
    assert s.ledger().check(N + 3, [entry]) is None


def test_the_ledger_refuses_a_mixed_opening_below_or_above_its_slot() -> None:
    s = Scenario()
    below = s.ledger(N + 1).check(N + 2, [s.mixed()])  # at max(M_i) instead of max+1
    assert below is not None and "sits in slot" in below, below
    at_lowest = s.ledger(N).check(N + 1, [s.mixed()])  # at min(M_i)+1
    assert at_lowest is not None and "sits in slot" in at_lowest, at_lowest
    ledger = s.ledger()
    assert ledger.check(N + 3, [PLAIN]) is None
    above = ledger.check(N + 4, [s.mixed()])  # withheld a slot
    assert above is not None and "sits in slot" in above, above


def test_a_mixed_opening_with_a_binding_over_other_roots_is_named() -> None:
    s = Scenario()
    forged = [keccak(b"not what was committed")]
    other = s.ask(2, N + 1, forged)  # keyper 3, bound over a root N+1 never had
    entry = s.reveal([(s.first, N, s.span(N)), (other, N + 1, enc.span_root(forged))])
    assert enc.open_payload(entry.payload, N + 2).raws == (s.raw,)  # the proofs are fine
    breach = s.ledger(N + 1).check(N + 2, [entry])
    assert breach is not None and "asked for ahead of them" in breach, breach
    # and a share proven under one binding does not pass for another
    lying = s.reveal([(s.first, N + 2, s.span(N + 2)), (s.second, N + 2, s.span(N + 2))])
    try:
        enc.open_payload(lying.payload, N + 3)
        raise AssertionError("a share proven under M = N passed for M = N+2")
    except enc.OpeningFault as exc:
        assert "keyper 1" in str(exc)


def test_published_releases_name_a_split_read_and_decrypt_it() -> None:
    s = Scenario()  # read after keyper 2's share: t shares, two bindings, no reveal
    watch = ReleaseWatch()
    for slot in range(1, N):
        watch.observe(slot, [])
    watch.observe(N, [commit_entry(s.env.encode())])
    for slot in (N + 1, N + 2):
        watch.observe(slot, [PLAIN])
    releases = s.published()
    assert len(releases) == 2
    assert watch.findings(releases, s.keyset, SEQUENCER) == []  # slot N+3 not committed yet
    watch.observe(N + 3, [PLAIN])
    (found,) = watch.findings(releases, s.keyset, SEQUENCER)
    assert found.commit_id == s.env.id and found.after == N + 2 and found.revealed_in is None
    assert found.keypers == (1, 2)
    assert found.raw_txs == (s.raw,) and found.tx_hashes == [keccak(s.raw)]
    assert f"bound up to slot {N + 2}; not revealed at slot {N + 3}" in found.reason
    # one release is not enough; a release signed by another key does not count
    assert watch.findings(releases[:1], s.keyset, SEQUENCER) == []
    assert watch.findings(releases, s.keyset, ACCOUNTS[0].address) == []


def test_published_releases_accept_a_timely_mixed_reveal_and_name_a_late_one() -> None:
    s = Scenario()
    timely = ReleaseWatch()
    for slot in range(1, N):
        timely.observe(slot, [])
    timely.observe(N, [commit_entry(s.env.encode())])
    for slot in (N + 1, N + 2):
        timely.observe(slot, [PLAIN])
    timely.observe(N + 3, [s.mixed()])
    assert timely.findings(s.published(), s.keyset, SEQUENCER) == []
    # keyper 3 also released at M = N (so t shares existed at N): the mixed reveal at
    # N+3 came two slots after the sequencer could read it
    s.ask(2, N)
    late = ReleaseWatch(dict(timely.roots), dict(timely.commits), dict(timely.settled))
    (found,) = late.findings(s.published(), s.keyset, SEQUENCER)
    assert found.after == N and found.revealed_in == N + 3
    assert "withheld after it could be read" in found.reason


def test_a_release_record_that_does_not_parse_is_a_value_error() -> None:
    bad: Any = {"id": "0x00"}
    try:
        Release.from_json(bad)
        raise AssertionError("parsed")
    except ValueError as exc:
        assert "not a release record" in str(exc)

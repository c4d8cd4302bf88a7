"""Red team 2, finding 1 (issue 11): a sequencer asks keypers under bindings it signed
over order roots it never commits (keypers can only check its signature), combines the
shares and reads the bundle. ``ReleaseWatch.findings`` (``xseqd verify --keyper``) names
every such release as equivocation and counts it as read from the commit slot on, so the
read is named whether the bundle is never revealed or revealed later with a mixed
opening the plain ledger accepts. Pure: the keypers' rules, the ledger, the watch."""

from __future__ import annotations

from eth_hash.auto import keccak

from tests.core.test_mixed_openings import (
    DOMAIN,
    PLAIN,
    SEQUENCER,
    N,
    Scenario,
    commit_entry,
    enc,
    order_root,
    transfer,
)
from xseqd.core import threshold as th
from xseqd.core.encrypted import Envelope
from xseqd.core.releases import ReleaseWatch
from xseqd.core.reveals import RevealLedger
from xseqd.keyper import Bindings


def scenario(trades: int) -> Scenario:
    s = Scenario.__new__(Scenario)
    s.keyset, s.shares = th.deal(3, 2)
    s.raw = transfer(901)
    s.env = enc.encrypt_bundle(s.keyset, [s.raw], DOMAIN)
    s.root = order_root(N, [enc.commit_entry_hash(s.env.encode())])
    s.roots = [order_root(x, [PLAIN.hash]) for x in range(N + 1, N + 1 + trades)]
    s.bindings = [Bindings(None) for _ in s.shares]
    return s


def committed(s: Scenario, through: int) -> tuple[ReleaseWatch, RevealLedger]:
    """The commit in slot N, one plain item in each slot N+1..through."""
    watch, ledger = ReleaseWatch(), RevealLedger()
    for slot in range(1, N):
        watch.observe(slot, [])
        assert ledger.check(slot, []) is None
    c = commit_entry(s.env.encode())
    watch.observe(N, [c])
    assert ledger.check(N, [c]) is None
    for slot in range(N + 1, through + 1):
        watch.observe(slot, [PLAIN])
        assert ledger.check(slot, [PLAIN]) is None  # L1 alone: nothing wrong
    return watch, ledger


def test_a_split_read_under_fake_roots_is_named_as_equivocation_and_withheld() -> None:
    s = scenario(5)
    fake = [keccak(b"a root slot N+1 never had")]
    a, b = s.ask(0, N + 1, fake), s.ask(1, N + 1, fake)  # both under a fake M = N+1
    env = Envelope.decode(s.env.encode())
    assert s.raw in th.open_sealed(th.combine([a, b]), env.nonce, env.body, env.aad)
    watch, _ = committed(s, N + 5)  # never revealed
    found = watch.findings(s.published(), s.keyset, SEQUENCER)
    kinds = sorted(f.kind for f in found)
    assert kinds == ["equivocation", "equivocation", "withheld"], found
    for f in found:
        if f.kind == "equivocation":
            assert f"over order roots it never committed (slot {N + 1}'s root" in f.reason
    (read,) = [f for f in found if f.kind == "withheld"]
    # read from N's seal on: due at N+1
    assert f"bound up to slot {N}; not revealed at slot {N + 1}" in read.reason
    assert read.raw_txs == (s.raw,) and read.keypers == (1, 2)
    # before slot N+1 is committed nothing can be judged yet
    early, _ = committed(s, N)
    assert early.findings(s.published(), s.keyset, SEQUENCER) == []


def test_a_read_via_fake_roots_then_a_late_mixed_reveal_is_named() -> None:
    """Keyper 1 honest at M = N, keyper 2 under a fake root: read before N+1 is sealed;
    trades in N+1..N+4; keyper 3 honest at M = N+4 and a mixed reveal (1 and 3) at N+5,
    which the plain ledger accepts."""
    s = scenario(4)
    first = s.ask(0, N)
    fake = s.ask(1, N + 1, [keccak(b"never committed")])
    env = Envelope.decode(s.env.encode())
    assert s.raw in th.open_sealed(th.combine([first, fake]), env.nonce, env.body, env.aad)
    last = s.ask(2, N + 4)
    entry = s.reveal([(first, N, s.span(N)), (last, N + 4, s.span(N + 4))])
    watch, ledger = committed(s, N + 4)
    assert ledger.check(N + 5, [entry]) is None  # L1 alone: a valid mixed opening
    watch.observe(N + 5, [entry])
    found = watch.findings(s.published(), s.keyset, SEQUENCER)
    assert [f.kind for f in found] == ["equivocation", "withheld"], found
    assert found[0].keypers == (2,)
    assert f"bound up to slot {N}; revealed only at slot {N + 5}" in found[1].reason
    assert found[1].keypers == (1, 2)


def test_honest_releases_past_the_committed_slots_are_not_equivocation() -> None:
    """A binding whose roots reach past the last committed slot is judged only on the
    committed ones: keyper 2 at M = N+2 while only N+1 is committed names nothing."""
    s = scenario(2)
    s.ask(0, N)
    s.ask(1, N + 2)
    watch, _ = committed(s, N + 1)
    assert watch.findings(s.published(), s.keyset, SEQUENCER) == []
    later, _ = committed(s, N + 3)  # N+3 committed, no reveal there: withheld, not fake
    (found,) = later.findings(s.published(), s.keyset, SEQUENCER)
    assert found.kind == "withheld" and f"not revealed at slot {N + 3}" in found.reason


def seal_request(s: Scenario, extra: list[bytes]) -> dict[str, object]:
    """keyper_release of the commit (index 0) of slot N under M = N, the seal of N signed
    over the commit followed by ``extra`` entry hashes (another order of slot N)."""
    from tests.core.test_redteam_encryption import SEQUENCER_KEY
    from xseqd.core.asks import ask_digest

    entries = [enc.commit_entry_hash(s.env.encode()), *extra]
    root = order_root(N, entries)
    context = enc.release_context(DOMAIN, N, root, N, enc.span_root([]))
    request = {
        "domain": DOMAIN.to_json(), "slot": N, "orderRoot": "0x" + root.hex(),
        "signature": "0x" + enc.sign_seal(SEQUENCER_KEY, DOMAIN, N, root).hex(),
        "entries": ["0x" + e.hex() for e in entries],
        "items": [{"index": 0, "envelope": "0x" + s.env.encode().hex()}],
        "after": {"slot": N, "roots": [],
                  "signature": "0x" + enc.sign_digest(SEQUENCER_KEY, context).hex()},
    }  # fmt: skip
    auth = enc.sign_digest(SEQUENCER_KEY, ask_digest(request, 1, "keyper_release"))
    return dict(request, auth="0x" + auth.hex())


def test_a_seal_of_the_commit_slot_over_another_order_is_refused_and_named() -> None:
    """Red team 4, F3: keypers released a commit under a seal of slot N over one order
    (asked early, then the sequencer "crashed"); slot N is committed with another order
    (something joined it after the restart). A keyper never releases the same commit
    under a second root of slot N, and ``verify --keyper`` names the first release as
    equivocation, read from N on."""
    from xseqd.keyper import Refused, refuse, release

    s = scenario(1)
    shown = seal_request(s, [keccak(b"an item that later moved")])
    first = release(s.shares[0], SEQUENCER, shown, s.bindings[0])
    assert len(first) == 1
    honest = seal_request(s, [])  # the order slot N finally has: the commit alone
    try:
        release(s.shares[0], SEQUENCER, honest, s.bindings[0])
        raise AssertionError("released again under another root of slot N")
    except Refused as exc:
        assert "another order root of slot" in str(exc)
    assert len(release(s.shares[0], SEQUENCER, shown, s.bindings[0])) == 1  # same: again
    # nor through keyper_refuse (red team 5: it gave a fresh share under the new root)
    asked_again = dict(honest, auth="")
    (answer,) = refuse(s.shares[0], SEQUENCER, asked_again, s.bindings[0])
    assert "share" not in answer and answer.get("released") == [N, "0x" + enc.span_root([]).hex()]
    watch, _ = committed(s, N + 1)
    found = watch.findings(s.published(), s.keyset, SEQUENCER)
    assert [f.kind for f in found] == ["equivocation"], found
    assert f"(slot {N}'s root differs)" in found[0].reason and found[0].keypers == (1,)

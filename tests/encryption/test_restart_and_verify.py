"""Sealed items across a restart (nothing lost, nothing decrypted twice) and the
verifier over L1: an honest devnet with encrypted items verifies from L1 alone; a reveal
out of its sealed order, below the top of its slot, or whose legs are not the plaintext
is named as an execution fault."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from tests.encryption.support import SINK, client, rollup, transfer, verify, wait_for
from tests.l1.test_settlement import wait_posted
from xseqd.accounts import dev_accounts
from xseqd.config import Settings
from xseqd.core import encrypted as enc
from xseqd.core import threshold as th
from xseqd.core.items import Entry, ItemKind, RawLeg
from xseqd.core.order import ReceiptDomain
from xseqd.core.refusals import Certificate, sign_refusal
from xseqd.core.reveals import RevealLedger
from xseqd.l1.anvil import Anvil
from xseqd.node import NodeThread

KEYS = dev_accounts(4)


def reveal_rows(db: Path, item_hash: str) -> list[str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT status FROM items WHERE item_hash = ? ORDER BY seq",
            (bytes.fromhex(item_hash[2:]),),
        ).fetchall()
    return [r[0] for r in rows]


def test_restart_with_sealed_undecrypted_items(tmp_path: Path) -> None:
    settings = Settings.for_tests(data_dir=tmp_path, db="", keypers=2, keyper_threshold=2)
    first = NodeThread(settings)
    first.start()
    try:
        assert first.node.keypers is not None
        first.node.keypers.stop_all()  # nobody can decrypt
        seq = client(first)
        raw = transfer(902, KEYS[0], 0, 11)
        sent = seq.send_encrypted_bundle([raw])
        wait_for(lambda: first.node.sequencer.head_slot >= int(sent["slot"], 16), "the seal")
        assert seq.get_bundle(sent["bundleHash"])["status"] == "sealed"
    finally:
        first.stop()
    db = tmp_path / "xseqd.db"
    assert reveal_rows(db, sent["bundleHash"]) == ["sealed"]
    assert raw not in db.read_bytes()  # the log holds only the ciphertext
    for run in range(2):  # the first restart reveals it; the second must not again
        node = NodeThread(settings)
        node.start()
        try:
            seq = client(node)
            done = seq.wait_revealed(sent["bundleHash"])
            assert done["status"] == "included" and done["receipt"] == sent["receipt"]
            wait_for(lambda n=node: not n.node.sequencer.open_slot_needs_seal, "sealed")
            assert rollup(node, 902).eth.get_balance(SINK) == 11
            assert rollup(node, 902).eth.get_transaction_count(KEYS[0].address) == 1
        finally:
            node.stop()
        assert reveal_rows(db, sent["bundleHash"]) == ["sealed", "included"], run


def test_verify_re_executes_encrypted_items_from_l1_alone(anvil: Anvil, tmp_path: Path) -> None:
    settings = Settings.for_tests(l1_rpc=anvil.url, challenge_window=100, data_dir=tmp_path,
                                  db="", keypers=3, keyper_threshold=2)  # fmt: skip
    node = NodeThread(settings)
    node.start()
    try:
        seq = client(node)
        rollup(node, 901).eth.send_raw_transaction(transfer(901, KEYS[1], 0))
        sent = seq.send_encrypted_bundle(
            [transfer(901, KEYS[0], 0, 5), transfer(902, KEYS[0], 0, 6)]
        )
        bad = seq.send_encrypted_bundle([transfer(901, KEYS[2], 0, 10**30)])
        assert seq.wait_revealed(sent["bundleHash"])["status"] == "included"
        assert seq.wait_revealed(bad["bundleHash"])["status"] == "aborted"
        rollup(node, 902).eth.send_raw_transaction(transfer(902, KEYS[1], 0))
        wait_posted(node)
        head = node.node.sequencer.head_slot
    finally:
        node.stop()
    done = verify(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"OK: {head} slots re-executed" in done.stdout, done.stdout


# -- the rules the verifier applies, on entries a cheating sequencer could post -----------

DOMAIN = ReceiptDomain(0)


def commit_and_reveal(keyset: th.Keyset, shares: list[th.KeyShare], slot: int, root: bytes,
                      raws: list[bytes]) -> tuple[Entry, Entry]:  # fmt: skip
    env = enc.encrypt_bundle(keyset, raws, DOMAIN)
    return Entry(ItemKind.ENCRYPTED, False, (), enc.commit_payload(env.encode())), reveal_of(
        keyset, shares, env.encode(), raws, slot, root, slot, enc.span_root([]),
    )  # fmt: skip


def reveal_of(keyset: th.Keyset, shares: list[th.KeyShare], envelope: bytes, raws: list[bytes],
              slot: int, root: bytes, after: int, span: bytes) -> Entry:  # fmt: skip
    """The reveal of ``envelope`` committed in ``slot`` (``root``), bound to slot ``after``
    over the span root ``span`` of slots slot+1..after."""
    e = enc.Envelope.decode(envelope)
    ctx = enc.release_context(DOMAIN, slot, root, after, span)
    made = tuple(th.make_share(s, e.c1, ctx) for s in shares[: keyset.threshold])
    opening = enc.Opening(slot, root, after, span, keyset, made)
    legs = tuple(RawLeg(901, raw) for raw in raws)
    return Entry(ItemKind.ENCRYPTED, True, legs, enc.reveal_payload(envelope, opening))


def test_reveal_ledger_names_reorders_withheld_reveals_and_reveals_below_the_top() -> None:
    from xseqd.core.order import order_root

    keyset, shares = th.deal(3, 2)
    raws1, raws2 = [transfer(901, KEYS[0], 0)], [transfer(901, KEYS[1], 0)]
    c1, _ = commit_and_reveal(keyset, shares, 1, b"", raws1)
    c2, _ = commit_and_reveal(keyset, shares, 1, b"", raws2)
    root = order_root(1, [c1.hash, c2.hash])
    env1, env2 = (enc.split_payload(c.payload)[0] for c in (c1, c2))
    plain = Entry(ItemKind.TRANSACTION, True, (RawLeg(901, transfer(901, KEYS[3], 0)),))
    own = Entry(ItemKind.TRANSACTION, True, (RawLeg(901, transfer(901, KEYS[2], 0)),))
    root2 = order_root(2, [own.hash])  # slot 2 as a withholding sequencer seals it

    def reveal(
        env: bytes, raws: list[bytes], after: int = 1, roots: tuple[bytes, ...] = ()
    ) -> Entry:
        return reveal_of(keyset, shares, env, raws, 1, root, after, enc.span_root(roots))

    def ledger() -> RevealLedger:
        fresh = RevealLedger()
        assert fresh.check(1, [c1, c2]) is None
        return fresh

    # honest: released after slot 1 (the latest sealed), revealed at the top of slot 2
    assert ledger().check(2, [reveal(env1, raws1), reveal(env2, raws2), plain]) is None
    assert "out of its sealed order" in (
        ledger().check(2, [reveal(env2, raws2), reveal(env1, raws1)]) or ""
    )
    assert "after another item" in (ledger().check(2, [plain, reveal(env1, raws1)]) or "")
    wrong_root = commit_and_reveal(keyset, shares, 1, b"\x01" * 32, raws1)[1]
    _, opening = enc.split_payload(wrong_root.payload)
    forged = replace(wrong_root, payload=enc.commit_payload(env1) + opening)
    assert "another seal" in (ledger().check(2, [forged]) or "")
    # withheld: released after slot 1, the sequencer trades in slot 2, reveals in slot 3
    withheld = ledger()
    assert withheld.check(2, [own]) is None
    assert "sits in slot 3 (withheld)" in (withheld.check(3, [reveal(env1, raws1)]) or "")
    # ... and re-binding to slot 2 needs shares for slot 2 (keypers refuse: test_keyper_*);
    # with a root of slot 2 other than the committed one, the ledger names it
    fake = ledger()
    assert fake.check(2, [own]) is None
    bound_fake = reveal(env1, raws1, after=2, roots=(b"\x07" * 32,))
    assert "asked for ahead of them" in (fake.check(3, [bound_fake]) or "")
    assert "slot 4 that was not committed" in (fake.check(5, [reveal(env1, raws1, 4)]) or "")
    honest_late = ledger()
    assert honest_late.check(2, [own]) is None
    assert honest_late.check(3, [reveal(env1, raws1, 2, (root2,))]) is None

    # a void: at the top, in commit order, like a reveal, with its refusal certificate
    def void(env: bytes, certified: bool = True) -> Entry:
        item_id = enc.Envelope.decode(env).id
        refusals = tuple(sign_refusal(s, DOMAIN, item_id) for s in shares[:2])
        cert = Certificate(keyset, refusals).encode() if certified else b""
        return Entry(ItemKind.ENCRYPTED, False, (), enc.void_payload(env, cert))

    assert ledger().check(5, [void(env1), plain]) is None
    assert "after another item" in (ledger().check(5, [plain, void(env1)]) or "")
    assert "out of its sealed order" in (ledger().check(5, [void(env2)]) or "")
    assert "no refusal certificate" in (ledger().check(5, [void(env1, False)]) or "")


def test_a_reveal_whose_legs_are_not_the_plaintext_never_re_derives() -> None:
    from tests.core.test_transition_rules import rollups
    from xseqd.core.transition import TransitionFault, items_of, replay_slot

    keyset, shares = th.deal(3, 2)
    honest_raws = [transfer(901, KEYS[0], 0, 5)]
    _, honest = commit_and_reveal(keyset, shares, 1, b"\x02" * 32, honest_raws)
    swapped = replace(honest, legs=(RawLeg(901, transfer(901, KEYS[0], 0, 6)),))
    claimed_undecryptable = replace(honest, included=False, legs=())
    for cheat, why in ((swapped, "not the ciphertext's plaintext"),
                       (claimed_undecryptable, "")):  # fmt: skip
        chains = rollups()
        with pytest.raises(TransitionFault) as info:
            replay_slot(chains, 1_900_000_000, items_of(chains, [cheat]))
        assert info.value.kind == "execution" and why in info.value.reason
    chains = rollups()  # control: the honest reveal re-derives
    replay_slot(chains, 1_900_000_000, items_of(chains, [honest]))


def test_verify_names_reveals_posted_out_of_sealed_order(anvil: Anvil, tmp_path: Path) -> None:
    """The third row of the sandwich table: a sequencer that reorders after decryption
    (here: posts slot 2's two reveals reversed, --fault order:2) is named by verify."""
    settings = Settings.for_tests(
        l1_rpc=anvil.url, challenge_window=100, data_dir=tmp_path, db="", keypers=2,
        keyper_threshold=2, fault="order:2",
    )  # fmt: skip
    node = NodeThread(settings)
    node.start()
    try:
        seq, a = client(node), rollup(node, 901)
        a.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
        first = seq.send_encrypted_bundle([transfer(901, KEYS[0], 0, 5)])
        second = seq.send_encrypted_bundle([transfer(901, KEYS[1], 0, 6)])
        assert first["slot"] == second["slot"] == "0x1"
        a.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        for sent in (first, second):
            assert seq.wait_revealed(sent["bundleHash"])["executedSlot"] == "0x2"
        a.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
        wait_posted(node)
    finally:
        node.stop()
    done = verify(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "BAD slot 2 (execution)" in done.stdout and "sealed order" in done.stdout, done.stdout

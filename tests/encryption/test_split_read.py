"""A sequencer that reads an encrypted bundle and never reveals it is named (issue 11),
end to end with real keyper processes, and an honest sequencer recovers from a partial
round with a mixed opening:

- ``--fault splitread`` (DEV ONLY, real anvil): the sequencer asks keyper 1 under one
  binding, seals a slot of its own, asks keyper 2 under the next: t shares, two bindings,
  it reads the bundle and neither reveals nor voids it. ``xseqd verify`` from L1 alone
  sees a pending commit (OK: visible, not attributable); ``xseqd verify --keyper URL``
  (keypers restarted from their files) names the commit and the plaintext transaction
  the sequencer could replay;
- honest recovery: keyper 1 released, keypers 2 and 3 died mid-request; only keyper 2
  comes back. Keyper 1 answers its old binding, keyper 2 the current one: the commit is
  revealed at max(M_i)+1 with a mixed opening, and the verifier's ledger accepts it.
"""

from __future__ import annotations

from pathlib import Path

from eth_hash.auto import keccak

from tests.encryption.support import client, partial_round, rollup, transfer, verify, wait_for
from tests.encryption.test_reveal_binding import check_ledger
from tests.l1.test_settlement import wait_posted
from xseqd.accounts import dev_accounts
from xseqd.config import Settings
from xseqd.core import encrypted as enc
from xseqd.keyper import KeyperSet
from xseqd.l1.anvil import Anvil
from xseqd.node import NodeThread

KEYS = dev_accounts(10)


def test_verify_with_the_keypers_names_a_split_read(anvil: Anvil, tmp_path: Path) -> None:
    settings = Settings.for_tests(l1_rpc=anvil.url, challenge_window=100, data_dir=tmp_path,
                                  db="", keypers=3, keyper_threshold=2,
                                  fault="splitread")  # fmt: skip
    node = NodeThread(settings)
    node.start()
    try:
        keypers, decryptor = node.node.keypers, node.node.decryptor
        assert keypers is not None and decryptor is not None
        seq, a = client(node), rollup(node, 901)
        victim = KEYS[0]
        signed = transfer(901, victim, 0, 5)
        sent = seq.send_encrypted_bundle([signed])
        commit_id = bytes.fromhex(sent["bundleHash"][2:])
        wait_for(lambda: commit_id in decryptor.read, "the sequencer to read the bundle")
        assert seq.get_bundle(sent["bundleHash"])["status"] == "sealed"  # never revealed
        for i in (1, 2):  # two keypers released it, each under another binding
            lines = (keypers.directory / f"keyper-{i}.bindings.json").read_text()
            assert sent["bundleHash"] in lines
        third = keypers.directory / "keyper-3.bindings.json"
        assert not third.exists() or sent["bundleHash"] not in third.read_text()
        # what it read: the victim's transaction, still valid, replayed as a plain item
        tx = a.eth.send_raw_transaction(signed)
        assert a.eth.wait_for_transaction_receipt(tx, timeout=20)["status"] == 1
        wait_posted(node)
        directory, keyset, sequencer = keypers.directory, keypers.keyset, keypers.sequencer
    finally:
        node.stop()
    alone = verify(tmp_path)  # L1 alone: a commit pending forever is not a fault
    assert alone.returncode == 0, alone.stdout + alone.stderr
    published = KeyperSet(directory, keyset, sequencer)  # restarted from their files
    published.start_all()
    try:
        flags = [arg for url in published.urls for arg in ("--keyper", url)]
        out = verify(tmp_path, *flags)
    finally:
        published.stop_all()
    assert out.returncode == 1, out.stdout + out.stderr
    assert f"WITHHELD commit {sent['bundleHash']}" in out.stdout, out.stdout
    assert "2 keypers released it bound up to slot" in out.stdout, out.stdout
    assert "not revealed at slot" in out.stdout, out.stdout
    assert f"plaintext transaction 0x{keccak(signed).hex()}" in out.stdout, out.stdout
    assert "(the L1 order alone: OK" in out.stdout, out.stdout


def test_a_partial_round_is_recovered_with_a_mixed_opening() -> None:
    """2 of 3 keypers: keyper 1 releases, keypers 2 and 3 die mid-request. Only keyper 2
    comes back: keyper 1 is bound to the old binding, so no t shares under any one
    binding exist — a mixed opening (keyper 1's old, keyper 2's current) reveals it."""
    node = NodeThread(Settings.for_tests(keypers=3, keyper_threshold=2))
    node.start()
    try:
        victim, other = KEYS[7], KEYS[8]
        keypers, decryptor, sent = partial_round(node, victim)
        seq, a = client(node), rollup(node, 901)
        tx = a.eth.send_raw_transaction(transfer(901, other, 0))  # plain items flow: M moves
        assert a.eth.wait_for_transaction_receipt(tx, timeout=20)["status"] == 1
        keypers.start(2)  # keyper 3 stays down
        decryptor.urls = [u for i, u in zip(sorted(keypers.ports), keypers.urls) if i != 3]
        done = seq.wait_revealed(sent["bundleHash"])
        assert done["status"] == "included", done
        assert a.eth.get_transaction_count(victim.address) == 1
        item = node.node.sequencer.book.items[bytes.fromhex(sent["bundleHash"][2:])]
        opening = enc.Opening.decode(enc.split_payload(item.payload)[1])
        binds = dict(zip((s.index for s in opening.shares), opening.share_bindings()))
        assert sorted(binds) == [1, 2], binds
        assert binds[1][0] < binds[2][0] == opening.after_slot, binds  # mixed: 1's is older
        assert item.slot == opening.after_slot + 1
        wait_for(lambda: not node.node.sequencer.open_slot_needs_seal, "the last seal")
        assert (item.slot, opening.after_slot) in check_ledger(node)
    finally:
        node.stop()

"""A void must carry a refusal certificate (issue 11, red-team finding 4), end to end on
a real anvil with real keyper processes (2 of 2: a certificate needs 2 - 2 + 1 = 1
refusal):

- ``--fault readvoid`` (DEV ONLY): the sequencer takes the shares, reads the bundle and
  voids it anyway, as if keypers had been late. It cannot get a certificate (a keyper
  never refuses what it released), so ``xseqd verify`` names the void from L1 data alone,
  and the plaintext it read (the victim's signed transaction) is its own to replay;
- the honest path: a keyper hung past the timeout refuses, the commit is voided with a
  certificate, the victim's next bundle goes through, and ``xseqd verify`` says OK.
"""

from __future__ import annotations

from pathlib import Path

from tests.encryption.support import (
    client,
    nonce,
    partial_round,
    rollup,
    transfer,
    verify,
    wait_for,
)
from tests.l1.test_settlement import wait_posted
from xseqd.accounts import dev_accounts
from xseqd.config import Settings
from xseqd.core import encrypted as enc
from xseqd.core.refusals import certificate_fault
from xseqd.keyper import KeyperSet
from xseqd.l1.anvil import Anvil
from xseqd.node import NodeThread

KEYS = dev_accounts(10)


def void_of(node: NodeThread, bundle_hash: str) -> tuple[bytes, bytes]:
    item = node.node.sequencer.book.items[bytes.fromhex(bundle_hash[2:])]
    envelope, opening = enc.split_payload(item.payload)
    assert enc.is_void(opening), opening
    return envelope, opening[len(enc.VOID_OPENING) :]


def test_verify_names_a_void_after_reading(anvil: Anvil, tmp_path: Path) -> None:
    settings = Settings.for_tests(l1_rpc=anvil.url, challenge_window=100, data_dir=tmp_path,
                                  db="", keypers=2, keyper_threshold=2,
                                  fault="readvoid")  # fmt: skip
    node = NodeThread(settings)
    node.start()
    try:
        seq, a = client(node), rollup(node, 901)
        victim = KEYS[0]
        signed = transfer(901, victim, 0, 5)
        sent = seq.send_encrypted_bundle([signed])
        done = seq.wait_revealed(sent["bundleHash"])
        assert done["status"] == "aborted", done
        assert done["abort"]["reason"] == "void: keypers did not release in time", done
        voided_in = int(done["executedSlot"], 16)
        envelope, certificate = void_of(node, sent["bundleHash"])
        assert certificate == b""  # it has none: both keypers released
        assert a.eth.get_transaction_count(victim.address) == 0
        # what the void hid: the victim's transaction, still valid, the sequencer can send
        tx = a.eth.send_raw_transaction(signed)
        assert a.eth.wait_for_transaction_receipt(tx, timeout=20)["status"] == 1
        wait_posted(node)
    finally:
        node.stop()
    out = verify(tmp_path)
    assert out.returncode == 1, out.stdout + out.stderr
    assert f"BAD slot {voided_in} (execution)" in out.stdout, out.stdout
    assert "a void that carries no refusal certificate" in out.stdout, out.stdout


def test_a_hung_keyper_refuses_and_the_certified_void_verifies(
    anvil: Anvil, tmp_path: Path
) -> None:
    settings = Settings.for_tests(l1_rpc=anvil.url, challenge_window=100, data_dir=tmp_path,
                                  db="", keypers=2, keyper_threshold=2)  # fmt: skip
    node = NodeThread(settings)
    node.start()
    try:
        keypers = node.node.keypers
        assert keypers is not None
        keypers.stop(2)
        keypers.extra_args[2] = ["--release-delay", "3"]  # up, but hung past the timeout
        keypers.start(2)
        node.node.decryptor.urls = keypers.urls  # type: ignore[union-attr]
        seq, a = client(node), rollup(node, 901)
        victim = KEYS[5]
        sent = seq.send_encrypted_bundle([transfer(901, victim, nonce(node, 901, victim), 4)])
        done = seq.wait_revealed(sent["bundleHash"])
        assert done["status"] == "aborted", done
        assert done["abort"]["reason"] == "void: keypers did not release in time", done
        assert done["legs"] == [] and done["receipt"] == sent["receipt"]
        assert certificate_fault(*void_of(node, sent["bundleHash"])) is None  # keyper 2's
        assert a.eth.get_transaction_count(victim.address) == 0  # its legs never ran
        keypers.stop(2)
        keypers.extra_args.pop(2)
        keypers.start(2)
        node.node.decryptor.urls = keypers.urls  # type: ignore[union-attr]
        later = seq.send_encrypted_bundle([transfer(901, victim, 0, 4)])
        assert seq.wait_revealed(later["bundleHash"])["status"] == "included"
        wait_for(lambda: not node.node.sequencer.open_slot_needs_seal, "the last seal")
        wait_posted(node)
        directory, keyset, sequencer = keypers.directory, keypers.keyset, keypers.sequencer
    finally:
        node.stop()
    out = verify(tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "OK" in out.stdout, out.stdout
    # with the keypers' published releases too: the voided commit had one release (fewer
    # than t), the later one was revealed in time: nothing withheld
    published = KeyperSet(directory, keyset, sequencer)
    published.start_all()
    try:
        out = verify(tmp_path, *[a for url in published.urls for a in ("--keyper", url)])
    finally:
        published.stop_all()
    assert out.returncode == 0, out.stdout + out.stderr
    assert "3 release(s) published by 2 keyper(s)" in out.stdout, out.stdout
    assert "OK" in out.stdout and "WITHHELD" not in out.stdout, out.stdout


def test_a_commit_with_neither_shares_nor_refusals_waits_and_is_retried() -> None:
    """2 of 3 keypers: keypers 2 and 3 die in the middle of a release (hung, then killed,
    before they recorded anything). Keyper 1 released, so it will not refuse: neither t
    shares nor n-t+1 = 2 refusals. The commit is not voided (it could not be certified):
    it waits, reported; plain items flow; once 2 and 3 are back it is revealed."""
    node = NodeThread(Settings.for_tests(keypers=3, keyper_threshold=2))
    node.start()
    try:
        victim, other = KEYS[7], KEYS[8]
        keypers, decryptor, sent = partial_round(node, victim)
        seq, a = client(node), rollup(node, 901)
        assert seq.get_bundle(sent["bundleHash"])["status"] == "sealed"
        assert seq.encryption_key()["status"]["unsettled"] == 1
        tx = a.eth.send_raw_transaction(transfer(901, other, 0))  # plain items flow
        assert a.eth.wait_for_transaction_receipt(tx, timeout=20)["status"] == 1
        for i in (2, 3):
            keypers.start(i)
        decryptor.urls = keypers.urls
        done = seq.wait_revealed(sent["bundleHash"])
        assert done["status"] == "included", done
        assert a.eth.get_transaction_count(victim.address) == 1
        assert decryptor.unsettled == 0
    finally:
        node.stop()

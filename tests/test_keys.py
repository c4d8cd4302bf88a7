"""Where the devnet's keys come from: supplied, kept in the data dir (0600), or fresh."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from eth_account import Account
from eth_hash.auto import keccak
from eth_keys import keys as ek

from xseqd.config import Settings, add_arguments, resolve
from xseqd.errors import XseqError
from xseqd.keys import devnet_keys, hash_signer, sign_hash, verifier_key


def test_keys_are_kept_in_the_data_dir_and_reused(tmp_path: Path) -> None:
    settings = Settings.for_tests(data_dir=tmp_path, db="")
    first = devnet_keys(settings)
    assert first.sequencer != first.verifier
    for name in ("sequencer.key", "verifier.key"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o600
    assert devnet_keys(settings) == first
    assert verifier_key(None, tmp_path) == first.verifier


def test_nothing_kept_means_fresh_keys(tmp_path: Path) -> None:
    memory = Settings.for_tests(data_dir=tmp_path, db="memory")
    assert devnet_keys(memory) != devnet_keys(memory)
    assert not list(tmp_path.iterdir())
    assert devnet_keys(Settings.for_tests()) != devnet_keys(Settings.for_tests())


def test_supplied_keys_win_and_are_not_written(tmp_path: Path) -> None:
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    seq, ver = Account.create(), Account.create()
    args = parser.parse_args(["--sequencer-key", seq.key.hex(), "--data-dir", str(tmp_path)])
    settings = resolve(args, {"XSEQD_VERIFIER_KEY": "0x" + ver.key.hex(), "XSEQD_DB": ""})
    keys = devnet_keys(settings)
    assert keys.sequencer_address == seq.address and keys.verifier_address == ver.address
    assert not list(tmp_path.iterdir())
    assert "sequencer_key" not in repr(settings)  # secrets stay out of logs


@pytest.mark.parametrize("bad", ["0x1234", "zz" * 32, "00" * 32])
def test_a_supplied_key_must_be_a_private_key(bad: str) -> None:
    with pytest.raises(XseqError, match="--sequencer-key is not a 32-byte hex private key"):
        devnet_keys(Settings.for_tests(sequencer_key=bad))


def test_the_verifier_key_must_differ_from_the_sequencer_key() -> None:
    key = Account.create().key.hex()
    with pytest.raises(XseqError, match="must be different"):
        devnet_keys(Settings.for_tests(sequencer_key=key, verifier_key=key))


def test_sign_hash_gives_eth_keys_bytes_and_hash_signer_recovers_the_signer() -> None:
    """The fast signer (every receipt, seal and keyper request) must give exactly the
    signature eth-keys gives, so receipts signed before and after it are the same bytes."""
    for i in range(20):
        key = keccak(b"key" + bytes([i]))
        digest = keccak(b"digest" + bytes([i]))
        sig = ek.PrivateKey(key).sign_msg_hash(digest)
        want = sig.r.to_bytes(32, "big") + sig.s.to_bytes(32, "big") + bytes([sig.v + 27])
        assert sign_hash(key, digest) == want
        address = ek.PrivateKey(key).public_key.to_checksum_address()
        assert hash_signer(digest, want) == address
        assert hash_signer(keccak(digest), want) != address  # another digest: another signer
    for bad in (want[:64], want[:64] + b"\x01", b"\xff" * 64 + b"\x1b"):
        with pytest.raises(ValueError):
            hash_signer(digest, bad)

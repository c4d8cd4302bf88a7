"""The genesis description committed on L1 stays small for big devnets: the standard dev
mnemonic's first N accounts are described by their count (100,000 listed addresses made the
Settlement deployment too big for anvil), and the verifier rebuilds the same genesis."""

from __future__ import annotations

import json

from xseqd.accounts import address_of, dev_keys
from xseqd.chains.genesis import (
    LISTED_ACCOUNTS,
    Genesis,
    RollupSpec,
    devnet_genesis,
    genesis_description,
    specs_from_description,
)


def _same(a: Genesis, b: Genesis) -> bool:
    """Equal genesis: state and header parameters (VM classes are made per call)."""
    return (a.state, a.params) == (b.state, b.params) and a.state != {}


def _spec(addresses: list[bytes]) -> RollupSpec:
    return RollupSpec(901, "a", devnet_genesis(addresses), "test", {"chain_id": 901})


def test_standard_dev_accounts_are_described_by_count_and_rebuilt_identically() -> None:
    n = LISTED_ACCOUNTS + 50
    addresses = [address_of(k) for k in dev_keys(n)]
    doc = genesis_description([_spec(addresses)], addresses)
    assert doc["devAccountCount"] == n and "accounts" not in doc
    assert len(json.dumps(doc)) < 1_000  # not one address per account
    (rebuilt,) = specs_from_description(json.loads(json.dumps(doc)))
    assert _same(rebuilt.genesis, devnet_genesis(addresses))


def test_other_accounts_and_small_devnets_are_listed() -> None:
    few = [address_of(k) for k in dev_keys(3)]
    assert genesis_description([_spec(few)], few)["accounts"] == ["0x" + a.hex() for a in few]
    many = [bytes([i % 256, i // 256]) + b"\x11" * 18 for i in range(LISTED_ACCOUNTS + 1)]
    doc = genesis_description([_spec(many)], many)
    assert "devAccountCount" not in doc and len(doc["accounts"]) == len(many)
    (rebuilt,) = specs_from_description(doc)
    assert _same(rebuilt.genesis, devnet_genesis(many))

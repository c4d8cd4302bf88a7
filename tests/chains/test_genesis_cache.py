"""Large genesis (chains/genesis_cache.py): the bulk-built state is py-evm's own, the store
is kept in the data dir and loaded from it, and a different genesis never loads it.

Must never happen: a bulk or cached genesis with another state root or block hash than
py-evm's ``from_genesis`` (every block after it would differ from the verifier's).
"""

from __future__ import annotations

from pathlib import Path

from eth.chains.base import Chain
from eth.db.atomic import AtomicDB
from eth_typing import Address

from xseqd.accounts import DevKeyring
from xseqd.chains.genesis import devnet_genesis
from xseqd.chains.genesis_cache import genesis_chain


def chain_class(genesis: object) -> type[Chain]:
    return Chain.configure(vm_configuration=genesis.vm_configuration, chain_id=901)  # type: ignore[attr-defined]


def test_bulk_genesis_equals_py_evm_and_is_cached(tmp_path: Path) -> None:
    ring = DevKeyring(40)
    genesis = devnet_genesis(ring.addresses)
    cls = chain_class(genesis)
    reference = cls.from_genesis(AtomicDB(), genesis.params, genesis.state)
    bulk = genesis_chain(cls, genesis, tmp_path, bulk_from=1)
    want = reference.get_canonical_head()
    assert bulk.get_canonical_head() == want
    files = list(tmp_path.glob("genesis-*.bin"))
    assert len(files) == 1
    loaded = genesis_chain(cls, genesis, tmp_path, bulk_from=1)  # from the file now
    assert loaded.get_canonical_head().hash == want.hash
    state = loaded.get_vm().state
    for address in ring.addresses:
        assert state.get_balance(Address(address)) == genesis.state[address]["balance"]
    for address, account in genesis.state.items():
        assert state.get_code(Address(address)) == account["code"]
        for slot, value in account["storage"].items():
            assert state.get_storage(Address(address), slot) == value
    other = devnet_genesis(DevKeyring(41).addresses)
    assert genesis_chain(cls, other, tmp_path, bulk_from=1).get_canonical_head() == (
        cls.from_genesis(AtomicDB(), other.params, other.state).get_canonical_head()
    )
    assert len(list(tmp_path.glob("genesis-*.bin"))) == 2  # its own file


def test_a_small_genesis_leaves_nothing_in_the_data_dir(tmp_path: Path) -> None:
    genesis = devnet_genesis(DevKeyring(10).addresses)
    genesis_chain(chain_class(genesis), genesis, tmp_path)
    assert list(tmp_path.iterdir()) == []

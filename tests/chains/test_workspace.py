"""The open-block engine: nested snapshots really undo multi-transaction work, and the
blocks we build re-import with py-evm's own ``import_block`` to identical hashes.

Must never happen: a reverted group of transactions leaves any trace (storage, nonce,
balance, receipts) in the sealed block.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eth.chains.base import Chain
from eth.db.atomic import AtomicDB
from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xseqd.accounts import dev_accounts
from xseqd.chains.genesis import RollupSpec, devnet_genesis
from xseqd.chains.rollup import Rollup

ROOT = Path(__file__).resolve().parents[2]
COUNTER = json.loads((ROOT / "xseqd" / "contracts" / "artifacts" / "Counter.json").read_text())
KEYS = dev_accounts(4)
INCREMENT = bytes.fromhex("d09de08a")  # increment()


def new_rollup() -> Rollup:
    genesis = devnet_genesis([bytes.fromhex(k.address[2:]) for k in KEYS])
    return Rollup(RollupSpec(901, "t", genesis))


class Signer:
    """Signs transactions with locally tracked nonces (reverted ones are reused)."""

    def __init__(self, rollup: Rollup) -> None:
        self.rollup = rollup

    def tx(
        self, key: Any, to: bytes | None, data: bytes = b"", value: int = 0, gas: int = 200_000
    ) -> Any:
        ob = self.rollup.open
        assert ob is not None
        nonce = ob.workspace.state.get_nonce(bytes.fromhex(key.address[2:]))
        fields = {
            "chainId": 901,
            "nonce": nonce,
            "gas": gas,
            "value": value,
            "data": data,
            "maxFeePerGas": 10**10,
            "maxPriorityFeePerGas": 1,
        }
        if to is not None:
            fields["to"] = to
        raw = bytes(Account.sign_transaction(fields, key.key).raw_transaction)
        return self.rollup.vm_class_for(ob.number).get_transaction_builder().decode(raw)


def reimport(rollup: Rollup) -> list[bytes]:
    """Import every sealed block of ``rollup`` into a fresh py-evm chain; their hashes."""
    spec = rollup.spec
    chain_class = Chain.configure(vm_configuration=spec.genesis.vm_configuration, chain_id=901)
    fresh = chain_class.from_genesis(AtomicDB(), spec.genesis.params, spec.genesis.state)
    return [bytes(fresh.import_block(r.block).imported_block.hash) for r in rollup.blocks[1:]]


def deploy_counter(rollup: Rollup, signer: Signer) -> bytes:
    rollup.open_block(1)
    applied = rollup.apply(
        signer.tx(KEYS[0], None, bytes.fromhex(COUNTER["bytecode"][2:]), gas=500_000)
    )
    assert applied.success
    record = rollup.seal()
    address = record.txs[0].contract_address
    assert address is not None
    return address


def test_reverted_group_leaves_no_trace() -> None:
    rollup = new_rollup()
    signer = Signer(rollup)
    counter = deploy_counter(rollup, signer)
    rollup.open_block(2)
    a = bytes.fromhex(KEYS[1].address[2:])
    nonce_before = rollup.open.workspace.state.get_nonce(a)  # type: ignore[union-attr]
    snap = rollup.snapshot()
    assert rollup.apply(signer.tx(KEYS[1], counter, INCREMENT)).success
    assert rollup.apply(signer.tx(KEYS[2], counter, INCREMENT)).success
    assert rollup.open.workspace.state.get_storage(counter, 0) == 2  # type: ignore[union-attr]
    rollup.revert(snap)
    state = rollup.open.workspace.state  # type: ignore[union-attr]
    assert state.get_storage(counter, 0) == 0
    assert state.get_nonce(a) == nonce_before
    assert rollup.open.txs == [] and rollup.open.header.gas_used == 0  # type: ignore[union-attr]
    assert rollup.apply(signer.tx(KEYS[3], counter, INCREMENT)).success
    record = rollup.seal()
    assert len(record.txs) == 1
    assert rollup.state_at(record.block.header).get_storage(counter, 0) == 1
    assert reimport(rollup) == [r.hash for r in rollup.blocks[1:]]


actions = st.lists(
    st.tuples(
        st.sampled_from(["transfer", "increment", "group"]),
        st.integers(0, 3),
        st.booleans(),
        st.booleans(),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blocks=st.lists(actions, min_size=1, max_size=3))
def test_random_blocks_with_reverted_groups_reimport_identically(blocks: list[Any]) -> None:
    """Property: whatever mix of single transactions and reverted/committed groups went
    into our blocks, py-evm's own importer reproduces every block hash (so state roots,
    receipts and gas all match), and reverted groups are absent."""
    rollup = new_rollup()
    signer = Signer(rollup)
    counter = deploy_counter(rollup, signer)
    expected_count = 0
    for number, block_actions in enumerate(blocks, start=2):
        rollup.open_block(number)
        for kind, who, keep, second_fails in block_actions:
            key = KEYS[who]
            if kind == "transfer":
                rollup.apply(signer.tx(key, b"\x11" * 20, value=1, gas=21_000))
            elif kind == "increment":
                assert rollup.apply(signer.tx(key, counter, INCREMENT)).success
                expected_count += 1
            else:
                snap = rollup.snapshot()
                rollup.apply(signer.tx(key, counter, INCREMENT))
                other = KEYS[(who + 1) % 4]
                data = (
                    bytes.fromhex("a9cc4718") if second_fails else INCREMENT
                )  # fail() or increment()
                ok = rollup.apply(signer.tx(other, counter, data)).success
                if keep and ok:
                    rollup.commit(snap)
                    expected_count += 2
                else:
                    rollup.revert(snap)
        rollup.seal()
    assert rollup.state_at(rollup.head.block.header).get_storage(counter, 0) == expected_count
    assert reimport(rollup) == [r.hash for r in rollup.blocks[1:]]

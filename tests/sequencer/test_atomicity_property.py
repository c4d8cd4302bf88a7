"""Property: after any random sequence of bundles and plain transactions (some failing),
every rollup equals the replay of only the included items on fresh chains, and each
rollup's block order is the projection of the slot's global order.

Must never happen: an aborted bundle leaves a transaction, a nonce or a root change.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xseqd.accounts import dev_accounts
from xseqd.chains.genesis import RollupSpec, devnet_genesis
from xseqd.chains.rollup import Rollup
from xseqd.core.atomic import Leg
from xseqd.errors import XseqError
from xseqd.sequencer.replay import replay
from xseqd.sequencer.sequencer import Sequencer

ROOT = Path(__file__).resolve().parents[2]
COUNTER = json.loads((ROOT / "xseqd" / "contracts" / "artifacts" / "Counter.json").read_text())
KEYS = dev_accounts(4)
CHAINS = (901, 902)
DATA = {"ok": bytes.fromhex("d09de08a"), "revert": bytes.fromhex("a9cc4718")}


def specs() -> list[RollupSpec]:
    addrs = [bytes.fromhex(k.address[2:]) for k in KEYS]
    return [RollupSpec(cid, str(cid), devnet_genesis(addrs)) for cid in CHAINS]


class World:
    def __init__(self) -> None:
        self.clock = [1_800_000_000.0]
        self.seq = Sequencer([Rollup(s) for s in specs()], clock=lambda: self.clock[0])
        self.counters: dict[int, bytes] = {}
        for cid in CHAINS:
            self.seq.submit(
                cid, self.sign(cid, 0, None, bytes.fromhex(COUNTER["bytecode"][2:]), 0, 600_000)
            )
        self.seal()
        for cid in CHAINS:
            record = self.seq.rollups[cid].head.txs[0]
            assert record.contract_address is not None
            self.counters[cid] = record.contract_address

    def seal(self) -> None:
        self.clock[0] += 2
        self.seq.seal_slot()

    def nonce(self, cid: int, who: int) -> int:
        self.seq.open_slot()
        state = self.seq.rollups[cid].pending_state()
        return int(state.get_nonce(bytes.fromhex(KEYS[who].address[2:])))

    def sign(
        self, cid: int, who: int, to: bytes | None, data: bytes, offset: int, gas: int = 100_000
    ) -> Any:
        fields: dict[str, Any] = {
            "chainId": cid,
            "nonce": self.nonce(cid, who) + offset,
            "gas": gas,
            "value": 0,
            "data": data,
            "maxFeePerGas": 10**10,
            "maxPriorityFeePerGas": 1,
        }
        if to is not None:
            fields["to"] = to
        raw = bytes(Account.sign_transaction(fields, KEYS[who].key).raw_transaction)
        return self.seq.rollups[cid].vm_class_for(2).get_transaction_builder().decode(raw)

    def legs(self, spec: list[tuple[int, int, str]]) -> list[Leg]:
        offsets: dict[tuple[int, int], int] = {}
        legs = []
        for cid, who, kind in spec:
            off = offsets.get((cid, who), 0)
            offsets[(cid, who)] = off + 1
            if kind == "stale":
                off = -1 if self.nonce(cid, who) > 0 else off + 5
            tx = self.sign(cid, who, self.counters[cid], DATA.get(kind, DATA["ok"]), off)
            legs.append(Leg(cid, tx, bytes(tx.hash)))
        return legs


leg_spec = st.tuples(
    st.sampled_from(CHAINS), st.integers(0, 3), st.sampled_from(["ok", "ok", "revert", "stale"])
)
action = st.one_of(
    st.tuples(st.just("tx"), leg_spec),
    st.tuples(st.just("bundle"), st.lists(leg_spec, min_size=1, max_size=4)),
    st.tuples(st.just("seal"), st.none()),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions=st.lists(action, min_size=1, max_size=14))
def test_state_equals_replay_of_included_items(actions: list[Any]) -> None:
    world = World()
    seq = world.seq
    for kind, arg in actions:
        if kind == "seal":
            world.seal()
        elif kind == "tx":
            cid, who, what = arg
            if what == "stale":
                continue
            tx = world.sign(cid, who, world.counters[cid], DATA[what], 0)
            seq.submit(cid, tx)  # plain tx: a revert is included with status 0
        else:
            seq.open_slot()
            roots_before = {c: _pending_root(seq, c) for c in CHAINS}
            try:
                item = seq.submit_bundle(world.legs(arg))
            except XseqError:
                continue
            if item.status == "aborted":
                assert {c: _pending_root(seq, c) for c in CHAINS} == roots_before
    world.seal()
    replayed = replay(specs(), seq.slots)
    for cid in CHAINS:
        ours, theirs = seq.rollups[cid], replayed[cid]
        assert [b.hash for b in ours.blocks] == [b.hash for b in theirs.blocks]
    for slot in seq.slots:
        for cid in CHAINS:
            projected = [
                leg.tx_hash
                for item in slot.items
                if item.status == "included"
                for leg in item.legs
                if leg.chain_id == cid
            ]
            assert [t.hash for t in slot.blocks[cid].txs] == projected


def _pending_root(seq: Sequencer, cid: int) -> tuple[int, bytes]:
    ob = seq.rollups[cid].open
    assert ob is not None
    return (len(ob.txs), bytes(ob.workspace.state.make_state_root()))

"""Invariant 4 (property): ETH and the reference token are conserved by any sequence of
bridging — successes, failing actions and failing burns mixed — and invariant 3 holds in
every slot; the chains also equal the replay of the included items (actions re-derived).
"""

from __future__ import annotations

from typing import Any

from eth_abi import encode
from eth_account import Account
from eth_hash.auto import keccak
from eth_typing import Address
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xseqd.accounts import dev_accounts
from xseqd.chains.genesis import RollupSpec, devnet_genesis
from xseqd.chains.predeploys import MAILBOX, REFERENCE_TOKEN, TOKEN_BRIDGE, mapping_slot
from xseqd.chains.rollup import Rollup
from xseqd.core.transition import committed_states
from xseqd.errors import XseqError
from xseqd.sequencer.replay import replay
from xseqd.sequencer.sequencer import Sequencer

KEYS = dev_accounts(3)
CHAINS = (901, 902)
SEND = keccak(b"send(uint256,address,bytes)")[:4]
SEND_ERC20 = keccak(b"sendERC20(address,address,uint256,uint256)")[:4]


def specs() -> list[RollupSpec]:
    return [
        RollupSpec(c, str(c), devnet_genesis([bytes.fromhex(k.address[2:]) for k in KEYS]))
        for c in CHAINS
    ]


def sign(seq: Sequencer, cid: int, who: int, to: bytes, data: bytes, value: int) -> Any:
    seq.open_slot()
    state = seq.rollups[cid].pending_state()
    nonce = state.get_nonce(Address(bytes.fromhex(KEYS[who].address[2:])))
    tx = {
        "chainId": cid,
        "nonce": nonce,
        "to": to,
        "data": data,
        "value": value,
        "gas": 400_000,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 1,
    }
    raw = bytes(Account.sign_transaction(tx, KEYS[who].key).raw_transaction)
    return seq.rollups[cid].vm_class_for(2).get_transaction_builder().decode(raw)


def totals(seq: Sequencer) -> tuple[int, int]:
    """(sum of mailbox ETH, sum of XRT supply) over all rollups, at their heads."""
    eth = token = 0
    for rollup in seq.rollups.values():
        state = rollup.state_at(rollup.head.block.header)
        eth += state.get_balance(Address(MAILBOX))
        token += state.get_storage(Address(REFERENCE_TOKEN), 0)
    return eth, token


def received(seq: Sequencer, cid: int, who: bytes) -> tuple[int, int]:
    rollup = seq.rollups[cid]
    state = rollup.state_at(rollup.head.block.header)
    return (
        state.get_balance(Address(who)),
        state.get_storage(Address(REFERENCE_TOKEN), mapping_slot(who, 1)),
    )


action = st.tuples(
    st.sampled_from(["eth", "token", "token-too-much", "eth-to-refuser"]),
    st.sampled_from(CHAINS),
    st.integers(0, 2),
    st.integers(1, 10**18),
    st.booleans(),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions=st.lists(action, min_size=1, max_size=10))
def test_bridging_conserves_eth_and_token(actions: list[Any]) -> None:
    clock = [1_900_000_000.0]
    seq = Sequencer([Rollup(s) for s in specs()], clock=lambda: clock[0])
    seq.seal_slot()
    start = totals(seq)
    sink = b"\x5e" * 20
    expected_sink = {c: [0, 0] for c in CHAINS}
    refuser = TOKEN_BRIDGE  # relayERC20 from a non-mailbox caller reverts: a failing target
    for kind, src, who, amount, seal in actions:
        dst = CHAINS[1 - CHAINS.index(src)]
        if kind == "eth":
            tx = sign(
                seq,
                src,
                who,
                MAILBOX,
                SEND + encode(["uint256", "address", "bytes"], [dst, sink, b""]),
                amount,
            )
            ok = True
        elif kind == "eth-to-refuser":
            payload = keccak(b"relayERC20(address,address,address,uint256)")[:4] + b"\x00" * 128
            tx = sign(
                seq,
                src,
                who,
                MAILBOX,
                SEND + encode(["uint256", "address", "bytes"], [dst, refuser, payload]),
                0,
            )
            ok = False
        else:
            big = kind == "token-too-much"
            value = 10**40 if big else amount
            tx = sign(
                seq,
                src,
                who,
                TOKEN_BRIDGE,
                SEND_ERC20
                + encode(
                    ["address", "address", "uint256", "uint256"],
                    [REFERENCE_TOKEN, sink, value, dst],
                ),
                0,
            )
            ok = not big
        try:
            seq.submit(src, tx)
        except XseqError:
            assert not ok, "a valid bridge transfer was refused"
        else:
            assert ok or kind == "token-too-much"  # a failing burn is an ordinary revert
            if ok:
                expected_sink[dst][0 if kind == "eth" else 1] += amount
        if seal:
            clock[0] += 1
            seq.seal_slot()
    clock[0] += 1
    seq.seal_slot()
    assert totals(seq) == start
    for cid in CHAINS:
        assert list(received(seq, cid, sink)) == expected_sink[cid]
    for slot in seq.slots:
        a, b = committed_states(seq.rollups, slot.blocks)
        assert (a.chain_id, b.chain_id) == (901, 902)
        assert a.outbox_roots[0] == b.inbox_roots[0]
        assert b.outbox_roots[0] == a.inbox_roots[0]
    replayed = replay(specs(), seq.slots)
    for cid in CHAINS:
        assert [b.hash for b in replayed[cid].blocks] == [b.hash for b in seq.rollups[cid].blocks]

"""The slot transition enforces intake's rules itself: an item a cheating sequencer posts
as included although intake would have refused it (a leg from the system account, signed
or impersonated) does not re-derive, so the verifier names it an ``execution`` fault.
Must never happen: a forged delivery that the verifier accepts as honest execution."""

from __future__ import annotations

import pytest
from eth_account import Account

from xseqd.accounts import dev_accounts
from xseqd.chains.genesis import RollupSpec, devnet_genesis
from xseqd.chains.predeploys import MAILBOX, SYSTEM, SYSTEM_KEY
from xseqd.chains.rollup import Rollup
from xseqd.core.items import Entry, ItemKind, RawLeg
from xseqd.core.transition import TransitionFault, items_of, replay_slot

ADDRESSES = [bytes.fromhex(a.address[2:]) for a in dev_accounts(2)]


def rollups() -> dict[int, Rollup]:
    return {c: Rollup(RollupSpec(c, str(c), devnet_genesis(ADDRESSES))) for c in (901, 902)}


def raw(key: bytes, nonce: int = 0) -> bytes:
    tx = {
        "type": 2,
        "chainId": 901,
        "nonce": nonce,
        "to": "0x" + MAILBOX.hex(),
        "value": 0,
        "gas": 100_000,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 0,
    }
    return bytes(Account.sign_transaction(tx, key).raw_transaction)


@pytest.mark.parametrize(
    "leg",
    [
        RawLeg(901, raw(SYSTEM_KEY)),  # signed with the (public) system key
        RawLeg(901, raw(bytes(dev_accounts(1)[0].key)), SYSTEM),  # impersonating it
    ],
    ids=["signed", "impersonated"],
)
@pytest.mark.parametrize("kind", [ItemKind.TRANSACTION, ItemKind.BUNDLE])
def test_a_posted_system_account_leg_never_re_derives(leg: RawLeg, kind: ItemKind) -> None:
    chains = rollups()
    items = items_of(chains, [Entry(kind, True, (leg,))])
    with pytest.raises(TransitionFault) as info:
        replay_slot(chains, 1_900_000_000, items)
    assert info.value.kind == "execution" and "system account" in info.value.reason


def test_the_same_item_posted_as_aborted_re_derives() -> None:
    """Control: the honest sequencer never orders it; posted as aborted it re-derives."""
    chains = rollups()
    items = items_of(chains, [Entry(ItemKind.BUNDLE, False, (RawLeg(901, raw(SYSTEM_KEY)),))])
    blocks = replay_slot(chains, 1_900_000_000, items)
    assert blocks[901].txs == ()

"""Red-team rules of the slot transition and keypers for encrypted items (pure): what a
cheating sequencer could post or ask for that the rules must refuse.

- a leg posted on another rollup than the chain id its signed transaction names (a
  revealed plaintext, or any transaction, replayed across rollups) never re-derives;
- an expired commit is never opened: keypers refuse its shares, and its void says
  ``expired`` (the signed transactions of a bundle that can no longer run stay sealed).
"""

from __future__ import annotations

import pytest
from eth_account import Account

from xseqd.accounts import dev_accounts
from xseqd.chains.genesis import RollupSpec, devnet_genesis
from xseqd.chains.rollup import Rollup
from xseqd.core import encrypted as enc
from xseqd.core import threshold as th
from xseqd.core.items import Entry, ItemKind, RawLeg
from xseqd.core.order import ReceiptDomain
from xseqd.core.transition import TransitionFault, items_of, replay_slot

ACCOUNTS = dev_accounts(2)
ADDRESSES = [bytes.fromhex(a.address[2:]) for a in ACCOUNTS]
DOMAIN = ReceiptDomain(900, bytes.fromhex("11" * 20))
SINK = "0x000000000000000000000000000000000000dEaD"


def rollups() -> dict[int, Rollup]:
    return {c: Rollup(RollupSpec(c, str(c), devnet_genesis(ADDRESSES))) for c in (901, 902)}


def transfer(chain_id: int, nonce: int = 0) -> bytes:
    tx = {"type": 2, "chainId": chain_id, "nonce": nonce, "to": SINK, "value": 1,
          "gas": 21_000, "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 0}  # fmt: skip
    return bytes(Account.sign_transaction(tx, ACCOUNTS[0].key).raw_transaction)


def reveal(raws: list[bytes], max_slot: int = 0) -> bytes:
    keyset, shares = th.deal(3, 2)
    env = enc.encrypt_bundle(keyset, raws, DOMAIN, max_slot)
    root, after_root = b"\x22" * 32, b"\x33" * 32
    ctx = enc.release_context(DOMAIN, 0, root, 0, after_root)
    made = tuple(th.make_share(s, env.c1, ctx) for s in shares[:2])
    return enc.reveal_payload(env.encode(), enc.Opening(0, root, 0, after_root, keyset, made))


@pytest.mark.parametrize("kind", [ItemKind.TRANSACTION, ItemKind.ENCRYPTED])
def test_a_leg_on_another_rollup_than_its_chain_id_never_re_derives(kind: ItemKind) -> None:
    raw = transfer(901)
    payload = reveal([raw]) if kind is ItemKind.ENCRYPTED else b""
    chains = rollups()
    with pytest.raises(TransitionFault):  # decoding or replay names it
        replay_slot(
            chains,
            1_900_000_000,
            items_of(chains, [Entry(kind, True, (RawLeg(902, raw),), payload)]),
        )  # noqa: E501
    # control: on the rollup it names, it runs
    chains = rollups()
    entry = Entry(kind, True, (RawLeg(901, raw),), payload)
    blocks = replay_slot(chains, 1_900_000_000, items_of(chains, [entry]))
    assert len(blocks[901].txs) == 1 and blocks[902].txs == ()


SEQUENCER_KEY = bytes(ACCOUNTS[1].key)


def release_request(
    envelope: bytes, slot: int, after_slot: int, roots: list[bytes] | None = None
) -> dict[str, object]:
    """A well-formed keyper_release request, signed by the sequencer: the commit at index
    0 of slot ``slot``, bound to the slot ``after_slot`` over the order roots ``roots`` of
    slots slot+1..after_slot (default: all empty)."""
    from xseqd.core.order import order_root

    entries = [enc.commit_entry_hash(envelope)]
    root = order_root(slot, entries)
    if roots is None:
        roots = [order_root(s, []) for s in range(slot + 1, after_slot + 1)]
    context = enc.release_context(DOMAIN, slot, root, after_slot, enc.span_root(roots))
    return {
        "domain": DOMAIN.to_json(), "slot": slot, "orderRoot": "0x" + root.hex(),
        "signature": "0x" + enc.sign_seal(SEQUENCER_KEY, DOMAIN, slot, root).hex(),
        "entries": ["0x" + e.hex() for e in entries],
        "items": [{"index": 0, "envelope": "0x" + envelope.hex()}],
        "after": {"slot": after_slot, "roots": ["0x" + r.hex() for r in roots],
                  "signature": "0x" + enc.sign_digest(SEQUENCER_KEY, context).hex()},
    }  # fmt: skip


def test_keypers_refuse_the_shares_of_a_ciphertext_whose_reveal_would_be_expired() -> None:
    from xseqd.keyper import Refused, release

    keyset, shares = th.deal(3, 2)
    env = enc.encrypt_bundle(keyset, [transfer(901)], DOMAIN, max_slot=5)
    sequencer = ACCOUNTS[1].address
    with pytest.raises(Refused, match="expires"):  # the reveal would sit in slot 6
        release(shares[0], sequencer, release_request(env.encode(), 5, 5))
    assert len(release(shares[0], sequencer, release_request(env.encode(), 4, 4))) == 1  # control


def test_a_void_past_its_max_slot_says_expired() -> None:
    keyset, _ = th.deal(3, 2)
    env = enc.encrypt_bundle(keyset, [transfer(901)], DOMAIN, max_slot=5)
    assert enc.open_payload(enc.void_payload(env.encode()), 6).kind == "expired"
    assert enc.open_payload(enc.void_payload(env.encode()), 5).kind == "void"

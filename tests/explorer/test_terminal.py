"""The terminal: the slot line's format (pure, on slots a real sequencer sealed) and the
progress lines of long work (restart replay of a real log, with a fake clock)."""

from __future__ import annotations

import re

from xseqd.accounts import dev_accounts
from xseqd.chains.genesis import load_rollups
from xseqd.chains.rollup import Rollup
from xseqd.config import DEFAULT_ROLLUPS_DIR
from xseqd.core.atomic import Leg
from xseqd.progress import Progress
from xseqd.sequencer.sequencer import Sequencer
from xseqd.sequencer.slotline import slot_line

KEYS = dev_accounts(3)


def sequencer() -> Sequencer:
    specs = load_rollups(DEFAULT_ROLLUPS_DIR, [bytes.fromhex(k.address[2:]) for k in KEYS])
    return Sequencer([Rollup(spec) for spec in specs])


def transfer(seq: Sequencer, chain_id: int, key_index: int, nonce: int, value: int) -> Leg:
    rollup = seq.rollups[chain_id]
    tx = {
        "chainId": chain_id,
        "nonce": nonce,
        "to": "0x" + "22" * 20,
        "value": value,
        "gas": 21_000,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 1,
        "type": 2,
    }
    raw = KEYS[key_index].sign_transaction(tx).raw_transaction
    signed = rollup.chain.get_vm().get_transaction_builder().decode(bytes(raw))
    return Leg(chain_id, signed, bytes(signed.hash))


def test_slot_line_names_rollups_bundles_and_l1() -> None:
    seq = sequencer()
    seq.open_slot()
    ok = seq.submit_bundle([transfer(seq, 901, 0, 0, 1), transfer(seq, 902, 1, 0, 2)])
    too_much = 10**30  # more than the account holds: the leg is invalid, the bundle aborts
    bad = seq.submit_bundle([transfer(seq, 901, 2, 0, 1), transfer(seq, 902, 2, 0, too_much)])
    slot = seq.seal_slot()
    line = slot_line(slot, l1_safe=17)
    assert line.startswith(f"slot {slot.number}  901: 1 tx  902: 1 tx  ")
    assert f"bundle 0x{ok.item_hash[:2].hex()}…✓" in line
    assert f"bundle 0x{bad.item_hash[:2].hex()}…✗ leg 1: " in line
    assert line.endswith("L1 safe@17")
    assert "L1" not in slot_line(slot, None)


def test_busy_slots_are_cut_short() -> None:
    seq = sequencer()
    seq.open_slot()
    for nonce in range(5):
        seq.submit_bundle([transfer(seq, 901, 0, nonce, 1)])
    line = slot_line(seq.seal_slot())
    assert line.count("bundle ") == 3 and "+2 more" in line


def test_progress_is_silent_for_short_work_and_rate_limited_for_long_work() -> None:
    now = [0.0]
    lines: list[str] = []
    quick = Progress("replay", 10, lines.append, every=1.0, clock=lambda: now[0])
    for done in range(10):
        quick(done)
    quick.done()
    assert lines == []

    slow = Progress("replay", 100, lines.append, every=1.0, clock=lambda: now[0])
    for done in range(100):
        now[0] += 0.1  # 10 s in all: about one line a second
        slow(done)
    slow.done()
    assert 9 <= len(lines) <= 11
    assert re.fullmatch(r"replay (9|10)/100 \((9|10)%, 1\.\ds\)", lines[0]), lines[0]
    assert lines[-1].startswith("replay 100/100 (100%")

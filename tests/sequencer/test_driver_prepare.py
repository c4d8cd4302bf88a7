"""After an instant seal, the next slot is opened only once the requests already received
are answered (sequencer/driver.py ``_after_requests``): a client's receipt request that
arrived while its slot was sealed does not wait for the next slot's blocks. A real
sequencer and driver on an asyncio loop; the transport's part (``request_started`` /
``request_done`` around each request, ``flush`` after an answer) is played by the test, in
the loop turns uvicorn would use."""

from __future__ import annotations

import asyncio

from eth_account import Account

from xseqd.accounts import dev_accounts
from xseqd.chains.genesis import RollupSpec, devnet_genesis
from xseqd.chains.rollup import Rollup
from xseqd.sequencer.driver import QUIET_MAX_TURNS, QUIET_TURNS, SlotDriver
from xseqd.sequencer.sequencer import Sequencer

KEYS = dev_accounts(2)


def make() -> tuple[Sequencer, SlotDriver]:
    addrs = [bytes.fromhex(k.address[2:]) for k in KEYS]
    specs = [RollupSpec(cid, str(cid), devnet_genesis(addrs)) for cid in (901, 902)]
    seq = Sequencer([Rollup(s) for s in specs])
    return seq, SlotDriver(seq)


def send(seq: Sequencer, driver: SlotDriver, nonce: int) -> None:
    """A submission as eth_sendRawTransaction makes it, then its answer written."""
    fields = {"chainId": 901, "nonce": nonce, "gas": 21_000, "to": b"\x22" * 20, "value": 1,
              "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 1}  # fmt: skip
    raw = bytes(Account.sign_transaction(fields, KEYS[0].key).raw_transaction)
    vm = seq.rollups[901].vm_class_for(seq.head_slot + 1)
    mark = driver.request_started("client")
    seq.submit(901, vm.get_transaction_builder().decode(raw))
    driver.submitted()
    driver.request_done("client", mark)  # answer written: the seal is scheduled


async def turns(n: int) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


def test_a_request_waiting_at_the_seal_is_served_before_the_next_slot_opens() -> None:
    async def scenario() -> None:
        seq, driver = make()
        send(seq, driver, 0)
        await turns(1)  # the seal
        assert seq.head_slot == 1 and not seq.has_open_slot
        # the client's receipt request, read while the slot was sealed, starts a turn later
        await turns(1)
        mark = driver.request_started("client")
        assert not seq.has_open_slot  # it finds nothing in its way
        receipt = seq.rollups[901].txs
        assert len(receipt) == 1
        driver.request_done("client", mark)
        await turns(QUIET_TURNS - 1)
        assert not seq.has_open_slot  # not before QUIET_TURNS quiet turns
        await turns(2)
        assert seq.has_open_slot  # then opened ahead of the next submission

    asyncio.run(scenario())


def test_the_next_slot_opens_after_a_bounded_number_of_turns_under_a_stream() -> None:
    async def scenario() -> None:
        seq, driver = make()
        send(seq, driver, 0)
        await turns(1)
        opened_at = None
        for turn in range(QUIET_MAX_TURNS + 2):  # a request starts in every turn
            driver.request_done("other", driver.request_started("other"))
            await turns(1)
            if opened_at is None and seq.has_open_slot:
                opened_at = turn
        assert opened_at is not None and opened_at <= QUIET_MAX_TURNS

    asyncio.run(scenario())


def test_a_submission_before_the_deferred_open_opens_the_slot_itself() -> None:
    async def scenario() -> None:
        seq, driver = make()
        send(seq, driver, 0)
        await turns(2)
        send(seq, driver, 1)  # the next transaction arrives before the quiet turns
        assert seq.has_open_slot and seq.open_slot_has_items
        await turns(1)  # sealed
        assert seq.head_slot == 2
        await turns(QUIET_MAX_TURNS + 1)
        assert seq.has_open_slot and not seq.open_slot_has_items
        assert [t.nonce for b in seq.rollups[901].blocks[1:3] for t in b.block.transactions] == [
            0,
            1,
        ]

    asyncio.run(scenario())


def test_seals_in_a_row_open_the_next_slot_once() -> None:
    async def scenario() -> None:
        seq, driver = make()
        calls = []
        prepare = seq.prepare_next_slot
        seq.prepare_next_slot = lambda: (calls.append(1), prepare())[1]  # type: ignore[method-assign]
        send(seq, driver, 0)
        await turns(1)  # sealed; the next slot's opening deferred
        send(seq, driver, 1)  # opens the slot itself
        await turns(1)  # sealed again: the opening is still deferred, not twice
        await turns(QUIET_MAX_TURNS + 1)
        assert seq.head_slot == 2 and seq.has_open_slot
        assert len(calls) == 1

    asyncio.run(scenario())

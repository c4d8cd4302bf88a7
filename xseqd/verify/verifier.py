"""The independent verifier: reads only the L1, rebuilds the rollups from the genesis the
deployment committed to, re-executes every posted slot through core/transition.py (the
sequencer's own slot transition) and checks each slot's commitment, that mailbox roots
pair up, and that the committed roots are the re-executed ones.

Inputs are the L1 (Settlement's ``Genesis`` and ``SlotsPosted`` events and the calldata
of the posting transactions); nothing is asked of the sequencer. Every problem is a named
fault with its slot, never a crash and never skipped:

    genesis    the deployment's genesis is not the one rebuilt (no slot is checked)
    data       batch data that does not decode, a slot missing from the data, a rollup
               left out or added, or data that does not hash to the slot's commitment
    mailbox    committed mailbox roots that do not pair up
    deposit    a slot's L1 deposits are not the Portal's next ones: skipped or invented;
               or a batch posted past a deposit's inclusion deadline (L1 block + the
               Portal's window) without it: censored (verify/deposits.py)
    execution  an item that does not end as ordered (included / aborted) on re-execution,
               or an encrypted item revealed out of its sealed order, below the top of
               its slot, or with legs that are not its ciphertext's plaintext
    state      committed block hash, state root or mailbox roots differ from re-execution
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from eth_abi import decode

from xseqd.abi import event_topic, input_types
from xseqd.chains.genesis import GenesisError, RollupSpec, genesis_commitment
from xseqd.chains.genesis import specs_from_description as _specs
from xseqd.chains.rollup import Rollup
from xseqd.core.commitment import (
    POST_SELECTOR,
    BatchError,
    PostedSlot,
    RollupState,
    decode_batch,
    posted_commitment,
)
from xseqd.core.items import Entry
from xseqd.core.reveals import RevealLedger
from xseqd.core.transition import TransitionFault, committed_states, items_of, replay_slot
from xseqd.l1.client import L1Client
from xseqd.l1.settlement import Settlement
from xseqd.verify.deposits import DepositCheck

SLOTS_POSTED = "0x" + event_topic("Settlement", "SlotsPosted").hex()


@dataclass(frozen=True)
class Verdict:
    """The verifier's answer: OK through ``checked`` slots, or the first bad slot."""

    ok: bool
    checked: int
    bad_slot: int | None = None
    reason: str = ""
    fault: str = ""


@dataclass(frozen=True)
class Finding:
    """What is wrong with a slot, and the challenge that proves it on L1."""

    slot: int
    fault: str  # "data", "mailbox", "deposit", "state", "execution"
    reason: str
    batch: bytes = b""
    pair: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class Batch:
    """One posted batch: its first slot, and its data (decoded, or why it does not)."""

    first: int
    count: int
    data: bytes
    slots: list[PostedSlot]
    states: list[list[RollupState]]
    error: str = ""
    block: int = 0  # the L1 block the post landed in


def posted_batches(client: L1Client, settlement: str) -> list[Batch]:
    """Every batch posted, in order."""
    logs = client.call(
        "eth_getLogs",
        {"address": settlement, "fromBlock": "0x0", "toBlock": "latest", "topics": [SLOTS_POSTED]},
    )
    out = []
    for log in logs:
        first, block = int(log["topics"][1], 16), int(log["blockNumber"], 16)
        count = int(decode(["uint256", "bytes32"], bytes.fromhex(log["data"][2:]))[0])
        tx = client.call("eth_getTransactionByHash", log["transactionHash"])
        calldata = bytes.fromhex(tx["input"][2:])
        data = b""
        try:
            if calldata[:4] != POST_SELECTOR:
                raise BatchError("the posting transaction is not a direct post() call")
            data = bytes(decode(input_types("Settlement", "post"), calldata[4:])[3])
            slots, states = decode_batch(data)
            out.append(Batch(first, count, data, slots, states, block=block))
        except Exception as exc:
            out.append(Batch(first, count, data, [], [], str(exc), block))
    return out


def find_settlement(client: L1Client) -> str:
    """The first contract on L1 that answers like Settlement (devnet discovery)."""
    head = client.block_number()
    for number in range(head + 1):
        block = client.call("eth_getBlockByNumber", hex(number), True)
        for tx in block["transactions"]:
            if tx.get("to") is not None:
                continue
            receipt = client.call("eth_getTransactionReceipt", tx["hash"])
            address = receipt.get("contractAddress")
            if address and _answers_like_settlement(client, address):
                return str(address)
    raise LookupError("no Settlement contract found on this L1")


def _answers_like_settlement(client: L1Client, address: str) -> bool:
    try:
        Settlement(client, address).genesis()
        return True
    except Exception:
        return False


def verify(
    client: L1Client,
    specs: list[RollupSpec] | None = None,
    settlement: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Verdict:
    verdict, _ = inspect(client, specs, settlement, progress)
    return verdict


def build_rollups(contract: Settlement, specs: list[RollupSpec] | None) -> dict[int, Rollup]:
    """Fresh rollups at the deployment's genesis; ``GenesisError`` if they do not match
    what the deployment committed to."""
    record = contract.genesis()
    specs = specs if specs is not None else _specs(record.description)
    rollups = {spec.chain_id: Rollup(spec) for spec in specs}
    ids = sorted(rollups)
    if tuple(ids) != record.rollups:
        raise GenesisError(f"wrong genesis: rollups {ids}, the deployment has {record.rollups}")
    hashes = [rollups[c].blocks[0].hash for c in ids]
    if genesis_commitment(ids, hashes) != record.genesis:
        raise GenesisError("wrong genesis: the rebuilt genesis blocks differ from the committed")
    return rollups


def inspect(
    client: L1Client,
    specs: list[RollupSpec] | None = None,
    settlement: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    observe: Callable[[int, Sequence[Entry]], None] | None = None,
) -> tuple[Verdict, Finding | None]:
    """Re-execute every posted, still-valid slot; the first problem found, if any.
    ``observe`` sees each slot's entries once it checked out (verify/releases.py)."""
    contract = Settlement(client, settlement or find_settlement(client))
    try:
        rollups = build_rollups(contract, specs)
    except GenesisError as exc:
        return Verdict(False, 0, None, exc.message, "genesis"), None
    next_slot = contract.next_slot()
    # batches re-posted after an invalidation replace the earlier ones from their slot on
    latest: dict[int, tuple[Batch, int]] = {}
    for batch in posted_batches(client, contract.address):
        for offset in range(batch.count):
            latest[batch.first + offset] = (batch, offset)
    checked = 0
    ledger = RevealLedger()
    deposits = DepositCheck.from_l1(client, contract.address)
    for number in range(1, next_slot):
        finding = _slot_finding(contract, rollups, number, latest.get(number), ledger, deposits)
        if finding is not None:
            return Verdict(False, checked, number, finding.reason, finding.fault), finding
        checked += 1
        if observe is not None:
            observe(number, latest[number][0].slots[latest[number][1]].items)
        if progress is not None:
            progress(checked, next_slot - 1)
    return Verdict(True, checked), None


def _slot_finding(
    contract: Settlement,
    rollups: dict[int, Rollup],
    number: int,
    where: tuple[Batch, int] | None,
    ledger: RevealLedger,
    deposits: DepositCheck,
) -> Finding | None:
    if where is None:
        return Finding(number, "data", f"slot {number} is committed but missing from every batch")
    batch, offset = where
    if batch.error:
        return Finding(number, "data", f"batch data does not decode: {batch.error}", batch.data)
    if offset >= len(batch.slots) or batch.slots[offset].number != number:
        return Finding(number, "data", f"slot {number} is missing from its batch", batch.data)
    posted, states = batch.slots[offset], batch.states[offset]
    if [s.chain_id for s in states] != sorted(rollups):
        return Finding(number, "data", "committed rollup set or order is wrong", batch.data)
    if posted_commitment(posted, states) != contract.slot(number).commitment:
        return Finding(number, "data", "posted data does not match its commitment", batch.data)
    pair = _unpaired(states)
    if pair is not None:
        a, b = states[pair[0]].chain_id, states[pair[1]].chain_id
        reason = f"committed mailbox roots do not pair up: {a}->{b}"
        return Finding(number, "mailbox", reason, batch.data, pair)
    breach = ledger.check(number, posted.items)
    if breach is not None:
        return Finding(number, "execution", breach, batch.data)
    wrong = deposits.check(posted)
    if wrong is not None:
        return Finding(number, "deposit", wrong, batch.data)
    try:
        blocks = replay_slot(rollups, posted.timestamp, items_of(rollups, posted.items))
    except TransitionFault as exc:
        for rollup in rollups.values():
            rollup.discard_open()
        return Finding(number, "execution", exc.reason, batch.data)
    for mine, theirs in zip(committed_states(rollups, blocks), states, strict=True):
        if mine != theirs:
            what = "state root" if mine.state_root != theirs.state_root else "block or roots"
            return Finding(
                number,
                "state",
                f"rollup {mine.chain_id}: committed {what} differs from re-execution "
                f"(0x{theirs.state_root.hex()[:16]}… vs 0x{mine.state_root.hex()[:16]}…)",
                batch.data,
            )
    if offset == batch.count - 1:  # the batch's last slot: every deposit due by its post
        late = deposits.deadline(number, batch.block)
        if late is not None:
            return Finding(number, "deposit", late, batch.data)
    return None


def _unpaired(states: list[RollupState]) -> tuple[int, int] | None:
    index = {s.chain_id: i for i, s in enumerate(states)}
    for i, a in enumerate(states):
        for b_id, out in zip(a.counterparties, a.outbox_roots):
            if b_id not in index:
                continue
            b = states[index[b_id]]
            inn = dict(zip(b.counterparties, b.inbox_roots)).get(a.chain_id, b"\x00" * 32)
            if out != inn:
                return i, index[b_id]
    return None

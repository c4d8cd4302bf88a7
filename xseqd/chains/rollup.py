"""One embedded rollup: a py-evm chain, its open block, and our index of sealed blocks.

The sequencer drives a ``Rollup`` through a small cycle per slot: ``open_block`` (number
and timestamp chosen by the slot), any number of ``snapshot`` / ``apply`` / ``commit`` or
``revert``, then ``seal``. State of the open block stays in one py-evm state object;
tries and roots are computed once, at ``seal`` (see notes/clients.md, pitfall 1).
Reads at any sealed block go through ``state_at``; ``rewind`` drops blocks above a number
(evm_revert, invalidated slots) using our own index, never py-evm's canonical pointers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rlp
from eth.abc import (
    BlockHeaderAPI,
    ComputationAPI,
    ReceiptAPI,
    SignedTransactionAPI,
    StateAPI,
    VirtualMachineAPI,
)
from eth.chains.base import Chain
from eth.vm.chain_context import ChainContext
from eth.vm.forks.cancun.state import get_total_blob_gas
from eth.vm.spoof import SpoofTransaction
from eth_hash.auto import keccak
from eth_typing import Address, BlockNumber
from eth_utils import ValidationError

from xseqd.chains.blockindex import Blocks, Stored, Txs
from xseqd.chains.busy import finish_block
from xseqd.chains.genesis import FEE_VAULT, RollupSpec
from xseqd.chains.genesis_cache import genesis_chain
from xseqd.chains.headerdb import persist_header
from xseqd.chains.idle import changes_nothing, empty_block
from xseqd.chains.records import BlockRecord, make_block_record
from xseqd.chains.retained import KeptValues, PrunedState, StateUnavailable
from xseqd.chains.store import tracked
from xseqd.chains.systx import sender_of, system_tx
from xseqd.chains.workspace import Workspace
from xseqd.errors import TxRejected, XseqError
from xseqd.progress import Progress


@dataclass(frozen=True)
class Applied:
    """The outcome of one transaction executed in the open block."""

    tx: SignedTransactionAPI
    sender: bytes
    receipt: ReceiptAPI
    computation: ComputationAPI
    index: int
    gas_used: int  # what the transaction paid for (intrinsic gas included, refunds deducted)

    @property
    def success(self) -> bool:
        return not self.computation.is_error


@dataclass(frozen=True)
class Op:
    """One thing done to the open block, in order: a transaction (with the sender it runs
    as) or a devnet state change. Replaying a prefix of these rebuilds the block."""

    tx: SignedTransactionAPI | None = None
    sender: bytes = b""
    change: Callable[[StateAPI], None] | None = None


@dataclass(frozen=True)
class Mark:
    """A point in the open block that ``Rollup.revert`` can return to."""

    ops: int
    timestamp: int


@dataclass
class OpenBlock:
    """The block being built: its VM, working state and what has been applied so far.

    The VM and its state are built lazily, on first use (``vm``, ``workspace``): a rollup
    that nothing touches in a slot never builds them, and seals as a bare header
    (chains/idle.py)."""

    header: BlockHeaderAPI
    build: Callable[[], tuple[VirtualMachineAPI, Workspace]] = field(repr=False)
    txs: list[SignedTransactionAPI] = field(default_factory=list)
    receipts: list[ReceiptAPI] = field(default_factory=list)
    senders: list[bytes] = field(default_factory=list)
    ops: list[Op] = field(default_factory=list)
    dirty: bool = False
    copied: tuple[int, bytes] | None = None  # (ops, state root) of the latest state copy
    _vm: VirtualMachineAPI | None = field(default=None, repr=False)
    _workspace: Workspace | None = field(default=None, repr=False)

    @property
    def vm(self) -> VirtualMachineAPI:
        if self._vm is None:
            self._vm, self._workspace = self.build()
        return self._vm

    @property
    def workspace(self) -> Workspace:
        if self._workspace is None:
            self._vm, self._workspace = self.build()
        return self._workspace

    @property
    def built(self) -> bool:
        """Whether the VM and state exist (something used the open block)."""
        return self._vm is not None

    @property
    def number(self) -> int:
        return int(self.header.block_number)

    @property
    def gas_left(self) -> int:
        return int(self.header.gas_limit - self.header.gas_used)


class Rollup:
    """A rollup chain embedded in the sequencer."""

    def __init__(self, spec: RollupSpec, cache_dir: Path | None = None) -> None:
        """``cache_dir``: where a large genesis is kept once built (chains/genesis_cache.py)."""
        self.spec = spec
        self.chain_id = spec.chain_id
        self.name = spec.name
        chain_class = Chain.configure(
            __name__=f"Rollup{spec.chain_id}",
            vm_configuration=spec.genesis.vm_configuration,
            chain_id=spec.chain_id,
        )
        self.chain = genesis_chain(chain_class, spec.genesis, cache_dir)
        self.chaindb = self.chain.chaindb
        mem = self.chaindb.db.wrapped_db  # type: ignore[attr-defined]
        mem.kv_store = tracked(mem.kv_store)  # what changed, for pruning and snapshots
        self.context = ChainContext(spec.chain_id)
        genesis = self.chain.get_canonical_block_by_number(BlockNumber(0))
        self.blocks = Blocks(self.decode_stored)  # chains/blockindex.py
        self.blocks.append(make_block_record(genesis, (), ()))
        self.by_hash: dict[bytes, int] = {self.blocks[0].hash: 0}
        self.txs = Txs(self.blocks)
        self._open: OpenBlock | None = None
        self._quiet: tuple[type, bytes] | None = None  # see _changes_nothing
        self._warm = False  # whether the last sealed block had transactions or changes
        # state pruning (sequencer/retention.py): blocks below the floor have no state,
        # except the pinned ones; a few storage values are kept for every block
        self.state_floor = 0
        self.state_history = 0
        self.pinned: frozenset[int] = frozenset()
        self.kept = KeptValues()
        blocks = spec.genesis.blocks_rlp
        progress = Progress(f"rollup {spec.chain_id}: importing chain.rlp, block", len(blocks))
        for done, raw in enumerate(blocks):
            progress(done)
            self._import(raw)
        progress.done()

    # -- index ------------------------------------------------------------------------

    @property
    def head(self) -> BlockRecord:
        return self.blocks[-1]

    @property
    def open(self) -> OpenBlock | None:
        return self._open

    def block(self, number: int) -> BlockRecord | None:
        return self.blocks[number] if 0 <= number < len(self.blocks) else None

    def block_by_hash(self, block_hash: bytes) -> BlockRecord | None:
        number = self.by_hash.get(block_hash)
        return None if number is None else self.blocks[number]

    def _index(self, record: BlockRecord) -> None:
        self.blocks.append(record)
        self.by_hash[record.hash] = record.number
        for tx in record.txs:
            self.txs.add(tx.hash, record.number, tx.index)

    def _import(self, raw: bytes) -> None:
        number = int.from_bytes(rlp.decode(raw)[0][8], "big")
        vm_class = self.chain.get_vm_class_for_block_number(BlockNumber(number))
        block = rlp.decode(raw, sedes=vm_class.get_block_class())
        result = self.chain.import_block(block, perform_validation=True)
        imported = result.imported_block
        receipts = tuple(imported.get_receipts(self.chaindb))
        senders = tuple(bytes(tx.sender) for tx in imported.transactions)
        self._index(make_block_record(imported, receipts, senders))

    # -- the open block ---------------------------------------------------------------

    def vm_class_for(self, number: int) -> type[VirtualMachineAPI]:
        vm_class: type[VirtualMachineAPI] = self.chain.get_vm_class_for_block_number(
            BlockNumber(number)
        )
        return vm_class

    def open_block(self, timestamp: int) -> OpenBlock:
        """Start block head+1 with the slot's timestamp; run the fork's pre-processing."""
        if self._open is not None:
            raise RuntimeError("a block is already open")
        parent = self.head.block.header
        number = parent.block_number + 1
        vm_class = self.vm_class_for(number)
        fields: dict[str, Any] = {
            "timestamp": max(timestamp, parent.timestamp + 1),
            "gas_limit": parent.gas_limit,
            "coinbase": FEE_VAULT,
        }
        if parent.difficulty == 0 or number >= self._merge_block():
            fields["mix_hash"] = keccak(parent.hash + b"prevrandao")
        header = vm_class.create_header_from_parent(parent, **fields)

        def build() -> tuple[VirtualMachineAPI, Workspace]:
            consensus = self.chain.consensus_context  # type: ignore[attr-defined]
            vm: Any = vm_class(header, self.chaindb, self.context, consensus)
            vm.block_preprocessing(vm.get_block())
            return vm, Workspace(vm.state)

        self._open = OpenBlock(header=header.copy(gas_used=0), build=build)
        if self._warm:  # used in the last block: likely used again, build it now
            self._open.vm  # noqa: B018
        return self._open

    def _merge_block(self) -> int:
        from eth.vm.forks import ParisVM

        for number, vm in self.chain.vm_configuration:
            if issubclass(vm, ParisVM):
                return int(number)
        return 1 << 62

    def ensure_open(self, timestamp: int) -> OpenBlock:
        return self._open if self._open is not None else self.open_block(timestamp)

    def snapshot(self) -> Mark:
        """Mark the open block so that everything applied after can be undone."""
        ob = self.require_open()
        return Mark(len(ob.ops), int(ob.header.timestamp))

    def commit(self, mark: Mark) -> None:
        """Keep everything applied since ``mark`` (nothing to do: work is applied eagerly)."""
        self.require_open()

    def revert(self, mark: Mark) -> None:
        """Undo everything applied since ``mark``: state, transactions, receipts, gas.

        The open block is rebuilt from scratch and the operations before ``mark`` are
        replayed, exactly as py-evm would execute them (see chains/workspace.py for why a
        journal snapshot cannot span transactions). The cost is re-executing the block's
        committed prefix, paid only when a group fails.
        """
        ob = self.require_open()
        if len(ob.ops) == mark.ops and int(ob.header.timestamp) == mark.timestamp:
            return  # nothing was applied since the mark
        self._rebuild(ob.ops[: mark.ops], mark.timestamp)

    def _rebuild(self, ops: list[Op], timestamp: int) -> None:
        self._open = None
        self.open_block(timestamp)
        for op in ops:
            self._replay(op)

    def _replay(self, op: Op) -> None:
        if op.change is not None:
            self.apply_change(op.change)
        else:
            assert op.tx is not None
            self.apply(op.tx, op.sender)

    def apply(self, tx: SignedTransactionAPI, sender: bytes | None = None) -> Applied:
        """Execute ``tx`` in the open block. Raises ``TxRejected`` if it is invalid.

        ``sender`` overrides the recovered sender (impersonated accounts, anvil-style).
        """
        ob = self.require_open()
        sender = bytes(tx.sender) if sender is None else sender
        executed: Any = tx if sender == tx.sender else SpoofTransaction(tx, sender=sender)
        try:
            ob.vm.validate_transaction_against_header(ob.header, tx)
            computation = ob.workspace.run(executed)
        except ValidationError as exc:
            raise TxRejected(_geth_wording(str(exc))) from exc
        receipt = ob.vm.make_receipt(ob.header, tx, computation, ob.workspace.state)
        gas_used = int(receipt.gas_used - ob.header.gas_used)
        header = ob.vm.add_receipt_to_header(ob.header, receipt)  # no copy for 0 blob gas:
        ob.header = ob.vm.increment_blob_gas_used(header, tx) if get_total_blob_gas(tx) else header
        ob.txs.append(tx)
        ob.receipts.append(receipt)
        ob.senders.append(sender)
        ob.ops.append(Op(tx=tx, sender=sender))
        return Applied(tx, sender, receipt, computation, len(ob.txs) - 1, gas_used)

    def system_transaction(self, key: bytes, to: bytes, data: bytes) -> SignedTransactionAPI:
        """A transaction of the sequencer's system account for the open block: next nonce,
        base-fee price, as much gas as the block has left (at most 10M)."""
        ob = self.require_open()
        nonce = ob.workspace.state.get_nonce(Address(sender_of(key)))
        base_fee = int(getattr(ob.header, "base_fee_per_gas", 0) or 0)
        gas = min(ob.gas_left, 10_000_000)
        builder = ob.vm.get_transaction_builder()
        return system_tx(builder, key, self.chain_id, nonce, base_fee, gas, to, data)

    def apply_change(self, change: Callable[[StateAPI], None]) -> None:
        """Apply a devnet state change (anvil_setBalance, ...) to the open block."""
        ob = self.require_open()
        ob.workspace.state.lock_changes()
        change(ob.workspace.state)
        ob.ops.append(Op(change=change))
        ob.dirty = True

    def seal(self) -> BlockRecord:
        """Finish the open block: roots computed once, block persisted and indexed."""
        ob = self.require_open()
        self._warm = bool(ob.ops)
        if not ob.ops and self._changes_nothing(ob.number):
            return self._seal_empty(ob)
        # finalize without mine_block's re-validation: we built this block ourselves and
        # tests re-import our blocks with py-evm's full validation (test_workspace.py)
        block = finish_block(ob.vm, ob.header, ob.txs, ob.receipts)  # chains/busy.py
        persist_header(self.chaindb.db, block.header)
        record = make_block_record(block, tuple(ob.receipts), tuple(ob.senders))
        self._open = None
        self._index(record)
        return record

    def _changes_nothing(self, number: int) -> bool:
        """Whether an empty block at ``number`` keeps the head's state as it is (cached
        per head state root: an idle rollup's root does not change)."""
        vm_class = self.vm_class_for(number)
        key = (vm_class, bytes(self.head.block.header.state_root))
        if self._quiet != key:
            if not changes_nothing(vm_class, self.chaindb.db, key[1]):
                return False
            self._quiet = key
        return True

    def _seal_empty(self, ob: OpenBlock) -> BlockRecord:
        """Seal an open block to which nothing was applied as a header over the unchanged
        state (its VM, if something built it, ran a pre-processing that wrote nothing)."""
        block = empty_block(self.vm_class_for(ob.number), ob.header, self.head.block.header)
        persist_header(self.chaindb.db, block.header)
        record = make_block_record(block, (), ())
        self._open = None
        self._index(record)
        return record

    def discard_open(self) -> None:
        """Drop the open block and everything applied to it."""
        self._open = None

    def rewind(self, number: int) -> list[BlockRecord]:
        """Make block ``number`` the head again; returns the dropped blocks."""
        if not 0 <= number <= self.head.number:
            raise XseqError(f"cannot rewind to block {number}")
        self.require_state(number)
        self.state_floor = min(self.state_floor, number)
        self.kept.truncate(number)
        self._open = None
        dropped = self.blocks[number + 1 :]
        for n in range(number + 1, len(self.blocks)):
            self.by_hash.pop(self.blocks.hash_of(n), None)
            for tx_hash in self.blocks.tx_hashes_of(n):
                self.txs.pop(tx_hash, None)
        del self.blocks[number + 1 :]
        return dropped

    def require_open(self) -> OpenBlock:
        if self._open is None:
            raise RuntimeError("no block is open")
        return self._open

    def decode_stored(self, stored: Stored) -> BlockRecord:
        """A block kept as bytes, decoded into its record (``decode_stored`` below)."""
        return decode_stored(self.vm_class_for, stored)

    # -- reads ----------------------------------------------------------------------------

    def require_state(self, number: int) -> None:
        """Raise ``StateUnavailable`` if block ``number``'s state was pruned."""
        if number < self.state_floor and number not in self.pinned:
            raise StateUnavailable(number, self.state_floor, self.state_history)

    def state_at(self, header: BlockHeaderAPI) -> StateAPI:
        """A fresh, read-only-by-convention state at ``header``'s post-state root (for a
        pruned block: the kept values only, chains/retained.py)."""
        number = int(header.block_number)
        try:
            self.require_state(number)
        except StateUnavailable as error:
            return PrunedState(self.kept, error, number)  # type: ignore[return-value]
        vm_class = self.vm_class_for(header.block_number)
        prev_hashes = vm_class.get_prev_hashes(header.parent_hash, self.chaindb)
        state: StateAPI = vm_class.build_state(
            self.chaindb.db, header, self.context, prev_hashes or ()
        )
        return state

    def pending_state(self) -> StateAPI:
        """The open block's working state (latest state when no block is open)."""
        if self._open is not None:
            return self._open.workspace.state
        return self.state_at(self.head.block.header)


_WORDING = (
    ("Invalid transaction nonce", "nonce too low"),
    ("cannot afford txn gas", "insufficient funds for gas * price + value"),
    ("does not have enough balance", "insufficient funds for gas * price + value"),
    ("insufficient funds", "insufficient funds for gas * price + value"),
    ("Transaction exceeds gas limit", "exceeds block gas limit"),
    ("max fee per gas", "max fee per gas less than block base fee"),
    ("intrinsic", "intrinsic gas too low"),
)


def decode_stored(vm_class_for: Any, stored: Stored) -> BlockRecord:
    """A block kept as bytes, decoded into its record with the VM of its number's fork."""
    raw = rlp.decode(stored.raw_block)
    vm_class = vm_class_for(int.from_bytes(raw[0][8], "big"))
    block = vm_class.get_block_class().deserialize(raw)
    receipt_builder = vm_class.get_receipt_builder()
    receipts = tuple(receipt_builder.decode(r) for r in stored.raw_receipts)
    return make_block_record(block, receipts, tuple(stored.senders))


def stored_of(record: BlockRecord) -> Stored:
    """A decoded block as a snapshot keeps it."""
    return Stored(
        rlp.encode(record.block),
        tuple(bytes(t.receipt.encode()) for t in record.txs),
        tuple(t.sender for t in record.txs),
        record.hash,
        tuple(t.hash for t in record.txs),
    )


def _geth_wording(message: str) -> str:
    """Map py-evm's validation messages to the geth wording clients match on."""
    for needle, wording in _WORDING:
        if needle.lower() in message.lower():
            return f"{wording} ({message})"
    return f"invalid transaction: {message}"

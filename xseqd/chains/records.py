"""Our own index of sealed blocks and their transactions (pure values).

py-evm keeps number->hash and transaction lookups that go stale when a head is rewound
(evm_revert, an invalidated slot), so every rollup keeps its own records: one
``BlockRecord`` per block with a ``TxRecord`` per transaction, built once when a block is
sealed or imported. RPC formatting reads only these.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import rlp
from eth._utils.address import generate_contract_address
from eth.abc import BlockAPI, ReceiptAPI, SignedTransactionAPI
from eth.constants import CREATE_CONTRACT_ADDRESS
from eth_typing import Address


@dataclass(frozen=True)
class TxRecord:
    """A transaction as included in a block, with everything a receipt needs."""

    tx: SignedTransactionAPI
    sender: bytes
    block_number: int
    block_hash: bytes
    index: int
    receipt: ReceiptAPI
    gas_used: int
    effective_gas_price: int
    contract_address: bytes | None
    first_log_index: int

    @cached_property
    def hash(self) -> bytes:  # py-evm re-encodes and re-hashes on every .hash
        return bytes(self.tx.hash)


@dataclass(frozen=True)
class BlockRecord:
    """A sealed block of one rollup."""

    block: BlockAPI
    txs: tuple[TxRecord, ...]
    size: int

    @property
    def number(self) -> int:
        return int(self.block.header.block_number)

    @cached_property
    def hash(self) -> bytes:  # computed once (py-evm's header.hash re-encodes every time)
        return bytes(self.block.header.hash)


def effective_gas_price(tx: SignedTransactionAPI, base_fee: int | None) -> int:
    """The price per gas the sender paid, per EIP-1559 (legacy: its gas price)."""
    if base_fee is None or tx.type_id in (None, 1):
        return int(tx.gas_price)
    return min(int(tx.max_fee_per_gas), int(tx.max_priority_fee_per_gas) + base_fee)


def make_block_record(
    block: BlockAPI, receipts: tuple[ReceiptAPI, ...], senders: tuple[bytes, ...]
) -> BlockRecord:
    """Index a sealed block: per-transaction gas, price, created address and log offsets."""
    header = block.header
    base_fee = getattr(header, "base_fee_per_gas", None)
    records = []
    cumulative = 0
    log_index = 0
    block_hash = header.hash if block.transactions else b""  # hashed once, not per tx
    for i, (tx, receipt, sender) in enumerate(zip(block.transactions, receipts, senders)):
        created = None
        if tx.to == CREATE_CONTRACT_ADDRESS:
            created = generate_contract_address(Address(sender), tx.nonce)
        records.append(
            TxRecord(
                tx=tx,
                sender=sender,
                block_number=header.block_number,
                block_hash=block_hash,
                index=i,
                receipt=receipt,
                gas_used=receipt.gas_used - cumulative,
                effective_gas_price=effective_gas_price(tx, base_fee),
                contract_address=created,
                first_log_index=log_index,
            )
        )
        cumulative = receipt.gas_used
        log_index += len(receipt.logs)
    size = len(rlp.encode(block))
    return BlockRecord(block=block, txs=tuple(records), size=size)

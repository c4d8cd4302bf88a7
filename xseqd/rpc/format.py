"""Wire shapes: our block and transaction records as the JSON objects clients expect.

Field sets and order follow geth (pinned by the execution-apis conformance fixtures):
minimal hex quantities, 0x-prefixed data, fork-dependent header fields only when the
block's fork has them.
"""

from __future__ import annotations

from typing import Any

from eth.abc import BlockHeaderAPI, SignedTransactionAPI

from xseqd.chains.records import BlockRecord, TxRecord


def q(value: int) -> str:
    """A minimal hex quantity."""
    return hex(value)


def h(value: bytes | None) -> str:
    """0x-prefixed hex data."""
    return "0x" + bytes(value or b"").hex()


def addr(value: bytes | None) -> str | None:
    return None if value is None or value == b"" else h(value)


def header_json(header: BlockHeaderAPI, size: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    base_fee = getattr(header, "base_fee_per_gas", None)
    if base_fee is not None:
        out["baseFeePerGas"] = q(base_fee)
    if hasattr(header, "blob_gas_used"):
        out["blobGasUsed"] = q(header.blob_gas_used)
    out["difficulty"] = q(header.difficulty)
    if hasattr(header, "excess_blob_gas"):
        out["excessBlobGas"] = q(header.excess_blob_gas)
    out.update(
        extraData=h(header.extra_data),
        gasLimit=q(header.gas_limit),
        gasUsed=q(header.gas_used),
        hash=h(header.hash),
        logsBloom=h(header.bloom.to_bytes(256, "big")),
        miner=h(header.coinbase),
        mixHash=h(header.mix_hash),
        nonce=h(header.nonce),
        number=q(header.block_number),
    )
    if hasattr(header, "parent_beacon_block_root"):
        out["parentBeaconBlockRoot"] = h(header.parent_beacon_block_root)
    out["parentHash"] = h(header.parent_hash)
    out["receiptsRoot"] = h(header.receipt_root)
    if hasattr(header, "requests_hash"):
        out["requestsHash"] = h(header.requests_hash)
    out.update(
        sha3Uncles=h(header.uncles_hash),
        size=q(size),
        stateRoot=h(header.state_root),
        timestamp=q(header.timestamp),
    )
    return out


def block_json(record: BlockRecord, full: bool) -> dict[str, Any]:
    header = record.block.header
    out = header_json(header, record.size)
    out["transactions"] = [tx_json(t) if full else h(t.hash) for t in record.txs]
    out["transactionsRoot"] = h(header.transaction_root)
    out["uncles"] = [h(u.hash) for u in record.block.uncles]
    if hasattr(header, "withdrawals_root"):
        out["withdrawals"] = [
            {
                "index": q(w.index),
                "validatorIndex": q(w.validator_index),
                "address": h(w.address),
                "amount": q(w.amount),
            }
            for w in getattr(record.block, "withdrawals", ())
        ]
        out["withdrawalsRoot"] = h(header.withdrawals_root)
    return out


def new_heads_json(record: BlockRecord) -> dict[str, Any]:
    """A header for ``eth_subscribe("newHeads")``: the full header, transactionsRoot included."""
    out = header_json(record.block.header, record.size)
    out["transactionsRoot"] = h(record.block.header.transaction_root)
    if hasattr(record.block.header, "withdrawals_root"):
        out["withdrawalsRoot"] = h(record.block.header.withdrawals_root)
    return out


def _signature(tx: SignedTransactionAPI, typed: bool) -> dict[str, Any]:
    if typed:
        parity = q(tx.y_parity)
        return {"v": parity, "r": q(tx.r), "s": q(tx.s), "yParity": parity}
    return {"v": q(tx.v), "r": q(tx.r), "s": q(tx.s)}  # type: ignore[attr-defined]


def tx_fields(tx: SignedTransactionAPI, sender: bytes, base_fee: int | None) -> dict[str, Any]:
    """The transaction object without its block position."""
    type_id = tx.type_id or 0
    typed = type_id != 0
    out: dict[str, Any] = {"from": h(sender), "gas": q(tx.gas)}
    if type_id in (0, 1):
        out["gasPrice"] = q(tx.gas_price)
    else:
        price = tx.max_fee_per_gas
        if base_fee is not None:
            price = min(tx.max_fee_per_gas, base_fee + tx.max_priority_fee_per_gas)
        out["gasPrice"] = q(price)
        out["maxFeePerGas"] = q(tx.max_fee_per_gas)
        out["maxPriorityFeePerGas"] = q(tx.max_priority_fee_per_gas)
    if type_id == 3:
        out["maxFeePerBlobGas"] = q(tx.max_fee_per_blob_gas)
    out.update(
        hash=h(tx.hash),
        input=h(tx.data),
        nonce=q(tx.nonce),
        to=addr(tx.to),
    )
    out["value"] = q(tx.value)
    out["type"] = q(type_id)
    if typed:
        out["accessList"] = [
            {"address": h(a), "storageKeys": [h(k.to_bytes(32, "big")) for k in keys]}
            for a, keys in tx.access_list
        ]
        out["chainId"] = q(int(tx.chain_id or 0))
    elif tx.chain_id is not None:
        out["chainId"] = q(int(tx.chain_id))
    if type_id == 3:
        out["blobVersionedHashes"] = [h(x) for x in tx.blob_versioned_hashes]
    if type_id == 4:
        out["authorizationList"] = [
            {
                "chainId": q(a.chain_id),
                "address": h(a.address),
                "nonce": q(a.nonce),
                "yParity": q(a.y_parity),
                "r": q(a.r),
                "s": q(a.s),
            }
            for a in tx.authorization_list
        ]
    out.update(_signature(tx, typed))
    return out


def tx_json(record: TxRecord) -> dict[str, Any]:
    """A mined transaction with its block position (geth's field order)."""
    out: dict[str, Any] = {
        "blockHash": h(record.block_hash),
        "blockNumber": q(record.block_number),
    }
    fields = tx_fields(record.tx, record.sender, None)
    fields["gasPrice"] = q(record.effective_gas_price)
    for key, value in fields.items():
        out[key] = value
        if key == "to":
            out["transactionIndex"] = q(record.index)
    return out


def pending_tx_json(tx: SignedTransactionAPI, sender: bytes) -> dict[str, Any]:
    out: dict[str, Any] = {"blockHash": None, "blockNumber": None}
    out.update(tx_fields(tx, sender, None))
    out["transactionIndex"] = None
    return out


def log_json(record: TxRecord, i: int, log: Any, removed: bool = False) -> dict[str, Any]:
    address, topics, payload = log.address, log.topics, log.data
    return {
        "address": h(address),
        "topics": [h(t.to_bytes(32, "big")) for t in topics],
        "data": h(payload),
        "blockNumber": q(record.block_number),
        "transactionHash": h(record.hash),
        "transactionIndex": q(record.index),
        "blockHash": h(record.block_hash),
        "logIndex": q(record.first_log_index + i),
        "removed": removed,
    }


def receipt_json(record: TxRecord, blob_gas_price: int | None = None) -> dict[str, Any]:
    receipt = record.receipt
    tx = record.tx
    out: dict[str, Any] = {}
    blob_hashes = getattr(tx, "blob_versioned_hashes", None) if tx.type_id == 3 else None
    if blob_hashes:
        out["blobGasPrice"] = q(blob_gas_price or 1)
        out["blobGasUsed"] = q(len(blob_hashes) * 131072)
    out.update(
        blockHash=h(record.block_hash),
        blockNumber=q(record.block_number),
        contractAddress=addr(record.contract_address),
        cumulativeGasUsed=q(receipt.gas_used),
        effectiveGasPrice=q(record.effective_gas_price),
    )
    out["from"] = h(record.sender)
    out["gasUsed"] = q(record.gas_used)
    out["logs"] = [log_json(record, i, log) for i, log in enumerate(receipt.logs)]
    out["logsBloom"] = h(receipt.bloom.to_bytes(256, "big"))
    if len(receipt.state_root) == 32:  # pre-Byzantium: intermediate state root
        out["root"] = h(receipt.state_root)
    else:
        out["status"] = q(1 if _succeeded(receipt) else 0)
    out["to"] = addr(tx.to)
    out["transactionHash"] = h(record.hash)
    out["transactionIndex"] = q(record.index)
    out["type"] = q(tx.type_id or 0)
    return out


def _succeeded(receipt: Any) -> bool:
    return bytes(receipt.state_root) == b"\x01"

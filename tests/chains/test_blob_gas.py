"""A block's ``blob_gas_used`` counts the blob transactions it holds, and only them:
``Rollup.apply`` copies the header for a blob transaction's blob gas and skips the copy
when a transaction carries none (the header would be the same). The sealed blocks are
py-evm's: they re-import with full validation to the same hashes."""

from __future__ import annotations

from eth_account import Account

from tests.chains.test_workspace import KEYS, Signer, new_rollup, reimport

GAS_PER_BLOB = 131_072


def blob_tx(rollup, key, hashes: int):  # type: ignore[no-untyped-def]
    ob = rollup.open
    nonce = ob.workspace.state.get_nonce(bytes.fromhex(key.address[2:]))
    fields = {
        "type": 3,
        "chainId": 901,
        "nonce": nonce,
        "to": b"\x33" * 20,
        "value": 1,
        "gas": 21_000,
        "maxFeePerGas": 10**11,
        "maxPriorityFeePerGas": 1,
        "maxFeePerBlobGas": 10**9,
        "blobVersionedHashes": [b"\x01" + bytes([i]) * 31 for i in range(hashes)],
    }
    raw = bytes(Account.sign_transaction(fields, key.key).raw_transaction)
    return ob.vm.get_transaction_builder().decode(raw)


def test_blob_gas_used_counts_only_blob_transactions() -> None:
    rollup = new_rollup()
    signer = Signer(rollup)
    rollup.open_block(1)
    assert rollup.apply(signer.tx(KEYS[1], b"\x44" * 20, value=1, gas=21_000)).success
    assert rollup.open is not None and rollup.open.header.blob_gas_used == 0
    assert rollup.apply(blob_tx(rollup, KEYS[2], 2)).success
    assert rollup.open.header.blob_gas_used == 2 * GAS_PER_BLOB
    assert rollup.apply(signer.tx(KEYS[1], b"\x44" * 20, value=1, gas=21_000)).success
    assert rollup.open.header.blob_gas_used == 2 * GAS_PER_BLOB
    assert rollup.apply(blob_tx(rollup, KEYS[3], 1)).success
    first = rollup.seal()
    assert first.block.header.blob_gas_used == 3 * GAS_PER_BLOB
    rollup.open_block(2)
    assert rollup.apply(signer.tx(KEYS[1], b"\x44" * 20, value=1, gas=21_000)).success
    second = rollup.seal()
    assert second.block.header.blob_gas_used == 0
    assert reimport(rollup) == [first.hash, second.hash]

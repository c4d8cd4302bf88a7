"""System transactions are signed without eth_account (chains/systx.py): the bytes must be
exactly those ``Account.sign_transaction`` gives for the same fields, so that blocks hash
the same whichever signed them (replay, the verifier, older logs); ``sign_hash`` (order
receipts too) must be eth_keys' signature."""

from __future__ import annotations

import random

from eth.vm.forks import PragueVM
from eth_account import Account
from eth_keys import keys

from xseqd.chains.predeploys import SYSTEM_KEY
from xseqd.chains.systx import sender_of, sign_dynamic_fee, sign_hash, system_tx

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def eth_account_raw(key: bytes, chain_id: int, nonce: int, base_fee: int, gas: int,
                    to: bytes, data: bytes) -> bytes:  # fmt: skip
    fields = {
        "type": 2,
        "chainId": chain_id,
        "nonce": nonce,
        "maxPriorityFeePerGas": 0,
        "maxFeePerGas": base_fee,
        "gas": gas,
        "to": to,
        "value": 0,
        "data": data,
    }
    return bytes(Account.sign_transaction(fields, key).raw_transaction)


def test_same_bytes_as_eth_account() -> None:
    rng = random.Random(7)
    keys = [SYSTEM_KEY, bytes(range(1, 33))]
    for i in range(60):
        key = keys[i % 2]
        chain_id = rng.choice([1, 901, 902, 2**32 + 5])
        nonce = rng.choice([0, 1, rng.randrange(2**40)])
        base_fee = rng.choice([0, 7, rng.randrange(2**64)])
        gas = rng.choice([21_000, 10_000_000, rng.randrange(2**30)])
        to = bytes(rng.randrange(256) for _ in range(20))
        data = bytes(rng.randrange(256) for _ in range(rng.choice([0, 4, 100, 1000])))
        ours = sign_dynamic_fee(key, chain_id, nonce, 0, base_fee, gas, to, 0, data)
        assert ours == eth_account_raw(key, chain_id, nonce, base_fee, gas, to, data)


def test_sender_of_is_the_key_address() -> None:
    assert "0x" + sender_of(SYSTEM_KEY).hex() == Account.from_key(SYSTEM_KEY).address.lower()


def test_sign_hash_is_eth_keys_signature() -> None:
    rng = random.Random(11)
    for i in range(100):
        secret = SYSTEM_KEY if i % 3 == 0 else bytes(rng.randrange(256) for _ in range(32))
        if not 0 < int.from_bytes(secret, "big") < N:
            continue
        msg_hash = bytes(rng.randrange(256) for _ in range(32))
        assert sign_hash(secret, msg_hash) == keys.PrivateKey(secret).sign_msg_hash(msg_hash).vrs


def test_system_tx_is_decoded_by_the_vm_with_its_sender() -> None:
    builder = PragueVM.get_transaction_builder()
    tx = system_tx(builder, SYSTEM_KEY, 902, 4, 7, 1_000_000, b"\x42" * 20, b"\x01\x02")
    raw = eth_account_raw(SYSTEM_KEY, 902, 4, 7, 1_000_000, b"\x42" * 20, b"\x01\x02")
    fresh = builder.decode(raw)
    assert type(tx) is type(fresh) and tx.hash == fresh.hash
    assert tx.sender == fresh.sender == sender_of(SYSTEM_KEY)  # recovered: the same

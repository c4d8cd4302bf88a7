"""Raw transactions are bounded before they are decoded (issue 9; found by `make fuzz`):
a 1 MB `0xff...` body made pyrlp recurse for seconds, and a 128 KB transaction of nested
RLP lists took 18 s of the event loop. Over HTTP against a real server: each answers at
once with a clear error, and the daemon keeps serving."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
import rlp
from eth_account import Account

from tests.conftest import send_eth
from xseqd.node import NodeThread
from xseqd.rpc import rawtx
from xseqd.rpc.rawtx import MAX_RLP_DEPTH, MAX_TX_BYTES, rlp_depth_exceeds


def nested(size: int) -> bytes:
    """RLP lists nested inside each other until ``size`` bytes."""
    heads, length = [], 1  # the innermost empty list, b"\xc0"
    while length < size:
        heads.append(rlp.codec.length_prefix(length, 0xC0))
        length += len(heads[-1])
    return b"".join(reversed(heads)) + b"\xc0"


def depth(levels: int) -> bytes:
    value: Any = [b"x"]
    for _ in range(levels - 1):
        value = [value, b"\x01" * 60]  # long-form lists too
    return bytes(rlp.encode(value))


def test_depth_walk_matches_the_structure() -> None:
    assert rlp.decode(nested(300)) and len(nested(300)) >= 300
    assert not rlp_depth_exceeds(depth(MAX_RLP_DEPTH), MAX_RLP_DEPTH)
    assert rlp_depth_exceeds(depth(MAX_RLP_DEPTH + 1), MAX_RLP_DEPTH)
    assert not rlp_depth_exceeds(rlp.encode([b"a" * 100_000, [b"b"] * 3, b""]), 2)
    assert not rlp_depth_exceeds(b"", 1) and not rlp_depth_exceeds(b"\xff" * 9, 1)
    # real transactions, typed and legacy, are far from the bound
    key = Account.create()
    tx = {
        "chainId": 901,
        "nonce": 0,
        "gas": 50_000,
        "maxFeePerGas": 1,
        "maxPriorityFeePerGas": 1,
        "to": "0x" + "11" * 20,
        "value": 0,
        "accessList": [{"address": "0x" + "22" * 20, "storageKeys": ["0x" + "33" * 32]}],
    }
    raw = bytes(Account.sign_transaction(tx, key.key).raw_transaction)
    rawtx.check(raw)
    assert not rlp_depth_exceeds(raw[1:], 4) and rlp_depth_exceeds(raw[1:], 3)
    legacy = {"nonce": 0, "gas": 21_000, "gasPrice": 1, "to": "0x" + "11" * 20, "value": 0}
    rawtx.check(bytes(Account.sign_transaction(legacy, key.key).raw_transaction))


@pytest.mark.parametrize(
    "body, code, words",
    [
        (nested(MAX_TX_BYTES - 10), -32602, "RLP nested deeper than 8"),
        (b"\x02" + nested(MAX_TX_BYTES - 10), -32602, "RLP nested deeper than 8"),
        (b"\xff" * 1_000_000, -32000, "oversized data"),
        (b"\x02" + b"\xf8" * MAX_TX_BYTES, -32000, "oversized data"),
        (b"\x03" + nested(200_000), -32602, "RLP nested deeper than 8"),
    ],
    ids=["nested legacy", "nested typed", "1 MB", "128 KB + 1", "nested blob"],
)
def test_a_hostile_raw_transaction_is_refused_at_once(
    devnet: NodeThread, w3a: Any, keys: list[Any], body: bytes, code: int, words: str
) -> None:
    assert devnet.endpoints is not None
    url = devnet.endpoints.rollup_url(901)
    hexed = "0x" + body.hex()
    for target, method, params in (
        (url, "eth_sendRawTransaction", [hexed]),
        (devnet.endpoints.base_url, "xseq_sendBundle", [{"txs": [hexed]}]),
        (devnet.endpoints.base_url, "xseq_callBundle", [{"txs": [hexed]}]),
    ):
        t0 = time.monotonic()
        body_ = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        reply = httpx.post(target, json=body_, timeout=30).json()
        took = time.monotonic() - t0
        assert reply["error"]["code"] == code and words in reply["error"]["message"], reply
        assert took < 1.0, (method, took)
    # and the daemon goes on
    tx = send_eth(w3a, keys[4], "0x000000000000000000000000000000000000b0b0", 1)
    assert w3a.eth.get_transaction_receipt(tx)["status"] == 1

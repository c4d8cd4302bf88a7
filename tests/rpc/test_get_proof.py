"""eth_getProof (EIP-1186) over HTTP: every proof checks out against the block's stateRoot
with an independent verifier (py-trie's ``get_from_proof``), at latest and at history."""

from __future__ import annotations

from typing import Any

import rlp
from eth_utils import keccak
from trie import HexaryTrie
from web3 import Web3

from tests.conftest import send_eth

HOLDER = Web3.to_checksum_address("0x00000000000000000000000000000000000d00d1")
EMPTY_ROOT = "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421"


def rpc(w3: Web3, method: str, params: list[Any]) -> dict[str, Any]:
    return dict(w3.provider.make_request(method, params))  # type: ignore[arg-type]


def word(n: int) -> str:
    return "0x" + n.to_bytes(32, "big").hex()


def verify(root: str, key: bytes, proof: list[str]) -> bytes:
    """The value the proof shows under ``key`` (b'' proves absence)."""
    nodes = [rlp.decode(bytes.fromhex(n[2:])) for n in proof]
    return bytes(HexaryTrie.get_from_proof(bytes.fromhex(root[2:]), key, nodes))


def check_account(w3: Web3, result: dict[str, Any], block: dict[str, Any]) -> None:
    addr = bytes.fromhex(result["address"][2:])
    leaf = verify(block["stateRoot"], keccak(addr), result["accountProof"])
    nonce, balance, storage_root, code_hash = rlp.decode(leaf)
    assert int.from_bytes(nonce, "big") == int(result["nonce"], 16)
    assert int.from_bytes(balance, "big") == int(result["balance"], 16)
    assert "0x" + storage_root.hex() == result["storageHash"]
    assert "0x" + code_hash.hex() == result["codeHash"]


def test_account_proof_at_latest_and_at_history(w3a: Web3, keys: list[Any]) -> None:
    who = keys[5].address
    old = w3a.eth.get_block("latest")
    before = rpc(w3a, "eth_getProof", [who, [], hex(old["number"])])["result"]
    w3a.eth.wait_for_transaction_receipt(send_eth(w3a, keys[5], HOLDER, 10**18))
    new = rpc(w3a, "eth_getBlockByNumber", ["latest", False])["result"]
    after = rpc(w3a, "eth_getProof", [who, [], "latest"])["result"]
    old_json = rpc(w3a, "eth_getBlockByNumber", [hex(old["number"]), False])["result"]
    check_account(w3a, before, old_json)
    check_account(w3a, after, new)
    assert int(after["nonce"], 16) == int(before["nonce"], 16) + 1
    assert after["balance"] == rpc(w3a, "eth_getBalance", [who, "latest"])["result"]
    assert after["storageHash"] == EMPTY_ROOT
    assert after["codeHash"] == "0x" + keccak(b"").hex()
    by_hash = rpc(w3a, "eth_getProof", [who, [], {"blockHash": new["hash"]}])["result"]
    assert by_hash == after


def test_storage_proofs_and_key_echo(w3a: Web3) -> None:
    assert "error" not in rpc(w3a, "anvil_setCode", [HOLDER, "0x00"])
    assert "error" not in rpc(w3a, "anvil_setStorageAt", [HOLDER, "0x0", word(42)])
    assert "error" not in rpc(w3a, "anvil_setStorageAt", [HOLDER, "0x7", word(7)])
    rpc(w3a, "evm_mine", [])
    block = rpc(w3a, "eth_getBlockByNumber", ["latest", False])["result"]
    keys = ["0x00", word(7), "0x9"]
    result = rpc(w3a, "eth_getProof", [HOLDER, keys, "latest"])["result"]
    check_account(w3a, result, block)
    assert result["codeHash"] == "0x" + keccak(b"\x00").hex()
    got = [(sp["key"], sp["value"]) for sp in result["storageProof"]]
    assert got == [("0x0", "0x2a"), (word(7), "0x7"), ("0x9", "0x0")]
    for sp, slot in zip(result["storageProof"], (0, 7, 9), strict=True):
        leaf = verify(result["storageHash"], keccak(slot.to_bytes(32, "big")), sp["proof"])
        value = rlp.decode(leaf) if leaf else b""
        assert int.from_bytes(value, "big") == int(sp["value"], 16)


def test_missing_account_proves_absence_with_zero_hashes(w3a: Web3) -> None:
    nobody = "0x00000000000000000000000000000000000d00d9"
    block = rpc(w3a, "eth_getBlockByNumber", ["latest", False])["result"]
    result = rpc(w3a, "eth_getProof", [nobody, ["0x1"], "latest"])["result"]
    assert result["balance"] == "0x0" and result["nonce"] == "0x0"
    assert result["codeHash"] == word(0) and result["storageHash"] == word(0)
    assert result["storageProof"] == [{"key": "0x1", "value": "0x0", "proof": []}]
    assert (
        verify(block["stateRoot"], keccak(bytes.fromhex(nobody[2:])), result["accountProof"]) == b""
    )


def test_bad_params_are_invalid_params(w3a: Web3) -> None:
    for params in (
        [],
        ["0x12", []],
        [HOLDER, "0x0"],
        [HOLDER, ["0x" + "1" * 65]],
        [HOLDER, ["0xzz"]],
        [HOLDER, ["0x0"] * 1001],
    ):
        assert rpc(w3a, "eth_getProof", params)["error"]["code"] == -32602, params
    assert rpc(w3a, "eth_getProof", [HOLDER, [], "0x" + "ab" * 32])["error"]["code"] != -32603

"""eth_createAccessList over HTTP, in geth's shape: the touched addresses and slots
(sender, recipient and precompiles left out as addresses), and gasUsed equal to what the
transaction then pays with that list."""

from __future__ import annotations

from typing import Any

from eth_account import Account
from web3 import Web3

from tests.conftest import send_eth
from xseqd.node import NodeThread

B = "00000000000000000000000000000000000bbbb1"
C = "00000000000000000000000000000000000cccc1"
TARGET = Web3.to_checksum_address("0x00000000000000000000000000000000000aaaa1")
REVERTER = Web3.to_checksum_address("0x00000000000000000000000000000000000aaaa2")
# SLOAD 0, SLOAD 1, SSTORE 2 := 1, BALANCE(B), CALL identity (0x04), CALL C, STOP
TOUCHER = (
    "0x6000545060015450600160025573"
    + B
    + "3150"
    + "6000600060006000600060045af150"
    + "6000600060006000600073"
    + C
    + "5af150"
    + "00"
)


def rpc(w3: Web3, method: str, params: list[Any]) -> dict[str, Any]:
    return dict(w3.provider.make_request(method, params))  # type: ignore[arg-type]


def word(n: int) -> str:
    return "0x" + n.to_bytes(32, "big").hex()


def test_access_list_lists_touched_state_and_its_gas_is_what_the_tx_pays(
    w3a: Web3, keys: list[Any]
) -> None:
    assert "error" not in rpc(w3a, "anvil_setCode", [TARGET, TOUCHER])
    sender = keys[1]
    call = {"from": sender.address, "to": TARGET, "maxFeePerGas": hex(10**10)}
    reply = rpc(w3a, "eth_createAccessList", [call, "latest"])
    assert "error" not in reply, reply
    result = reply["result"]
    assert set(result) == {"accessList", "gasUsed"}
    assert result["accessList"] == [
        {
            "address": "0x" + "00000000000000000000000000000000000aaaa1",
            "storageKeys": [word(0), word(1), word(2)],
        },
        {"address": "0x" + B, "storageKeys": []},
        {"address": "0x" + C, "storageKeys": []},
    ]
    tx = {
        "chainId": w3a.eth.chain_id,
        "nonce": w3a.eth.get_transaction_count(sender.address, "pending"),
        "to": TARGET,
        "gas": 200_000,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 10**6,
        "type": 2,
        "accessList": [
            {"address": Web3.to_checksum_address(e["address"]), "storageKeys": e["storageKeys"]}
            for e in result["accessList"]
        ],
    }
    signed = Account.sign_transaction(tx, sender.key)
    receipt = w3a.eth.wait_for_transaction_receipt(
        w3a.eth.send_raw_transaction(signed.raw_transaction), timeout=10, poll_latency=0.01
    )
    assert receipt.status == 1
    assert receipt.gasUsed == int(result["gasUsed"], 16)


def test_plain_transfer_has_an_empty_list(w3a: Web3, keys: list[Any]) -> None:
    call = {"from": keys[2].address, "to": "0x" + B, "value": "0xa"}
    result = rpc(w3a, "eth_createAccessList", [call])["result"]
    assert result == {"accessList": [], "gasUsed": hex(21_000)}


def test_contract_creation_leaves_out_the_new_contract(w3a: Web3, keys: list[Any]) -> None:
    # init code: SSTORE 0 := 1 in the new contract, SLOAD 5 of it, BALANCE(B), STOP
    init = "0x60016000556005545073" + B + "315000"
    call = {"from": keys[2].address, "data": init}
    result = rpc(w3a, "eth_createAccessList", [call, "latest"])["result"]
    entries = result["accessList"]
    assert {"address": "0x" + B, "storageKeys": []} in entries
    created = [e for e in entries if e["address"] != "0x" + B]
    assert len(created) == 1 and created[0]["storageKeys"] == [word(0), word(5)]


def test_failing_call_answers_with_an_error_field(w3a: Web3, keys: list[Any]) -> None:
    # SLOAD 3 then REVERT(0, 0)
    assert "error" not in rpc(w3a, "anvil_setCode", [REVERTER, "0x6003545060006000fd"])
    call = {"from": keys[2].address, "to": REVERTER}
    reply = rpc(w3a, "eth_createAccessList", [call, "latest"])
    assert "error" not in reply, reply
    result = reply["result"]
    assert result["error"] == "execution reverted"
    assert result["accessList"] == [{"address": REVERTER.lower(), "storageKeys": [word(3)]}]
    assert int(result["gasUsed"], 16) > 21_000


def test_a_given_access_list_is_kept_and_sender_left_out(w3a: Web3, keys: list[Any]) -> None:
    given = [
        {"address": keys[2].address, "storageKeys": []},
        {"address": "0x" + C, "storageKeys": [word(9)]},
    ]
    call = {"from": keys[2].address, "to": "0x" + B, "accessList": given}
    result = rpc(w3a, "eth_createAccessList", [call, "latest"])["result"]
    assert result["accessList"] == [{"address": "0x" + C, "storageKeys": [word(9)]}]
    assert int(result["gasUsed"], 16) == 21_000 + 2400 + 1900


def test_bad_params_are_invalid_params(w3a: Web3) -> None:
    assert rpc(w3a, "eth_createAccessList", [])["error"]["code"] == -32602
    assert rpc(w3a, "eth_createAccessList", ["0x1"])["error"]["code"] == -32602


def test_on_the_open_block_the_tracer_is_removed_afterwards(
    devnet: NodeThread, w3a: Web3, keys: list[Any]
) -> None:
    assert "error" not in rpc(w3a, "evm_setAutomine", [False])
    try:
        send_eth(w3a, keys[4], TARGET, 1, gas=200_000)
        call = {"from": keys[4].address, "to": TARGET}
        result = rpc(w3a, "eth_createAccessList", [call, "pending"])["result"]
        assert result["accessList"][0]["storageKeys"] == [word(0), word(1), word(2)]
        open_block = devnet.node.sequencer.rollups[901].open
        assert open_block is not None
        assert "computation_class" not in vars(open_block.workspace.state)
    finally:
        assert "error" not in rpc(w3a, "evm_setAutomine", [True])
        rpc(w3a, "evm_mine", [])
    # the open block's state runs plain py-evm computations again
    w3a.eth.wait_for_transaction_receipt(send_eth(w3a, keys[4], TARGET, 1, gas=200_000))
    assert rpc(w3a, "eth_getStorageAt", [TARGET, "0x2", "latest"])["result"] == word(1)

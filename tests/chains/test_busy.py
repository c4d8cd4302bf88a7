"""The busy block's seal (chains/busy.py): a Prague block with transactions is finished
without reading its receipts back from the database and with one header copy, and it is
byte for byte the block py-evm's own steps build (set transactions, post-processing,
pack, finalize), and re-imports with py-evm's validation.

Must never happen: a different block (the verifier and replays would disagree with the
sequencer), or deposit requests other than the ones py-evm collects.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import rlp
from eth.rlp.logs import Log
from eth.rlp.receipts import Receipt
from eth.vm.forks.prague import PragueVM
from eth.vm.forks.prague.constants import DEPOSIT_CONTRACT_ADDRESS, DEPOSIT_EVENT_SIGNATURE_HASH
from eth_typing import Address

from tests.chains.test_workspace import COUNTER, KEYS, Signer, new_rollup, reimport
from xseqd.chains import busy
from xseqd.chains.rollup import Rollup

SINK = b"\xbe" * 20
INCREMENT = bytes.fromhex("d09de08a")


def run_blocks(rollup: Rollup, py_evm_steps: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of 1, 5 and 3 items: transfers, a deployment, storage writes, a reverted
    call, a devnet balance change."""
    with monkeypatch.context() as m:
        if py_evm_steps:
            m.setattr(busy, "_plain_prague", lambda vm: False)
        signer = Signer(rollup)
        rollup.open_block(1)
        assert rollup.apply(signer.tx(KEYS[1], SINK, value=1, gas=21_000)).success
        rollup.seal()
        rollup.open_block(2)
        code = bytes.fromhex(COUNTER["bytecode"][2:])
        assert rollup.apply(signer.tx(KEYS[0], None, code, gas=500_000)).success
        counter = rollup.seal().txs[0].contract_address
        assert counter is not None
        rollup.open_block(3)
        for i in range(3):
            assert rollup.apply(signer.tx(KEYS[i], counter, INCREMENT)).success
        rollup.apply(signer.tx(KEYS[3], counter, b"\xde\xad\xbe\xef"))  # reverts, included
        rollup.apply_change(lambda s: s.set_balance(Address(SINK), 12345))
        rollup.seal()
        rollup.open_block(4)
        for i in range(3):
            assert rollup.apply(signer.tx(KEYS[i], SINK, value=i + 1, gas=21_000)).success
        rollup.seal()


def test_busy_blocks_equal_py_evm_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    lean, full = new_rollup(), new_rollup()
    run_blocks(lean, False, monkeypatch)
    run_blocks(full, True, monkeypatch)
    assert len(lean.blocks) == 5
    assert [rlp.encode(b.block) for b in lean.blocks] == [rlp.encode(b.block) for b in full.blocks]
    assert [b.hash for b in lean.blocks] == [b.hash for b in full.blocks]
    for record in lean.blocks[1:]:
        assert all(tx.block_hash == record.hash for tx in record.txs)


def test_busy_blocks_reimport_with_py_evm_validation() -> None:
    rollup = new_rollup()
    signer = Signer(rollup)
    for ts in (1, 2):
        rollup.open_block(ts)
        for i in range(3):
            assert rollup.apply(signer.tx(KEYS[i], SINK, value=ts, gas=21_000)).success
        rollup.seal()
    assert reimport(rollup) == [b.hash for b in rollup.blocks[1:]]


def deposit_log(n: int) -> Log:
    data = bytes((n + i) % 256 for i in range(576))
    topic = int.from_bytes(DEPOSIT_EVENT_SIGNATURE_HASH, "big")
    return Log(DEPOSIT_CONTRACT_ADDRESS, [topic], data)


def test_deposit_requests_are_the_ones_py_evm_collects() -> None:
    other = Log(b"\x11" * 20, [int.from_bytes(DEPOSIT_EVENT_SIGNATURE_HASH, "big")], b"x" * 576)
    wrong_topic = Log(DEPOSIT_CONTRACT_ADDRESS, [7], b"y" * 576)
    no_topic = Log(DEPOSIT_CONTRACT_ADDRESS, [], b"z" * 576)
    receipts: list[Any] = [
        Receipt(state_root=b"\x01", gas_used=21_000, logs=[]),
        Receipt(state_root=b"\x01", gas_used=50_000, logs=[deposit_log(1), other, wrong_topic]),
        Receipt(state_root=b"\x01", gas_used=90_000, logs=[no_topic, deposit_log(2)]),
    ]
    block = SimpleNamespace(get_receipts=lambda db: receipts, block_requests=[])
    PragueVM.process_deposit_request_data(SimpleNamespace(chaindb=None), block)  # type: ignore[arg-type]
    ours = busy.deposit_request_data(receipts)
    assert len(ours) == 2 * 192
    assert block.block_requests == [b"\x00" + ours]
    header = SimpleNamespace(copy=lambda **kw: kw)
    for requests in ([b"\x00" + ours], [b"\x00", b"\x01abc", b"\x02"], []):
        stub = SimpleNamespace(block_requests=requests, header=header, copy=lambda **kw: kw)
        expected = PragueVM.compute_requests_hash(stub)["header"]["requests_hash"]  # type: ignore[arg-type,index]
        assert busy.requests_hash(requests) == expected

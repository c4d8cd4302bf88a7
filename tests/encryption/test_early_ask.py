"""The early ask (sequencer/collect.py): keypers are asked for a slot's shares as soon as
its order is final, before its blocks are built — and that changes nothing a keyper or a
restart can tell apart.

- keypers have released while the commit's slot is still being sealed (its blocks not
  built yet), bound to M = N over the order root the slot then gets;
- a sequencer killed right after the early ask, before the slot's seal is logged, comes
  back with the same slot N (same order root), reveals the commit under the binding the
  keypers already gave, once, with the receipt it gave before the crash;
- large reveals and envelopes are not kept by the decoding caches (a stranger's 2 MB
  ciphertexts must not pile up in memory).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.encryption.support import SINK, client, rollup, rpc, transfer, wait_for
from tests.procs import Devnet, free_port
from xseqd.accounts import dev_accounts
from xseqd.client import SequencerClient
from xseqd.config import Settings
from xseqd.core import encrypted as enc
from xseqd.core import threshold as th
from xseqd.core import transition
from xseqd.core.order import ReceiptDomain
from xseqd.keyper import NICE
from xseqd.node import NodeThread
from xseqd.sequencer.encrypted import is_commit

KEYS = dev_accounts(4)


@contextmanager
def warmed(n: int, t: int) -> Iterator[tuple[NodeThread, SequencerClient]]:
    """A devnet with t-of-n keypers whose first encrypted bundle (KEYS[0], nonce 0, 11 wei
    to SINK on 902) was revealed: the last round went well, so the next slot holding
    commits is asked early. Stopped on the way out."""
    node = NodeThread(Settings.for_tests(keypers=n, keyper_threshold=t))
    node.start()
    try:
        seq = client(node)
        first = seq.send_encrypted_bundle([transfer(902, KEYS[0], 0, 11)])
        assert seq.wait_revealed(first["bundleHash"])["status"] == "included"
        yield node, seq
    finally:
        node.stop()


def releases(url: str) -> list[dict[str, Any]]:
    body = {"jsonrpc": "2.0", "id": 1, "method": "keyper_releases", "params": [{}]}
    return list(httpx.post(url, json=body, timeout=5).json()["result"])


def commit_id(commit: Any) -> str:
    return "0x" + enc.Envelope.decode(enc.split_payload(commit.payload)[0]).id.hex()


def test_keypers_release_while_the_commit_slot_is_still_being_sealed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with warmed(3, 2) as (node, seq):
        assert node.node.keypers is not None
        urls = node.node.keypers.urls
        mine = os.getpriority(os.PRIO_PROCESS, 0)  # keypers run a little below the node
        for proc in node.node.keypers.procs.values():
            assert os.getpriority(os.PRIO_PROCESS, proc.pid) == min(19, mine + NICE)
        during: dict[str, list[dict[str, Any]]] = {}
        real = transition.seal_slot

        def sealing(rollups: Any) -> Any:
            """Inside Sequencer.seal_slot, before the slot's blocks exist: which keypers
            released the slot's commit by now (polled for up to 3 s; the keypers are
            processes of their own, the event loop here is blocked)."""
            commits = [i for i in node.node.sequencer.book.open_items if is_commit(i)]
            if commits and not during:
                wanted = commit_id(commits[0])
                deadline = time.monotonic() + 3
                found: list[dict[str, Any]] = []
                while time.monotonic() < deadline and len(found) < 2:
                    found = [r for url in urls for r in releases(url) if r["id"] == wanted]
                    time.sleep(0.01)
                during[wanted] = found
            return real(rollups)

        monkeypatch.setattr(transition, "seal_slot", sealing)
        second = seq.send_encrypted_bundle([transfer(902, KEYS[0], 1, 22)])
        done = seq.wait_revealed(second["bundleHash"])
        assert done["status"] == "included"
        assert rollup(node, 902).eth.get_balance(SINK) == 33
        (released,) = during.values()
        slot = int(second["slot"], 16)
        assert len(released) >= 2, "no keyper was asked before the slot's blocks were built"
        root = seq.get_slot(slot)["orderRoot"]
        for record in released:  # bound to M = N, over the root the slot really has
            assert record["slot"] == slot and record["after"]["slot"] == slot
            assert record["orderRoot"] == root and record["after"]["roots"] == []


@pytest.mark.parametrize("slot_time", ["0", "1"])
def test_a_sequencer_killed_right_after_the_early_ask_comes_back_the_same(
    tmp_path: Path, slot_time: str
) -> None:
    """Instant mode, and interval mode (red team 4, F3: after the restart a stranger's
    transaction must not join the slot whose order the keypers were shown)."""
    port = free_port()
    args = ("--port", str(port), "--data-dir", str(tmp_path), "--l1-rpc", "none",
            "--keypers", "3", "--keyper-threshold", "2", "--log-level", "warning",
            "--slot-time", slot_time)  # fmt: skip
    devnet = Devnet(*args, "--fault", "crash-early-ask")
    try:
        assert devnet.wait_ready(), devnet.output
        seq = SequencerClient(f"http://127.0.0.1:{port}/")
        first = seq.send_encrypted_bundle([transfer(902, KEYS[0], 0, 11)])
        assert seq.wait_revealed(first["bundleHash"])["status"] == "included"
        sent = seq.send_encrypted_bundle([transfer(902, KEYS[0], 1, 22)])  # acknowledged
        assert devnet.wait_exit(30) == 70, devnet.output  # died as the requests went out
    finally:
        devnet.stop()
    slot = int(sent["slot"], 16)
    asked = []  # what the keypers did before the crash (written before they answered)
    for path in sorted((tmp_path / "keypers").glob("*.bindings.json")):
        for line in path.read_text().splitlines():
            for value in (json.loads(line) if line.strip() else {}).values():
                if isinstance(value, list) and value[2]["slot"] == slot:
                    asked.append(value[2])
    assert asked, "the keypers never got the early ask"
    again = Devnet(*args)
    try:
        assert again.wait_ready(), again.output
        w3 = rollup_url(port)
        stranger = w3.eth.send_raw_transaction(transfer(902, KEYS[1], 0, 5))  # at once
        seq = SequencerClient(f"http://127.0.0.1:{port}/")
        done = seq.wait_revealed(sent["bundleHash"])
        assert done["status"] == "included" and done["receipt"] == sent["receipt"]
        root = seq.get_slot(slot)["orderRoot"]
        for record in asked:  # the restart re-sealed the very order the keypers saw
            assert record["orderRoot"] == root and record["after"]["slot"] == slot
        assert w3.eth.wait_for_transaction_receipt(stranger, 10).blockNumber > slot
        executed = int(done["executedSlot"], 16)  # answered before its slot is sealed:
        wait_for(lambda: w3.eth.block_number >= executed, "the reveal's slot sealed")
        assert w3.eth.get_balance(SINK) == 38  # each transfer once
        assert w3.eth.get_transaction_count(KEYS[0].address) == 2
    finally:
        again.stop()


def rollup_url(port: int) -> Any:
    from web3 import Web3

    return Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port}/rollup/902"))


def test_large_payloads_are_not_kept_by_the_decoding_caches() -> None:
    keyset, shares = th.deal(3, 2)
    domain = ReceiptDomain(900)
    small = enc.encrypt_bundle(keyset, [b"\x01" * 100], domain)
    big = enc.encrypt_bundle(keyset, [b"\x02" * (enc.CACHED_BYTES + 1000)], domain)
    assert enc.Envelope.decode(small.encode()) is enc.Envelope.decode(small.encode())
    assert enc.Envelope.decode(big.encode()) is not enc.Envelope.decode(big.encode())
    assert enc.Envelope.decode(big.encode()) == big  # still decoded, only not kept
    ctx = enc.release_context(domain, 1, b"\x01" * 32, 1, b"\x02" * 32)
    made = tuple(th.make_share(s, big.c1, ctx) for s in shares[:2])
    opening = enc.Opening(1, b"\x01" * 32, 1, b"\x02" * 32, keyset, made)
    payload = enc.reveal_payload(big.encode(), opening)
    opened = enc.open_payload(payload, 2)
    assert opened.raws == (b"\x02" * (enc.CACHED_BYTES + 1000),)
    assert enc.open_payload(payload, 2) is not opened  # opened again, not remembered


def signed(key: Any, nonce: int, gas: int) -> str:
    from eth_account import Account

    tx = {"chainId": 902, "nonce": nonce, "to": SINK, "value": 1, "gas": gas,
          "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 1}  # fmt: skip
    return "0x" + bytes(Account.sign_transaction(tx, key.key).raw_transaction).hex()


def test_a_seal_inside_a_request_never_asks_early() -> None:
    """Red team 4, F1: one JSON-RPC batch [commit with maxSlot N+1, a transfer, a
    transfer too big for what is left of slot N]. The last one seals N and goes into N+1
    in the same call, so N+1 does not start with the reveal: an early ask bound to M = N
    would leave the commit neither revealable nor voidable and every later commit
    stuck behind it. No seal inside a request asks early: the commit is voided as
    expired (no keyper ever released it) and the next one goes through."""
    with warmed(3, 2) as (node, seq):
        url = node.endpoints.rollup_url(902) if node.endpoints else ""
        head = int(seq.call("xseq_slotNumber"), 16)
        envelope = seq.encrypt_bundle([transfer(902, KEYS[0], 1, 22)], head + 2)
        batch = [
            {"jsonrpc": "2.0", "id": 1, "method": "xseq_sendEncryptedBundle",
             "params": [{"ciphertext": "0x" + envelope.hex(), "maxSlot": hex(head + 2)}]},
            {"jsonrpc": "2.0", "id": 2, "method": "eth_sendRawTransaction",
             "params": [signed(KEYS[2], 0, 21_000)]},
            {"jsonrpc": "2.0", "id": 3, "method": "eth_sendRawTransaction",
             "params": [signed(KEYS[3], 0, 30_000_000)]},
        ]  # fmt: skip
        answers = {a["id"]: a for a in httpx.post(url, json=batch, timeout=15).json()}
        second = answers[1]["result"]
        assert int(second["slot"], 16) == head + 1 and "result" in answers[3]
        assert seq.wait_revealed(second["bundleHash"])["status"] == "aborted"  # expired
        third = seq.send_encrypted_bundle([transfer(902, KEYS[1], 0, 33)])
        assert seq.wait_revealed(third["bundleHash"])["status"] == "included"
        assert node.node.decryptor is not None
        assert node.node.decryptor.status()["unsettled"] == 0
        assert node.node.keypers is not None
        wanted = commit_id(node.node.sequencer.book.items[bytes.fromhex(second["bundleHash"][2:])])
        assert not [r for u in node.node.keypers.urls for r in releases(u) if r["id"] == wanted]


def test_mining_several_blocks_binds_after_the_last_one() -> None:
    """Red team 4, F2: ``evm_mine {blocks: 2}`` after a commit, 2-of-2 keypers: an early
    ask from the first of the two seals would bind both keypers to M = N while N+1 is
    sealed empty, and the commit could never be revealed. Only the driver's own seals
    (instant flush, interval tick) ask early: the commit is revealed after the last
    mined block, and so is the next one."""
    with warmed(2, 2) as (node, seq):
        dev = rollup(node, 902)
        rpc(dev, "evm_setAutomine", False)
        sent = seq.send_encrypted_bundle([transfer(902, KEYS[0], 1, 22)])
        assert "error" not in rpc(dev, "evm_mine", {"blocks": "0x2"})
        done = seq.wait_revealed(sent["bundleHash"])
        assert done["status"] == "included"
        assert int(done["executedSlot"], 16) == int(sent["slot"], 16) + 2
        rpc(dev, "evm_setAutomine", True)
        third = seq.send_encrypted_bundle([transfer(902, KEYS[0], 2, 33)])
        assert seq.wait_revealed(third["bundleHash"])["status"] == "included"
        assert rollup(node, 902).eth.get_balance(SINK) == 66


def test_a_queued_transaction_a_reveal_unblocks_runs_after_every_reveal() -> None:
    """Red team 5: A's plain transaction waits behind a nonce gap; A's and B's commits
    share slot N (B with maxSlot N+1). Revealing A unblocks A's queued transaction; run
    right after A's reveal, it pushed B's reveal off the top of N+1, and B could then be
    neither revealed nor voided, with every later commit behind it. Now the unblocked
    transaction runs after all of the slot's reveals."""
    with warmed(3, 2) as (node, seq):
        w3 = rollup(node, 902)
        queued = w3.eth.send_raw_transaction(transfer(902, KEYS[1], 1, 5))  # nonce gap
        head = int(seq.call("xseq_slotNumber"), 16)
        env_a = seq.encrypt_bundle([transfer(902, KEYS[1], 0, 22)])
        env_b = seq.encrypt_bundle([transfer(902, KEYS[2], 0, 33)], head + 2)
        batch = [
            {"jsonrpc": "2.0", "id": 1, "method": "xseq_sendEncryptedBundle",
             "params": [{"ciphertext": "0x" + env_a.hex()}]},
            {"jsonrpc": "2.0", "id": 2, "method": "xseq_sendEncryptedBundle",
             "params": [{"ciphertext": "0x" + env_b.hex(), "maxSlot": hex(head + 2)}]},
        ]  # fmt: skip
        answers = {a["id"]: a["result"] for a in httpx.post(seq.url, json=batch).json()}
        assert answers[1]["slot"] == answers[2]["slot"] == hex(head + 1)
        a = seq.wait_revealed(answers[1]["bundleHash"])
        b = seq.wait_revealed(answers[2]["bundleHash"])
        assert a["status"] == b["status"] == "included"
        assert (a["executedSlot"], a["executedIndex"]) == (hex(head + 2), "0x0")
        assert (b["executedSlot"], b["executedIndex"]) == (hex(head + 2), "0x1")
        receipt = w3.eth.wait_for_transaction_receipt(queued, 10)
        assert receipt.blockNumber == head + 2 and receipt.transactionIndex == 2
        later = seq.send_encrypted_bundle([transfer(902, KEYS[3], 0, 44)])
        assert seq.wait_revealed(later["bundleHash"])["status"] == "included"

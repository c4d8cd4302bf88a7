"""What the latency work added, over real processes: ``xseq_waitBundle`` answers an
encrypted bundle once its reveal is executed (before the reveal's slot is sealed), waits
without polling, times out with the status it has, refuses bad input; the keyper's
HTTP/1.1 transport keeps a connection alive, refuses what it does not speak and stays up;
the sequencer's keyper connections (sequencer/keyperwatch.py) reconnect after a keyper
restart, and a request does not queue behind another one still in flight to that keyper."""

from __future__ import annotations

import asyncio
import http.client
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from eth_hash.auto import keccak
from eth_keys import keys

from tests.encryption.support import client, nonce, rollup, rpc, transfer
from xseqd.accounts import dev_accounts
from xseqd.client import SequencerError
from xseqd.core import encrypted as enc
from xseqd.core.asks import ask_digest
from xseqd.core.order import ReceiptDomain, order_root
from xseqd.keyper import KeyperSet, deal_files
from xseqd.node import NodeThread
from xseqd.sequencer.keyperwatch import KeyperWatch

KEYS = dev_accounts(10)
SEQUENCER_KEY = keccak(b"a test sequencer")
SEQUENCER = keys.PrivateKey(SEQUENCER_KEY).public_key.to_checksum_address()


def test_wait_bundle_answers_once_the_reveal_ran_before_its_slot_is_sealed(
    sealed_devnet: NodeThread,
) -> None:
    seq, a = client(sealed_devnet), rollup(sealed_devnet, 901)
    key = KEYS[3]
    legs = [transfer(901, key, nonce(sealed_devnet, 901, key), 3),
            transfer(902, key, nonce(sealed_devnet, 902, key), 4)]  # fmt: skip
    assert "error" not in rpc(a, "evm_setAutomine", False)
    try:
        sent = seq.send_encrypted_bundle(legs)
        slot = int(sent["slot"], 16)
        started = time.monotonic()
        timed_out = seq.wait_bundle(sent["bundleHash"], 0.4)  # nothing sealed: it waits
        assert time.monotonic() - started >= 0.4
        assert timed_out["status"] == "sealed" and timed_out["legs"] == []
        answers: list[Any] = []
        waiter = threading.Thread(
            target=lambda: answers.append(seq.wait_bundle(sent["bundleHash"], 20))
        )
        waiter.start()
        time.sleep(0.3)
        assert not answers  # still waiting: the commit's slot is not sealed
        assert "error" not in rpc(a, "evm_mine")  # seals the commit's slot
        waiter.join(20)
        assert answers and answers[0]["status"] == "included"
        assert answers[0]["slot"] == sent["slot"]  # placed at its commit
        assert int(answers[0]["executedSlot"], 16) == slot + 1
        assert len(answers[0]["legs"]) == 2
        # manual mode: the reveal's slot is open still, the answer did not wait for it
        assert int(seq.call("xseq_slotNumber"), 16) == slot
        again = seq.wait_bundle(sent["bundleHash"], 20)  # known outcome: at once
        assert again["status"] == "included"
    finally:
        rpc(a, "evm_setAutomine", True)


def test_wait_bundle_unknown_plain_and_bad_input(sealed_devnet: NodeThread) -> None:
    seq = client(sealed_devnet)
    key = KEYS[4]
    assert seq.wait_bundle("0x" + "ab" * 32, 5) is None  # unknown: null at once
    done = seq.call("xseq_sendBundle", {"txs": ["0x" + transfer(901, key,
                    nonce(sealed_devnet, 901, key)).hex()]})  # fmt: skip
    started = time.monotonic()
    assert seq.wait_bundle(done["bundleHash"], 20)["status"] == "included"
    assert time.monotonic() - started < 5
    head = seq.call("xseq_slotNumber")
    for bad in (-1, 61, "1", True):
        with pytest.raises(SequencerError) as err:
            seq.call("xseq_waitBundle", done["bundleHash"], bad)
        assert err.value.code == -32602
    with pytest.raises(SequencerError) as err:
        seq.call("xseq_waitBundle", "0x1234")
    assert err.value.code == -32602
    assert seq.call("xseq_slotNumber") == head  # refused input ordered nothing


def _keyper(tmp_path: Path) -> tuple[KeyperSet, str, int]:
    keypers = KeyperSet(tmp_path, deal_files(tmp_path, 1, 1), SEQUENCER)
    keypers.start(1)
    return keypers, keypers.urls[0], keypers.ports[1]


STATUS = b'{"jsonrpc": "2.0", "id": 7, "method": "keyper_status", "params": []}'


def test_keyper_keeps_a_connection_alive_and_refuses_what_it_does_not_speak(
    tmp_path: Path,
) -> None:
    keypers, _, port = _keyper(tmp_path)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        answers, socks = [], []
        for _ in range(3):
            conn.request("POST", "/", STATUS, {"content-type": "application/json"})
            reply = conn.getresponse()
            answers.append((reply.status, reply.read()))
            socks.append(conn.sock)
        assert all(status == 200 and b'"up": true' in body for status, body in answers)
        assert socks[0] is not None and socks[0] is socks[1] is socks[2]  # one connection
        conn.request("GET", "/")
        reply = conn.getresponse()
        assert reply.status == 400 and reply.getheader("connection") == "close"
        reply.read()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            raw.sendall(
                b"POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
            )
            assert raw.recv(4096).startswith(b"HTTP/1.1 400")
            assert raw.recv(4096) == b""  # and it closed that connection
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            raw.sendall(b"POST / HTTP/1.1\r\ncontent-length: 9\r\n\r\nnot json!")
            head, _, body = raw.recv(4096).partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200") and b"-32600" in body  # JSON-RPC error
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)  # still serving
        conn.request("POST", "/", STATUS, {"connection": "close"})
        reply = conn.getresponse()
        assert reply.status == 200 and reply.getheader("connection") == "close"
    finally:
        keypers.stop_all()


def test_sequencer_keyper_connection_reconnects_after_a_keyper_restart(tmp_path: Path) -> None:
    keypers, url, _ = _keyper(tmp_path)
    body = {"jsonrpc": "2.0", "id": 1, "method": "keyper_status", "params": []}

    async def scenario() -> list[Any]:
        watch = KeyperWatch()
        out: list[Any] = []
        try:
            out.append(await watch.post(url, body, 5))
            out.append(await watch.post(url, body, 5))  # the same kept-alive connection
            keypers.stop(1)
            await asyncio.sleep(0.2)
            try:
                await watch.post(url, body, 5)
                out.append("answered while stopped")
            except OSError:
                out.append("refused while stopped")
            await asyncio.to_thread(keypers.start, 1)  # the same port
            out.append(await watch.post(url, body, 5))
        finally:
            await watch.stop()
        return out

    try:
        first, second, stopped, restarted = asyncio.run(scenario())
    finally:
        keypers.stop_all()
    assert first["result"] == {"index": 1, "up": True} == second["result"]
    assert stopped == "refused while stopped"
    assert restarted["result"] == {"index": 1, "up": True}


def test_a_keyper_request_does_not_wait_behind_one_in_flight(tmp_path: Path) -> None:
    keyset = deal_files(tmp_path, 1, 1)
    keypers = KeyperSet(tmp_path, keyset, SEQUENCER)
    keypers.extra_args[1] = ["--release-delay", "3"]  # answers releases 3 s late
    keypers.start(1)
    url = keypers.urls[0]
    domain = ReceiptDomain(0)
    envelope = enc.encrypt_bundle(keyset, [transfer(901, KEYS[0], 0)], domain).encode()
    entries = [enc.commit_entry_hash(envelope)]
    root = order_root(1, entries)
    signature = "0x" + enc.sign_seal(SEQUENCER_KEY, domain, 1, root).hex()
    seal = {"slot": 1, "orderRoot": "0x" + root.hex(), "signature": signature}
    context = enc.release_context(domain, 1, root, 1, enc.span_root([]))  # M = N: no roots
    after = {"slot": 1, "roots": [],
             "signature": "0x" + enc.sign_digest(SEQUENCER_KEY, context).hex()}  # fmt: skip
    asked = {"domain": domain.to_json(), **seal, "entries": ["0x" + e.hex() for e in entries],
             "items": [{"index": 0, "envelope": "0x" + envelope.hex()}],
             "after": after}  # fmt: skip
    auth = enc.sign_digest(SEQUENCER_KEY, ask_digest(asked, 1, "keyper_release"))
    release = {"jsonrpc": "2.0", "id": 1, "method": "keyper_release",
               "params": [{**asked, "auth": "0x" + auth.hex()}]}  # fmt: skip
    status = {"jsonrpc": "2.0", "id": 2, "method": "keyper_status", "params": []}

    async def scenario() -> tuple[Any, Any]:
        watch = KeyperWatch()
        try:
            await watch.post(url, status, 5)  # a kept-alive connection exists
            slow = asyncio.ensure_future(watch.post(url, release, 10))
            await asyncio.sleep(0.2)  # the release is in flight (answered 3 s late)
            assert not slow.done()
            quick = await watch.post(url, status, 2.5)  # on a connection of its own
            return quick, await slow
        finally:
            await watch.stop()

    try:
        quick, slow = asyncio.run(scenario())
    finally:
        keypers.stop_all()
    assert quick["result"] == {"index": 1, "up": True}
    assert len(slow["result"]) == 1 and slow["result"][0]["index"] == 1

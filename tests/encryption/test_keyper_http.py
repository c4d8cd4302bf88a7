"""Red team 2, finding 5: a stranger on a keyper's port cannot use up its connections.
Against real keyper processes (``xseqd keyper --idle-timeout 1``, and ``--idle-timeout 60
--max-connections 8`` for the cap): an idle connection, new or kept alive after a request,
is closed after the idle timeout; past the connection cap a new connection evicts the
connection idle for longest (so a stranger holding every connection cannot lock the
sequencer out: red team 3, finding 2), and once the held ones close the keyper answers again."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path

import pytest

from xseqd.keyper import KeyperSet, deal_files
from xseqd.sequencer import keyperwatch

SEQUENCER = "0x000000000000000000000000000000000000bEEF"
STATUS = b'{"jsonrpc":"2.0","id":1,"method":"keyper_status","params":[]}'
REQUEST = (
    b"POST / HTTP/1.1\r\nhost: k\r\ncontent-type: application/json\r\n"
    b"content-length: %d\r\n\r\n" % len(STATUS) + STATUS
)


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.settimeout(5)
    return sock


def answer(sock: socket.socket) -> bytes:
    """The keyper's whole answer to one status request on ``sock`` (b"" if closed)."""
    sock.sendall(REQUEST)
    data = b""
    while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the keyper closed ``sock`` (it sends nothing unasked), or None."""
    started = time.monotonic()
    sock.settimeout(seconds)
    try:
        got = sock.recv(1)
    except (TimeoutError, OSError):
        return None
    return time.monotonic() - started if got == b"" else None


def test_idle_connections_are_closed_and_past_the_cap_the_stalest_idle_one_is_evicted(
    tmp_path: Path,
) -> None:
    """Keyper 1 (idle timeout 1 s) shows the idle timeout; keyper 2 (8 connections, idle
    timeout 60 s, so within this test a connection it closes was evicted, never idled out)
    shows the eviction."""
    keyset = deal_files(tmp_path, 2, 2)
    keypers = KeyperSet(tmp_path, keyset, SEQUENCER)
    keypers.extra_args[1] = ["--idle-timeout", "1"]
    keypers.extra_args[2] = ["--idle-timeout", "60", "--max-connections", "8"]
    keypers.start_all()
    held: list[socket.socket] = []
    try:
        port = keypers.ports[1]
        fresh = connect(port)
        kept = connect(port)
        reply = answer(kept)
        assert reply.startswith(b"HTTP/1.1 200") and b'"up": true' in reply
        for sock in (fresh, kept):  # never asked / kept alive after one answer: both idle
            took = closed_within(sock, 5)
            assert took is not None and took < 4.5
            sock.close()

        port = keypers.ports[2]
        held = [connect(port) for _ in range(8)]
        # The keyper takes connections in the order they were made (one listening socket,
        # the kernel's queue), and a connection is idle from when the keyper takes it. An
        # answer on the last one therefore means it has taken all eight; only then are
        # held[0:2], the oldest connections, asked, so they are idle for less time than
        # held[2:7]. (Asked straight away, on a loaded machine held[0]'s answer could come
        # before the keyper had taken held[2:8] from the queue: then held[0] was the stalest.)
        assert answer(held[7]).startswith(b"HTTP/1.1 200")
        for sock in held[:2]:
            assert answer(sock).startswith(b"HTTP/1.1 200")  # within the cap: answered
        extra = connect(port)  # ninth: served, and the connection idle for longest closed
        assert answer(extra).startswith(b"HTTP/1.1 200")
        assert closed_within(held[2], 5) is not None  # closed when the keyper took extra
        for sock in held[:2] + held[3:]:  # the others, answered since or newer, stay open
            assert answer(sock).startswith(b"HTTP/1.1 200")
        extra.close()
        for sock in held:
            sock.close()
        held = []
        time.sleep(0.2)
        again = connect(port)
        reply = answer(again)
        assert reply.startswith(b"HTTP/1.1 200")
        assert json.loads(reply.split(b"\r\n\r\n", 1)[1])["result"]["up"] is True
        again.close()
    finally:
        for sock in held:
            sock.close()
        keypers.stop_all()


def test_the_sequencers_watch_connection_pings_and_is_never_idled_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The watch connection (how the sequencer knows a keyper is up without asking)
    sends a keyper_status ping every PING seconds, within the keyper's idle timeout."""
    monkeypatch.setattr(keyperwatch, "PING", 0.3)
    keyset = deal_files(tmp_path, 2, 2)
    keypers = KeyperSet(tmp_path, keyset, SEQUENCER)
    keypers.extra_args[1] = ["--idle-timeout", "1"]
    keypers.start(1)

    async def scenario() -> list[bool]:
        watch = keyperwatch.KeyperWatch()
        watch.follow(keypers.urls)
        seen = []
        try:
            await asyncio.sleep(0.3)
            for _ in range(30):  # 3 s: three idle timeouts
                seen.append(watch.connected(keypers.urls[0]))
                await asyncio.sleep(0.1)
        finally:
            await watch.stop()
        return seen

    try:
        seen = asyncio.run(scenario())
    finally:
        keypers.stop_all()
    assert all(seen), seen

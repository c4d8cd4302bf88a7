"""The keyper's HTTP/1.1 server (xseqd/keyper.py answers the JSON-RPC): as much HTTP as
a JSON-RPC peer needs, and bounded so that a stranger on the keyper's port cannot use it
up — a request head is at most ``MAX_HEAD`` bytes and a body ``MAX_BODY``; a connection
that sends no whole request head for ``IDLE_TIMEOUT`` seconds (kept alive but idle, or a
slow sender) or no whole body for ``BODY_TIMEOUT`` is closed; at most
``MAX_CONNECTIONS`` are open at once, so the keyper's file descriptors are never
exhausted: a connection past that evicts the one idle (waiting for a request head) for
longest, or is closed at once if none is idle. A stranger holding every connection
therefore cannot lock the sequencer out: its next connection takes the stalest idle one.
The sequencer's idle watch connection pings within the idle timeout
(sequencer/keyperwatch.py).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

Answer = Callable[[bytes], Awaitable[dict[str, Any]]]

MAX_HEAD = 64 * 1024  # request line + headers
MAX_BODY = 16 * 1024 * 1024
IDLE_TIMEOUT = 60.0  # seconds a connection may wait for its next request head
BODY_TIMEOUT = 30.0  # seconds a request's body may take to arrive, once its head came
MAX_CONNECTIONS = 256  # open at once; the sequencer holds a few (keyperwatch.py)


class Idle:
    """When a connection started waiting for its next request head (None: a request is
    being read or answered)."""

    def __init__(self) -> None:
        self.since: float | None = time.monotonic()


async def http_connection(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    answer: Answer,
    idle_timeout: float = IDLE_TIMEOUT,
    idle: Idle | None = None,
) -> None:
    """HTTP/1.1 for one connection, as much as a JSON-RPC peer needs: POST with a
    content-length body, answered with one ``write`` (head and body together, and asyncio
    sets TCP_NODELAY: no Nagle / delayed-ACK stall), kept alive until the peer closes or
    asks ``connection: close``, or sends no whole request head for ``idle_timeout``
    seconds (or no whole body for ``BODY_TIMEOUT``). Anything else gets an HTTP error and
    the connection ends."""
    try:
        idle = idle or Idle()
        while True:
            idle.since = time.monotonic()
            try:
                async with asyncio.timeout(idle_timeout):
                    head = await reader.readuntil(b"\r\n\r\n")
                idle.since = None
            except (
                asyncio.IncompleteReadError,
                asyncio.LimitOverrunError,
                ConnectionError,
                TimeoutError,
            ):
                return
            lines = head.decode("latin-1").split("\r\n")
            verb, _, rest = lines[0].partition(" ")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip().lower()
            close = headers.get("connection") == "close" or rest.endswith("HTTP/1.0")
            try:
                length = int(headers.get("content-length", "0"))
            except ValueError:
                length = -1
            if verb != "POST" or "transfer-encoding" in headers or not 0 <= length <= MAX_BODY:
                status, out, close = "400 Bad Request", {"error": "POST a JSON body"}, True
            else:
                try:
                    async with asyncio.timeout(BODY_TIMEOUT):
                        body = await reader.readexactly(length)
                except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
                    return
                status, out = "200 OK", await answer(body)
            data = json.dumps(out).encode()
            writer.write(
                f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n"
                f"content-length: {len(data)}\r\n"
                f"connection: {'close' if close else 'keep-alive'}\r\n\r\n".encode()
                + data
            )
            await writer.drain()
            if close:
                return
    except ConnectionError:
        return
    finally:
        writer.close()


async def start(
    answer: Answer,
    host: str,
    port: int,
    idle_timeout: float = IDLE_TIMEOUT,
    max_connections: int = MAX_CONNECTIONS,
) -> asyncio.Server:
    """Listen on host:port, each request body answered by ``answer``."""
    conns: dict[asyncio.StreamWriter, Idle] = {}

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(conns) >= max_connections:
            idle = [(i.since, w) for w, i in conns.items() if i.since is not None]
            if not idle:
                writer.close()
                return
            _, stalest = min(idle, key=lambda pair: pair[0])
            conns.pop(stalest).since = None
            stalest.close()  # its reader sees the end, its handler returns
        conns[writer] = state = Idle()
        try:
            await http_connection(reader, writer, answer, idle_timeout, state)
        finally:
            if conns.get(writer) is state:
                del conns[writer]

    return await asyncio.start_server(connection, host, port, limit=MAX_HEAD)

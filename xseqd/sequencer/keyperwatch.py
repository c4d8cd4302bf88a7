"""The sequencer's connections to the keypers: which keyper processes are alive, known
without asking, and the requests to them.

Alive: one idle TCP connection to each keyper's HTTP port, held open (a ``keyper_status``
ping every ``PING`` seconds keeps the keyper from closing it as idle). A keyper that
exits (or is killed) closes it, and the event loop sees the end of the stream at once; the
connection is then retried every ``RECONNECT`` seconds. The decryption loop
(sequencer/decryption.py) skips its ``keyper_status`` round trip while at least t keypers
are connected and its last round got t shares; it asks ``keyper_status`` again otherwise.
A keyper that is alive but hung still counts as connected: its release times out and the
round falls back to the others.

Requests (``post``): JSON-RPC over kept-alive HTTP/1.1 connections, written as one
``write`` (head and body) on asyncio's TCP_NODELAY socket, the answer read by content-
length (at most ``MAX_ANSWER`` bytes, after a ``200`` status line: a larger answer is a
failed keyper, never buffered) — no HTTP client library in the way (httpx cost ~1–2 ms
of the event loop per request). A request takes an idle connection to its keyper or
opens one (so requests for several commit slots go out side by side) and gives it back
after the answer (at most ``IDLE`` kept per keyper); one that fails, times out or is
cancelled (the round had enough shares) closes its connection instead. ``send`` writes
a request before it returns, on an idle connection only (the early ask,
sequencer/collect.py), and hands back a task for the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any
from urllib.parse import urlsplit

RECONNECT = 0.2
IDLE = 4  # idle request connections kept per keyper
# the largest keyper answer read (a keyper answers shares or refusals: ~300 bytes per
# commit); a larger one, or a head past HEAD bytes, is a failed keyper, not buffered
MAX_ANSWER = 8 * 1024 * 1024
MAX_HEAD = 16 * 1024
PING = 20.0  # seconds between keyper_status pings on the watch connection (keypers close
# a connection idle for 60 s: xseqd/keyperhttp.py IDLE_TIMEOUT)


def rpc_result(reply: Any) -> tuple[Any, str | None]:
    """A keyper's JSON-RPC answer taken apart: (its ``result`` or None, its error message
    or None). Anything but a JSON object — a list, a string — or an ``error`` that is not
    an object counts as no answer, never as an exception."""
    if not isinstance(reply, dict):
        return None, "not a JSON-RPC object"
    error = reply.get("error")
    if error is not None:
        message = error.get("message") if isinstance(error, dict) else None
        return None, str(message if message is not None else error)[:200]
    return reply.get("result"), None


class KeyperWatch:
    """Holds one idle connection per keyper URL; ``connected`` says which are open."""

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._open: set[str] = set()
        self._idle: dict[str, list[_Link]] = {}

    def follow(self, urls: list[str]) -> None:
        """Watch ``urls`` (and stop watching any other)."""
        for url in set(self._tasks) - set(urls):
            self._tasks.pop(url).cancel()
            self._open.discard(url)
        for url in urls:
            if url not in self._tasks:
                self._tasks[url] = asyncio.get_running_loop().create_task(self._watch(url))

    def connected(self, url: str) -> bool:
        return url in self._open

    async def post(self, url: str, body: dict[str, Any], timeout: float) -> Any:
        """``body`` POSTed to ``url``, its JSON answer (raises OSError or TimeoutError)."""
        idle = self._idle.setdefault(url, [])
        link = idle.pop() if idle else _Link(url)
        answer = await link.post(body, timeout)
        self._give_back(url, link)
        return answer

    def has_idle(self, url: str) -> bool:
        """Whether a kept-alive request connection to ``url`` is at hand (``send``)."""
        return any(link.ready() for link in self._idle.get(url, []))

    def send(self, url: str, body: dict[str, Any], timeout: float) -> asyncio.Task[Any] | None:
        """``post``, with the request written now (before this returns) on an idle, open
        connection to ``url``; None if none is at hand. The task gives the answer."""
        idle = self._idle.get(url)
        while idle:
            link = idle.pop()
            if link.ready():
                link.write(body)
                return asyncio.ensure_future(self._answer(url, link, timeout))
            link.drop()
        return None

    async def _answer(self, url: str, link: _Link, timeout: float) -> Any:
        answer = await link.answer(timeout)
        self._give_back(url, link)
        return answer

    def _give_back(self, url: str, link: _Link) -> None:
        idle = self._idle.setdefault(url, [])
        if len(idle) < IDLE and link.writer is not None:
            idle.append(link)
        else:
            link.drop()

    async def stop(self) -> None:
        for links in self._idle.values():
            for link in links:
                link.drop()
        self._idle.clear()
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        self._tasks.clear()
        self._open.clear()

    async def _watch(self, url: str) -> None:
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        while True:
            writer = None
            try:
                reader, writer = await asyncio.open_connection(host, port)
                self._open.add(url)
                while True:  # a keyper never writes unasked: EOF = gone
                    try:
                        async with asyncio.timeout(PING):
                            if not await reader.read(4096):
                                break
                    except TimeoutError:  # ping (answer read and dropped): not idle
                        writer.write(_ping(host, port))
            except OSError:
                pass
            finally:
                self._open.discard(url)
                if writer is not None:
                    writer.close()
                    with contextlib.suppress(Exception):
                        await writer.wait_closed()
            await asyncio.sleep(RECONNECT)


class _Link:
    """One kept-alive HTTP/1.1 connection to one keyper, used by one request at a time."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.path = parts.path or "/"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    def drop(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    def ready(self) -> bool:
        """Connected, and not closed by the keyper (a restart) as far as we know."""
        return self.reader is not None and self.writer is not None and not self.reader.at_eof()

    def write(self, body: dict[str, Any]) -> None:
        """The request, head and body in one write (on the wire now, if the socket takes it)."""
        assert self.writer is not None
        data = json.dumps(body).encode()
        head = (
            f"POST {self.path} HTTP/1.1\r\nhost: {self.host}:{self.port}\r\n"
            f"content-type: application/json\r\ncontent-length: {len(data)}\r\n\r\n"
        ).encode()
        self.writer.write(head + data)

    async def post(self, body: dict[str, Any], timeout: float) -> Any:
        async with asyncio.timeout(timeout):
            try:
                if not self.ready():
                    self.drop()  # never connected, or the keyper closed it (restarted)
                    self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            except BaseException:
                self.drop()
                raise
            self.write(body)
            return await self.answer(None)

    async def answer(self, timeout: float | None) -> Any:
        """The answer to the request just written (the connection is dropped unless it
        comes whole, within ``timeout`` seconds)."""
        done = False
        try:
            async with asyncio.timeout(timeout):
                assert self.reader is not None
                status = await _head(self.reader)
                lines = status.split(b"\r\n")
                if lines[0].split(b" ")[1:2] != [b"200"]:
                    raise ValueError(f"answered {lines[0][:60]!r}")
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if not 0 <= length <= MAX_ANSWER:
                    raise ValueError(f"answer of {length} bytes (at most {MAX_ANSWER})")
                answer = json.loads(await self.reader.readexactly(length))
                done = True
                return answer
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            raise ConnectionError(f"keyper {self.host}:{self.port}: {exc}") from None
        finally:
            if not done:  # failed, timed out or cancelled mid-answer: start afresh
                self.drop()


async def _head(reader: asyncio.StreamReader) -> bytes:
    """The answer's status line and headers, at most ``MAX_HEAD`` bytes."""
    head = await reader.readuntil(b"\r\n\r\n")
    if len(head) > MAX_HEAD:
        raise ValueError(f"answer head past {MAX_HEAD} bytes")
    return head


def _ping(host: str, port: int) -> bytes:
    body = b'{"jsonrpc":"2.0","id":0,"method":"keyper_status","params":[]}'
    head = (f"POST / HTTP/1.1\r\nhost: {host}:{port}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n\r\n")  # fmt: skip
    return head.encode() + body

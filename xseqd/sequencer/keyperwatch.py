"""Which keyper processes are alive, known without asking: one idle TCP connection to
each keyper's HTTP port, held open. A keyper that exits (or is killed) closes it, and the
event loop sees the end of the stream at once; the connection is then retried every
``RECONNECT`` seconds. The decryption loop (sequencer/decryption.py) skips its
``keyper_status`` round trip while at least t keypers are connected and its last round
got t shares; it asks ``keyper_status`` again otherwise. A keyper that is alive but hung
still counts as connected: its release times out and the round falls back to the others.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit

RECONNECT = 0.2


class KeyperWatch:
    """Holds one idle connection per keyper URL; ``connected`` says which are open."""

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._open: set[str] = set()

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

    async def stop(self) -> None:
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
                while await reader.read(4096):  # a keyper never writes unasked: EOF = gone
                    pass
            except OSError:
                pass
            finally:
                self._open.discard(url)
                if writer is not None:
                    writer.close()
                    with contextlib.suppress(Exception):
                        await writer.wait_closed()
            await asyncio.sleep(RECONNECT)

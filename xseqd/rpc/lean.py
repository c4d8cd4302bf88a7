"""The lean HTTP path: a JSON-RPC ``POST /`` or ``POST /rollup/<chainId>`` is answered
straight from the ASGI events, without Starlette's middleware stack, request and response
objects; everything else (WebSocket, GET, CORS preflight, unknown paths, future routes)
goes to the Starlette app unchanged.

It answers exactly as the Starlette route does: the same body (``handle_body``), a 413
for a body over the limit, ``content-type: application/json``, the CORS headers Starlette's
``CORSMiddleware`` adds for ``allow_origins=["*"]`` (``access-control-allow-origin: *``
when the request has an ``Origin``, always ``vary: Origin``), and the slot flush after the
answer is written (instant mode seals after the submitter has its answer). ``on_request``
hears of each request before it is served, with its connection (the client address), and
returns what to call once the answer is written (sequencer/driver.py: a connection whose
submission is in the open slot gets the slot sealed before its next request is served).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Hashable, MutableMapping
from typing import Any

log = logging.getLogger("xseqd.rpc")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
# (raw path) -> a coroutine function serving a body, or None when the path is not ours
Resolve = Callable[[str], Callable[[bytes], Awaitable[bytes | None]] | None]
# (connection) -> called once the answer is written
OnRequest = Callable[[Hashable], Callable[[], None]]


def lean_app(
    app: ASGIApp,
    resolve: Resolve,
    on_request: OnRequest,
    max_body_bytes: int,
    too_large: Callable[[], bytes],
) -> ASGIApp:
    """Wrap ``app`` so that JSON-RPC POSTs that ``resolve`` recognises take the lean path."""

    async def lean(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return await app(scope, receive, send)
        serve = resolve(scope["path"])
        if serve is None:
            return await app(scope, receive, send)
        origin = False
        length = None
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = True
            elif name == b"content-length":
                length = value
        after_answer = on_request(scope.get("client"))
        body: bytes | None = None
        if length is None or not length.isdigit() or int(length) <= max_body_bytes:
            body = await _read(receive, max_body_bytes)
            if body is _DISCONNECTED:
                after_answer()
                return None
        status, out = (200, await serve(body)) if body is not None else (413, too_large())
        out = out or b""
        headers = [
            (b"content-length", str(len(out)).encode()),
            (b"content-type", b"application/json"),
        ]
        if origin:
            headers.append((b"access-control-allow-origin", b"*"))
        headers.append((b"vary", b"Origin"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": out})
        after_answer()
        return None

    return lean


_DISCONNECTED = b"\0disconnected"


async def _read(receive: Receive, max_body_bytes: int) -> bytes | None:
    """The request body; ``None`` once it exceeds the limit; ``_DISCONNECTED`` if the
    client went away."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return _DISCONNECTED
        body += message.get("body", b"")
        if len(body) > max_body_bytes:
            return None
        if not message.get("more_body", False):
            return bytes(body)

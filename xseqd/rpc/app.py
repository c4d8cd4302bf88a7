"""The HTTP and WebSocket transport: one ASGI app, every endpoint on one port.

``POST /`` serves the sequencer namespace (``xseq_*``); ``POST /rollup/<chainId>`` serves
a rollup's Ethereum JSON-RPC plus devnet and ``xseq_*`` methods; the same paths accept
WebSocket connections (requests plus ``eth_subscribe``). ``GET /explorer`` serves the slot
explorer (rpc/explorer.py), ``GET /metrics`` Prometheus metrics (rpc/metrics.py). CORS is
open, as on anvil.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from xseqd.core.logfilter import LogCriteria
from xseqd.errors import InvalidParams, XseqError
from xseqd.rpc import format as fmt
from xseqd.rpc.context import RollupCall, Services
from xseqd.rpc.debug import debug
from xseqd.rpc.dev import dev
from xseqd.rpc.encrypted import encrypted
from xseqd.rpc.envelope import (
    MAX_BODY_BYTES,
    Registry,
    body_too_large,
    dump_bytes,
    error_object,
    handle_body,
    json_depth_exceeds,
    loads,
)
from xseqd.rpc.eth import criteria_of, eth
from xseqd.rpc.explorer import explorer, explorer_routes
from xseqd.rpc.filters import Subscription, queue_sender
from xseqd.rpc.forward import WRITES, forwarding
from xseqd.rpc.lean import ASGIApp, lean_app
from xseqd.rpc.state import state_methods
from xseqd.rpc.wait import waits
from xseqd.rpc.xseq import RootCall, xseq_rollup, xseq_root

log = logging.getLogger("xseqd.rpc")

ROLLUP_METHODS: Registry[RollupCall] = eth.merged(
    dev, state_methods, debug, xseq_rollup, explorer, encrypted, waits
)
# --no-cheats: without the dev registry (anvil_*, hardhat_*, evm_*, impersonation, signing
# with the unlocked dev accounts), whose methods then answer -32601 like any unknown one
NO_CHEAT_METHODS: Registry[RollupCall] = eth.merged(
    state_methods, debug, xseq_rollup, explorer, encrypted, waits
)
ROOT_METHODS: Registry[Any] = xseq_root.merged(explorer, encrypted, waits)

JSON_HEADERS = {"content-type": "application/json"}
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


def build_app(
    services: Services, max_body_bytes: int = MAX_BODY_BYTES, cheats: bool = True
) -> ASGIApp:
    """The ASGI application serving every endpoint of the node (JSON-RPC POSTs through the
    lean path of rpc/lean.py, the rest through Starlette).

    ``max_body_bytes`` bounds an HTTP body and a WebSocket message (the setting of that name);
    ``cheats=False`` (``--no-cheats``) leaves the dev methods out of every rollup endpoint.
    """
    rollup_methods = ROLLUP_METHODS if cheats else NO_CHEAT_METHODS
    root_methods = ROOT_METHODS
    if services.replica is not None:  # a follower forwards writes to the leader
        rollup_writes = WRITES | set(dev.methods)
        rollup_methods = forwarding(
            rollup_methods,
            rollup_writes,
            services.replica,
            lambda c: f"/rollup/{c.rollup.chain_id}",
        )
        root_methods = forwarding(root_methods, WRITES, services.replica, lambda c: "/")
    metrics = services.metrics
    if metrics is not None:  # rpc/metrics.py: every method counted and timed
        rollup_methods, root_methods = (
            metrics.instrument(rollup_methods),
            metrics.instrument(root_methods),
        )

    # instant mode: the slot is sealed after the answer is on the wire. (An async
    # function, so Starlette runs it on the event loop, never in a worker thread.)
    async def flush() -> None:
        services.driver.flush()

    after_answer = BackgroundTask(flush)

    def rollup_ctx(raw_id: str) -> RollupCall | None:
        try:
            rollup = services.sequencer.rollups.get(int(raw_id, 0))
        except ValueError:
            return None
        return None if rollup is None else RollupCall(services, rollup)

    async def read_body(request: Request) -> bytes | None:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > max_body_bytes:
            return None
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_body_bytes:
                return None
        return bytes(body)

    def too_large() -> Response:
        err = error_object(body_too_large(max_body_bytes))
        return JSONResponse({"jsonrpc": "2.0", "id": None, "error": err}, status_code=413)

    async def rollup_http(request: Request) -> Response:
        ctx = rollup_ctx(request.path_params["chain_id"])
        if ctx is None:
            return JSONResponse({"error": "unknown rollup"}, status_code=404)
        body = await read_body(request)
        if body is None:
            return too_large()
        out = await handle_body(rollup_methods, ctx, body, max_body_bytes)
        return Response(out or b"", headers=JSON_HEADERS, background=after_answer)

    async def root_http(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse({"name": "xseqd", "rollups": sorted(services.sequencer.rollups)})
        body = await read_body(request)
        if body is None:
            return too_large()
        out = await handle_body(root_methods, RootCall(services), body, max_body_bytes)
        return Response(out or b"", headers=JSON_HEADERS, background=after_answer)

    async def rollup_ws(ws: WebSocket) -> None:
        ctx = rollup_ctx(ws.path_params["chain_id"])
        if ctx is None:
            await ws.close(code=4404)
            return
        await serve_socket(ws, rollup_methods, ctx, max_body_bytes)

    async def root_ws(ws: WebSocket) -> None:
        await serve_socket(ws, root_methods, RootCall(services), max_body_bytes)

    routes = [
        Route("/", root_http, methods=["GET", "POST"]),
        Route("/rollup/{chain_id}", rollup_http, methods=["POST"]),
        WebSocketRoute("/rollup/{chain_id}", rollup_ws),
        WebSocketRoute("/", root_ws),
        *explorer_routes(),
    ]
    if metrics is not None:

        async def metrics_http(request: Request) -> Response:
            return Response(metrics.exposition(), media_type=PROMETHEUS_TEXT)

        routes.append(Route("/metrics", metrics_http, methods=["GET"]))
    middleware = [
        Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"])
    ]
    app = Starlette(routes=routes, middleware=middleware)

    def resolve(path: str) -> Callable[[bytes], Awaitable[bytes | None]] | None:
        if path == "/":
            root = RootCall(services)
            return lambda body: handle_body(root_methods, root, body, max_body_bytes)
        if not path.startswith("/rollup/") or "/" in path[8:]:
            return None
        ctx = rollup_ctx(path[8:])
        if ctx is None:
            return None
        return lambda body: handle_body(rollup_methods, ctx, body, max_body_bytes)

    def too_large_body() -> bytes:
        err = error_object(body_too_large(max_body_bytes))
        return dump_bytes({"jsonrpc": "2.0", "id": None, "error": err})

    def on_request(connection: Hashable) -> Callable[[], None]:
        mark = services.driver.request_started(connection)
        return lambda: services.driver.request_done(connection, mark)

    return lean_app(app, resolve, on_request, max_body_bytes, too_large_body)


async def serve_socket(
    ws: WebSocket, registry: Registry[Any], ctx: Any, max_body_bytes: int = MAX_BODY_BYTES
) -> None:
    """Serve one WebSocket: JSON-RPC requests in, responses and notifications out."""
    await ws.accept()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    send = queue_sender(queue)

    async def pump() -> None:
        while True:
            sid, result = await queue.get()
            message = {
                "jsonrpc": "2.0",
                "method": "eth_subscription",
                "params": {"subscription": sid, "result": result},
            }
            await ws.send_text(json.dumps(message))

    pump_task = asyncio.get_running_loop().create_task(pump())
    hub = ctx.filters if isinstance(ctx, RollupCall) else None
    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                break
            text = message.get("text")
            if text is None:
                text = (message.get("bytes") or b"").decode("utf-8", errors="replace")
            mark = ctx.services.driver.request_started(id(ws))
            reply = await _ws_request(text, registry, ctx, send, max_body_bytes)
            if reply is not None:
                await ws.send_text(reply.decode() if isinstance(reply, bytes) else reply)
            ctx.services.driver.request_done(id(ws), mark)
    except WebSocketDisconnect:
        pass
    finally:
        pump_task.cancel()
        if hub is not None:
            hub.drop_connection(send)


async def _ws_request(
    text: str, registry: Registry[Any], ctx: Any, send: Any, max_body_bytes: int
) -> bytes | str | None:
    body = text.encode()
    if len(body) > max_body_bytes or json_depth_exceeds(body):
        return await handle_body(registry, ctx, body, max_body_bytes)  # the error, without parsing
    try:
        request = loads(body)
    except ValueError:
        request = None
    if isinstance(request, dict) and request.get("method") in ("eth_subscribe", "eth_unsubscribe"):
        req_id = request.get("id")
        try:
            if not isinstance(ctx, RollupCall):
                raise InvalidParams("subscriptions are served on rollup endpoints")
            result = _subscription(ctx, request["method"], request.get("params") or [], send)
            return json.dumps({"jsonrpc": "2.0", "id": req_id, "result": result})
        except XseqError as exc:
            return json.dumps({"jsonrpc": "2.0", "id": req_id, "error": error_object(exc)})
    return await handle_body(registry, ctx, body, max_body_bytes)


def _subscription(ctx: RollupCall, method: str, params: list[Any], send: Any) -> Any:
    if not isinstance(params, list) or not params:
        raise InvalidParams("missing subscription parameters")
    hub = ctx.filters
    if method == "eth_unsubscribe":
        return hub.unsubscribe(str(params[0]))
    kind = params[0]
    if kind == "newHeads":
        return hub.subscribe(Subscription("newHeads", send))
    if kind == "logs":
        criteria = criteria_of(params[1]) if len(params) > 1 and params[1] else LogCriteria()
        return hub.subscribe(Subscription("logs", send, criteria))
    if kind == "newPendingTransactions":
        full = bool(params[1]) if len(params) > 1 else False
        return hub.subscribe(Subscription("newPendingTransactions", send, full_txs=full))
    if kind == "syncing":
        return hub.subscribe(Subscription("syncing", send))
    raise InvalidParams(f"unsupported subscription type {kind!r}")


__all__ = ["build_app", "fmt"]

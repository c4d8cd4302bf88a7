"""The JSON-RPC 2.0 envelope: parsing, batches, notifications, dispatch and errors.

This is the only place that knows the envelope. Handlers are registered once by name in a
``Registry``; ``handle_body`` turns raw bytes into the raw response bytes (or ``None`` for
a batch of notifications). A handler may return ``OffLoop(fn)``: ``fn`` then runs on a
worker thread while the event loop keeps serving (read-only executions on a state of their
own, rpc/eth.py), and ``OffLoop.then`` back on the loop; everything else runs on the loop,
in order. A handler may also return an awaitable (``xseq_waitBundle``, rpc/wait.py): it is
awaited on the loop. Errors raised as
``XseqError`` keep their code; anything else becomes -32603, is logged with its
traceback, and never escapes.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson

from xseqd import cpus
from xseqd.errors import InvalidRequest, MethodNotFound, ParseError, XseqError
from xseqd.sequencer.gate import is_write

log = logging.getLogger("xseqd.rpc")

C = TypeVar("C")
Handler = Callable[[C, list[Any]], Any]

MAX_BODY_BYTES = 5 * 1024 * 1024  # default of the max_body_bytes setting
MAX_BATCH = 1000
# Deepest nesting of arrays/objects a request may have. The JSON decoder recurses once per
# level on the C stack; 100,000 levels crash the process (SIGSEGV), so deeper bodies are
# refused before they are parsed. No Ethereum method needs more than a handful of levels.
MAX_JSON_DEPTH = 128

# A string, its closing quote optional so an unterminated one never makes the scan backtrack.
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"?', re.DOTALL)
_OPEN_CLOSE = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def json_depth_exceeds(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``body`` nests arrays/objects deeper than ``limit`` (brackets in strings aside).

    Cheap: a body with at most ``limit`` opening brackets cannot be too deep; otherwise the
    strings are blanked out and the running depth over the remaining brackets is taken.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    brackets = _STRINGS.sub(b'""', body).translate(_OPEN_CLOSE, _NOT_BRACKETS)
    depth = 0
    for step in brackets:
        depth += step - 1
        if depth > limit:
            return True
    return False


def _finite(text: str) -> float:
    number = float(text)
    if number in (float("inf"), float("-inf")):  # 1e999
        raise ValueError(f"number out of range: {text}")
    return number


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


# 19+ digits in a row: a number orjson would read as a float (it has 64-bit integers)
_LONG_NUMBER = re.compile(rb"\d{19}")


def loads(body: bytes | str) -> Any:
    """Strict JSON: Python's decoder also takes NaN, Infinity and 1e999 (as infinity), which
    are not JSON; echoed back (in an id), they made the answer invalid JSON.

    orjson first (it refuses those too); a body it refuses, or one with a number too long
    for it to keep exact, goes through Python's decoder, whose answer (or error) it was."""
    raw = body.encode() if isinstance(body, str) else body
    if _LONG_NUMBER.search(raw) is None:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return json.loads(body, parse_constant=_not_json, parse_float=_finite)


# worker threads for OffLoop work; few, so that the loop thread keeps its share of the GIL
OFF_LOOP_WORKERS = 4


@dataclass(frozen=True)
class OffLoop:
    """A handler's answer that is computed by ``fn`` on a worker thread; with ``then``,
    ``then(result)`` runs back on the loop and gives the answer (it may change state:
    eth_sendTransaction estimates off the loop, then signs and submits on it)."""

    fn: Callable[[], Any]
    then: Callable[[Any], Any] | None = None


_executor: ThreadPoolExecutor | None = None


def _off_loop_executor() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(  # started by the loop's thread: not on its CPU only
            OFF_LOOP_WORKERS, thread_name_prefix="xseqd-call", initializer=cpus.unpin_thread
        )
    return _executor


@dataclass
class Registry(Generic[C]):
    """Method name -> handler, for one endpoint kind."""

    methods: dict[str, Handler[C]]

    def method(self, name: str) -> Callable[[Handler[C]], Handler[C]]:
        def register(fn: Handler[C]) -> Handler[C]:
            if name in self.methods:
                raise ValueError(f"method {name} registered twice")
            self.methods[name] = fn
            return fn

        return register

    def merged(self, *others: Registry[C]) -> Registry[C]:
        methods = dict(self.methods)
        for other in others:
            methods.update(other.methods)
        return Registry(methods)


def new_registry() -> Registry[Any]:
    return Registry({})


def error_object(exc: XseqError) -> dict[str, Any]:
    err: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if exc.data is not None:
        err["data"] = exc.data
    return err


def _response(req_id: Any, result: Any = None, error: XseqError | None = None) -> dict[str, Any]:
    if error is not None:
        return {"jsonrpc": "2.0", "id": req_id, "error": error_object(error)}
    return {"jsonrpc": "2.0", "id": req_id, "result": result}


async def call_one(registry: Registry[C], ctx: C, request: Any) -> dict[str, Any] | None:
    """Serve one request object; ``None`` for a notification (no id)."""
    if not isinstance(request, dict):
        return _response(None, error=InvalidRequest("invalid request: expected an object"))
    req_id = request.get("id")
    is_notification = "id" not in request
    if req_id is not None and not isinstance(req_id, (str, int, float)):
        # checked first: an object or array id is never echoed, whatever else is wrong
        return _response(None, error=InvalidRequest("invalid request: bad id"))
    if request.get("jsonrpc") != "2.0" or not isinstance(request.get("method"), str):
        return _response(
            req_id, error=InvalidRequest("invalid request: expected jsonrpc 2.0 and a method")
        )
    method = request["method"]
    try:
        handler = registry.methods.get(method)
        if handler is None:
            raise MethodNotFound(method)
        params = request.get("params", [])
        if params is None:
            params = []
        if isinstance(params, dict):
            params = [params]
        if not isinstance(params, list):
            raise InvalidRequest("invalid request: params must be an array")
        write = is_write(method)
        gate = _order_gate(ctx) if write else None
        if gate is not None:  # reveals are being released (sequencer/gate.py)
            await gate.wait()
        if not write and method not in STATELESS and "pending" not in params:
            _seal_before_read(ctx)  # a read at "pending" sees the open slot as it is
        result = handler(ctx, params)
        if inspect.isawaitable(result):  # waits on the loop (rpc/wait.py)
            result = await result
        if isinstance(result, OffLoop):
            loop = asyncio.get_running_loop()
            then = result.then
            result = await loop.run_in_executor(_off_loop_executor(), result.fn)
            if then is not None:
                if gate is not None:
                    await gate.wait()
                result = then(result)
    except XseqError as exc:
        return None if is_notification else _response(req_id, error=exc)
    except Exception:
        log.exception("internal error in %s", method)
        err = XseqError(f"internal error in {method}")
        return None if is_notification else _response(req_id, error=err)
    return None if is_notification else _response(req_id, result)


# methods whose answer does not depend on the chain: they need no seal first
STATELESS = frozenset(
    {"eth_chainId", "net_version", "web3_clientVersion", "net_listening", "eth_syncing",
     "eth_accounts", "rpc_modules", "xseq_encryptionKey", "xseq_waitBundle"}
)  # fmt: skip


def _seal_before_read(ctx: Any) -> None:
    """Reads see every answered submission: an instant slot left open for the backlog
    (sequencer/driver.py) is sealed before a read is served."""
    services = getattr(ctx, "services", ctx)
    driver = getattr(services, "driver", None)
    if driver is not None:
        driver.seal_before_read()


def _order_gate(ctx: Any) -> Any:
    """The order gate of the node serving ``ctx`` (Services or a per-rollup context)."""
    services = getattr(ctx, "services", ctx)
    return getattr(services, "order_gate", None)


async def handle_body(
    registry: Registry[C], ctx: C, body: bytes, max_body_bytes: int = MAX_BODY_BYTES
) -> bytes | None:
    """Serve a whole HTTP body: a single request or a batch."""
    if len(body) > max_body_bytes:
        return _dump(_response(None, error=body_too_large(max_body_bytes)))
    if json_depth_exceeds(body):
        return _dump(
            _response(
                None,
                error=InvalidRequest(f"invalid request: JSON nested deeper than {MAX_JSON_DEPTH}"),
            )
        )
    try:
        payload = loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _dump(_response(None, error=ParseError("parse error: invalid JSON")))
    if isinstance(payload, list):
        if not payload:
            return _dump(_response(None, error=InvalidRequest("empty batch")))
        if len(payload) > MAX_BATCH:
            return _dump(_response(None, error=InvalidRequest(f"batch larger than {MAX_BATCH}")))
        results = [r for r in [await call_one(registry, ctx, item) for item in payload] if r]
        return _dump(results) if results else None
    result = await call_one(registry, ctx, payload)
    return None if result is None else _dump(result)


def body_too_large(max_body_bytes: int) -> InvalidRequest:
    return InvalidRequest(f"request body larger than {max_body_bytes} bytes")


def dump_bytes(obj: Any) -> bytes:
    """Compact JSON (orjson; Python's encoder for what orjson refuses: integers beyond
    64 bits)."""
    try:
        return orjson.dumps(obj)
    except TypeError:
        return json.dumps(obj, separators=(",", ":")).encode()


_dump = dump_bytes

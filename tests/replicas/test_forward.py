"""Forwarding on a follower, in-process: writes go to the leader's URL as the same
request and its answer (result or error) comes back as it was; reads and a leader's own
writes run locally; with no live leader or an unreachable one, -38032 and nothing sent."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from tests.procs import free_port
from xseqd.rpc.envelope import Registry, call_one
from xseqd.rpc.forward import forwarding


class FakeReplica:
    def __init__(self, leader: bool, url: str | None) -> None:
        self.is_leader, self.url = leader, url

    def leader_url(self) -> str | None:
        return self.url


@pytest.fixture
def leader() -> Iterator[tuple[str, list[Any]]]:
    """A stand-in leader over HTTP: records requests; answers an error for `bad`."""
    seen: list[Any] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            seen.append((self.path, body))
            if body["params"] == ["bad"]:
                reply = {"jsonrpc": "2.0", "id": 1, "error": {"code": -32000, "message": "nope",
                                                               "data": "0x01"}}  # fmt: skip
            else:
                reply = {"jsonrpc": "2.0", "id": 1, "result": "from-leader"}
            data = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", seen
    server.shutdown()


def registry() -> Registry[Any]:
    r: Registry[Any] = Registry({})
    r.method("eth_sendRawTransaction")(lambda ctx, params: "local-write")
    r.method("eth_blockNumber")(lambda ctx, params: "local-read")
    return r


def ask(reg: Registry[Any], method: str, params: list[Any]) -> dict[str, Any]:
    request = {"jsonrpc": "2.0", "id": 7, "method": method, "params": params}
    reply = asyncio.run(call_one(reg, None, request))
    assert reply is not None
    return reply


def test_a_follower_forwards_writes_and_answers_reads(leader: tuple[str, list[Any]]) -> None:
    url, seen = leader
    reg = forwarding(registry(), {"eth_sendRawTransaction"}, FakeReplica(False, url),
                     lambda ctx: "/rollup/901")  # fmt: skip
    assert ask(reg, "eth_sendRawTransaction", ["0xab"])["result"] == "from-leader"
    sent = {"jsonrpc": "2.0", "id": 1, "method": "eth_sendRawTransaction", "params": ["0xab"]}
    assert seen == [("/rollup/901", sent)]
    assert ask(reg, "eth_blockNumber", [])["result"] == "local-read"
    error = ask(reg, "eth_sendRawTransaction", ["bad"])["error"]
    assert error == {"code": -32000, "message": "nope", "data": "0x01"}


def test_a_leader_writes_itself() -> None:
    reg = forwarding(registry(), {"eth_sendRawTransaction"}, FakeReplica(True, None),
                     lambda ctx: "/")  # fmt: skip
    assert ask(reg, "eth_sendRawTransaction", ["0xab"])["result"] == "local-write"


def test_no_leader_or_an_unreachable_one_is_a_retryable_error() -> None:
    for url in (None, f"http://127.0.0.1:{free_port()}"):
        reg = forwarding(registry(), {"eth_sendRawTransaction"}, FakeReplica(False, url),
                         lambda ctx: "/")  # fmt: skip
        error = ask(reg, "eth_sendRawTransaction", ["0xab"])["error"]
        assert error["code"] == -38032 and "retry" in error["message"]

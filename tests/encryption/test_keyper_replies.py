"""Red team 2, findings 6 and 7: what the sequencer does with odd keyper answers.

A keyper (or whoever binds a dead keyper's port) answering valid JSON of the wrong shape
counts as "no answer from that keyper": settle() still builds the refusal certificate
from the others, and the release / status rounds skip it. An answer claiming more than
``MAX_ANSWER`` bytes, or a non-200 status, is a failed keyper and is not buffered.
Every keyper here is a tiny asyncio HTTP server on 127.0.0.1, reached through the
sequencer's own client (KeyperWatch.post).
"""

from __future__ import annotations

import asyncio
import json
import resource
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.core.test_redteam_encryption import DOMAIN, transfer
from xseqd.core import encrypted as enc
from xseqd.core import threshold as th
from xseqd.core.items import Item, ItemKind
from xseqd.core.refusals import sign_refusal
from xseqd.sequencer.keyperwatch import MAX_ANSWER, KeyperWatch, rpc_result
from xseqd.sequencer.settle import settle

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def json_server(answer: Callable[[dict[str, Any]], Any]) -> Handler:
    """A keep-alive HTTP server answering each POSTed JSON body with ``answer(body)``."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = json.loads(await reader.readexactly(length))
                data = json.dumps(answer(body)).encode()
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(data) + data)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    return handle


async def serving(handlers: list[Handler]) -> tuple[list[asyncio.Server], list[str]]:
    servers = [await asyncio.start_server(h, "127.0.0.1", 0) for h in handlers]
    urls = [f"http://127.0.0.1:{s.sockets[0].getsockname()[1]}/" for s in servers]
    return servers, urls


@pytest.mark.parametrize("bad", [[], {"error": "no"}, "text", {"result": {"not": "a list"}}, 7])
def test_settle_takes_a_junk_answering_keyper_as_no_answer(bad: Any) -> None:
    keyset, shares = th.deal(3, 2)
    env = enc.encrypt_bundle(keyset, [transfer(901)], DOMAIN)
    commit = Item(ItemKind.ENCRYPTED, (), enc.commit_payload(env.encode()), "sealed")

    def honest(i: int) -> Callable[[dict[str, Any]], Any]:
        refusal = sign_refusal(shares[i], DOMAIN, env.id).to_json()
        return lambda body: {"jsonrpc": "2.0", "id": body["id"], "result": [{"refusal": refusal}]}

    async def scenario() -> list[Any]:
        servers, urls = await serving([json_server(lambda body: bad)] + [
            json_server(honest(i)) for i in (1, 2)
        ])  # fmt: skip
        watch = KeyperWatch()
        try:
            return await settle(watch.post, urls, keyset, DOMAIN, {}, b"\0" * 32, [commit], 2.0)
        finally:
            await watch.stop()
            for server in servers:
                server.close()

    out = asyncio.run(scenario())
    assert len(out) == 1 and isinstance(out[0], bytes)  # the other two keypers' certificate


@pytest.mark.parametrize(
    ("reply", "result", "error"),
    [
        ([], None, "not a JSON-RPC object"),
        ("x", None, "not a JSON-RPC object"),
        ({"error": "no"}, None, "no"),
        ({"error": {"code": 1, "message": "refused"}}, None, "refused"),
        ({"result": [1]}, [1], None),
    ],
)
def test_rpc_result_never_raises_on_a_reply_of_the_wrong_shape(
    reply: Any, result: Any, error: str | None
) -> None:
    assert rpc_result(reply) == (result, error)


def test_an_impostor_claiming_a_huge_answer_is_a_failed_keyper_not_buffered() -> None:
    claim = 1200 * 1024 * 1024

    async def impostor(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(f"HTTP/1.1 200 OK\r\ncontent-length: {claim}\r\n\r\n".encode())
        chunk = b"0" * (1 << 20)
        try:
            for _ in range(claim // len(chunk)):
                writer.write(chunk)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def not_ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        data = b'{"result": {"index": 1}}'
        writer.write(b"HTTP/1.1 500 Oops\r\ncontent-length: %d\r\n\r\n" % len(data) + data)
        await writer.drain()
        writer.close()

    async def scenario() -> tuple[str, str, int, int]:
        servers, urls = await serving([impostor, not_ok])
        watch = KeyperWatch()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        failures = []
        try:
            for url in urls:
                try:
                    await watch.post(url, {"method": "keyper_status"}, 2.0)
                    failures.append("answered")
                except ConnectionError as exc:
                    failures.append(str(exc))
        finally:
            await watch.stop()
            for server in servers:
                server.close()
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return failures[0], failures[1], before, after

    huge, status, before, after = asyncio.run(scenario())
    assert f"at most {MAX_ANSWER}" in huge
    assert "500" in status
    assert after - before < 200 * 1024  # KiB: nowhere near the 1.2 GB claimed

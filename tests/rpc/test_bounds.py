"""Bounds on what a client can make xseqd do: nesting, body size, and every unbounded input."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.procs import Devnet, free_port, rpc


@pytest.fixture(scope="module")
def proc_devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Devnet, str]]:
    data: Path = tmp_path_factory.mktemp("bounds")
    port = free_port()
    devnet = Devnet("--no-l1", "--port", str(port), "--db", "memory", "--data-dir", str(data))
    try:
        assert devnet.wait_ready(), devnet.output
        yield devnet, f"http://127.0.0.1:{port}/rollup/901"
    finally:
        devnet.stop()


def raw_post(url: str, body: bytes) -> httpx.Response:
    return httpx.post(url, content=body, headers={"content-type": "application/json"}, timeout=30)


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_deeply_nested_body_is_refused_and_the_process_lives(
    proc_devnet: tuple[Devnet, str], opener: str
) -> None:
    devnet, url = proc_devnet
    closer = "]" if opener == "[" else "}"
    depth = 100_000
    bomb = (
        '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":['
        + opener * depth
        + "1"
        + closer * depth
        + "]}"
    ).encode()
    reply = raw_post(url, bomb)
    assert reply.status_code != 500
    err = reply.json()["error"]
    assert err["code"] in (-32600, -32700)
    assert "nest" in err["message"]
    assert devnet.proc.poll() is None, devnet.output
    assert rpc(url, "eth_chainId") == "0x385"


def test_nesting_inside_strings_is_not_counted(proc_devnet: tuple[Devnet, str]) -> None:
    _, url = proc_devnet
    text = "[{" * 5000 + '\\"' + "}]" * 10
    body = f'{{"jsonrpc":"2.0","id":1,"method":"web3_sha3","params":["0x00"],"x":"{text}"}}'
    reply = raw_post(url, body.encode()).json()
    assert "result" in reply, reply


def test_deeply_nested_ws_message_is_refused(proc_devnet: tuple[Devnet, str]) -> None:
    from websockets.sync.client import connect

    devnet, url = proc_devnet
    ws_url = url.replace("http://", "ws://")
    bomb = (
        '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":'
        + "[" * 100_000
        + "]" * 100_000
        + "}"
    )
    with connect(ws_url, max_size=None) as ws:
        ws.send(bomb)
        import json

        err = json.loads(ws.recv(timeout=30))["error"]
        assert err["code"] in (-32600, -32700)
    assert devnet.proc.poll() is None, devnet.output
    assert rpc(url, "eth_chainId") == "0x385"


def test_oversized_body_is_a_json_rpc_error(proc_devnet: tuple[Devnet, str]) -> None:
    devnet, url = proc_devnet
    body = (
        b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":["'
        + b"a" * (6 * 1024 * 1024)
        + b'"]}'
    )
    reply = raw_post(url, body)
    assert reply.status_code != 500
    err = reply.json()["error"]
    assert err["code"] == -32600
    assert "larger than" in err["message"]
    assert devnet.proc.poll() is None


def test_max_body_bytes_is_a_setting(tmp_path: Path) -> None:
    port = free_port()
    devnet = Devnet(
        "--no-l1", "--port", str(port), "--db", "memory", "--data-dir", str(tmp_path),
        "--max-body-bytes", "1000",
    )  # fmt: skip
    try:
        assert devnet.wait_ready(), devnet.output
        url = f"http://127.0.0.1:{port}/rollup/901"
        pad = "a" * 1000
        body = f'{{"jsonrpc":"2.0","id":1,"method":"eth_chainId","x":"{pad}"}}'.encode()
        reply = raw_post(url, body)
        assert reply.status_code == 413
        err = reply.json()["error"]
        assert err["code"] == -32600 and "larger than 1000 bytes" in err["message"]
        from websockets.sync.client import connect

        with connect(url.replace("http://", "ws://")) as ws:
            ws.send(body.decode())
            import json

            err = json.loads(ws.recv(timeout=10))["error"]
            assert err["code"] == -32600 and "larger than 1000 bytes" in err["message"]
        assert rpc(url, "eth_chainId") == "0x385"
    finally:
        devnet.stop()

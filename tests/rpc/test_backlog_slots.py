"""Instant slots grow with the backlog (issue 10; sequencer/driver.py): while submissions
come from more than one connection, a slot stays open until a submitter comes back on its
connection, anyone reads chain state (any connection), or ``max_wait`` passes; a lone
submitter's slot is sealed at once. What clients rely on holds throughout, as on anvil's
automine: once a send is answered, every read on every connection sees it (its receipt, the
sender's ``latest`` nonce, the balance, the block number). Real server, one keep-alive
HTTP connection per client; whether the slot is still open is looked at in process."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from eth_account import Account

from xseqd.node import NodeThread

SINK = "0x000000000000000000000000000000000000bEEF"


class Conn:
    """One keep-alive HTTP connection to a rollup endpoint (one client, as the driver
    sees it)."""

    def __init__(self, devnet: NodeThread, chain_id: int = 901) -> None:
        assert devnet.endpoints is not None
        url = devnet.endpoints.rollup_url(chain_id)
        host_port = url.split("//", 1)[1].split("/", 1)[0]
        self.path = "/" + url.split("//", 1)[1].split("/", 1)[1]
        self.http = http.client.HTTPConnection(host_port, timeout=30)
        self.ids = 0

    def reply(self, method: str, *params: Any) -> dict[str, Any]:
        self.ids += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self.ids, "method": method, "params": params})
        self.http.request("POST", self.path, body, {"content-type": "application/json"})
        return dict(json.loads(self.http.getresponse().read()))

    def __call__(self, method: str, *params: Any) -> Any:
        reply = self.reply(method, *params)
        assert "error" not in reply, reply
        return reply["result"]

    def block_number(self) -> int:
        return int(self("eth_blockNumber"), 16)

    def send(self, key: Any, value: int = 1) -> str:
        nonce = int(self("eth_getTransactionCount", key.address, "pending"), 16)
        tx = {
            "chainId": 901,
            "nonce": nonce,
            "to": SINK,
            "value": value,
            "gas": 21_000,
            "maxFeePerGas": 10**10,
            "maxPriorityFeePerGas": 10**6,
            "type": 2,
        }
        raw = Account.sign_transaction(tx, key.key).raw_transaction
        return str(self("eth_sendRawTransaction", "0x" + bytes(raw).hex()))

    def close(self) -> None:
        self.http.close()


@pytest.fixture()
def conns(devnet: NodeThread) -> Iterator[list[Conn]]:
    out = [Conn(devnet) for _ in range(4)]
    yield out
    for c in out:
        c.close()
    devnet.node.driver.max_wait = 0.02


def still_open(devnet: NodeThread) -> bool:
    """Whether the open slot holds answered submissions not sealed yet (in process: any
    read over RPC would seal it)."""
    return bool(devnet.node.sequencer.open_slot_needs_seal)


def make_concurrent(ctl: Conn, a: Conn, b: Conn, keys: list[Any]) -> None:
    """Two connections submit to one slot (held open in manual mode), which is then
    sealed: the driver now sees concurrent submitters."""
    ctl("evm_setAutomine", False)
    a.send(keys[1])
    b.send(keys[2])
    ctl("evm_setAutomine", True)


def test_a_slot_waits_for_its_submitters_under_concurrent_load(
    devnet: NodeThread, conns: list[Conn], keys: list[Any]
) -> None:
    a, b, c, ctl = conns
    devnet.node.driver.max_wait = 30.0  # only the rules below may seal
    make_concurrent(ctl, a, b, keys)
    start = ctl.block_number()
    tx3 = a.send(keys[3])
    time.sleep(0.2)
    assert still_open(devnet)  # nobody read: the slot waits for more submissions
    tx4 = c.send(keys[4])  # joins the open slot
    assert still_open(devnet)
    # the first submitter comes back: the slot is sealed before its request is served
    assert a.block_number() == start + 1
    block = a("eth_getBlockByNumber", hex(start + 1), False)
    assert block["transactions"] == [tx3, tx4]
    for tx in (tx3, tx4):
        assert b("eth_getTransactionReceipt", tx)["blockNumber"] == hex(start + 1)


@pytest.mark.parametrize(
    "read",
    [
        ("eth_getTransactionReceipt", "TX"),
        ("eth_blockNumber",),
        ("eth_getTransactionCount", "SENDER", "latest"),
        ("eth_getBalance", "SENDER", "latest"),
        ("eth_getBlockByNumber", "latest", False),
    ],
    ids=lambda r: r[0],
)
def test_any_read_on_any_connection_seals_the_slot_first(
    devnet: NodeThread, conns: list[Conn], keys: list[Any], read: tuple[Any, ...]
) -> None:
    a, b, _c, ctl = conns
    devnet.node.driver.max_wait = 30.0
    make_concurrent(ctl, a, b, keys)
    start = ctl.block_number()
    key = keys[5]
    before = int(b("eth_getTransactionCount", key.address, "latest"), 16)
    tx = a.send(key)
    time.sleep(0.1)
    assert still_open(devnet)
    params = [{"TX": tx, "SENDER": key.address}.get(x, x) for x in read[1:]]
    b(read[0], *params)  # someone else reads: sealed before it is served
    assert not still_open(devnet)
    assert b.block_number() == start + 1
    assert int(b("eth_getTransactionCount", key.address, "latest"), 16) == before + 1
    assert b("eth_getTransactionReceipt", tx)["blockNumber"] == hex(start + 1)


def test_a_refused_seal_keeps_the_slot_waiting_for_its_submitter(
    devnet: NodeThread, conns: list[Conn], keys: list[Any]
) -> None:
    a, b, _c, ctl = conns
    devnet.node.driver.max_wait = 30.0
    make_concurrent(ctl, a, b, keys)
    start = ctl.block_number()
    tx = a.send(keys[8])
    refused = ctl.reply("evm_mine", 1)  # a timestamp in the past: nothing is sealed
    assert refused["error"]["code"] == -32602, refused
    assert still_open(devnet)
    assert a.block_number() == start + 1  # its submitter back: sealed first, as before
    assert a("eth_getTransactionReceipt", tx)["blockNumber"] == hex(start + 1)


def test_a_lone_submitter_is_sealed_at_once(
    devnet: NodeThread, conns: list[Conn], keys: list[Any]
) -> None:
    a, b, _c, _ctl = conns
    devnet.node.driver.max_wait = 30.0
    a.send(keys[6])  # one submitter in its slot: the next slot is not "concurrent"
    a.block_number()
    start = b.block_number()
    a.send(keys[6])
    deadline = time.monotonic() + 5
    while b.block_number() == start:  # sealed without the submitter coming back
        assert time.monotonic() < deadline, "a lone submission waited for the deadline"
        time.sleep(0.01)


def test_max_wait_bounds_how_long_a_slot_stays_open(
    devnet: NodeThread, conns: list[Conn], keys: list[Any]
) -> None:
    a, b, _c, ctl = conns
    devnet.node.driver.max_wait = 0.3
    make_concurrent(ctl, a, b, keys)
    start = ctl.block_number()
    sent = time.monotonic()
    a.send(keys[7])
    while still_open(devnet):  # nobody comes back for it: the deadline seals
        assert time.monotonic() - sent < 10
        time.sleep(0.01)
    assert time.monotonic() - sent >= 0.25
    assert b.block_number() == start + 1


def test_concurrent_clients_read_their_receipts_at_once(
    devnet: NodeThread, keys: list[Any]
) -> None:
    """Eight clients send and read the receipt right after each answer, once, on their own
    connection and on another: it is always there (anvil's automine behaviour)."""
    failures: list[str] = []
    blocks: dict[str, int] = {}
    lock = threading.Lock()

    def client(key: Any) -> None:
        mine, other = Conn(devnet), Conn(devnet)
        try:
            for _ in range(6):
                tx = mine.send(key)
                first = mine("eth_getTransactionReceipt", tx)
                second = other("eth_getTransactionReceipt", tx)
                with lock:
                    if first is None or second is None or first != second:
                        failures.append(tx)
                    else:
                        blocks[first["blockNumber"]] = blocks.get(first["blockNumber"], 0) + 1
        finally:
            mine.close()
            other.close()

    threads = [threading.Thread(target=client, args=(keys[i],)) for i in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert sum(blocks.values()) == 48


def test_reads_on_another_connection_never_see_a_stale_nonce_under_load(
    devnet: NodeThread, keys: list[Any]
) -> None:
    """The red team's flow: a client sends on one connection and reads its `latest` nonce
    on another (web3.py's default tag; two workers sharing an account) while three other
    clients keep submitting. Must never happen: a stale nonce (which makes the next
    transaction a copy of one already mined)."""
    stop, errors = threading.Event(), []

    def background(key: Any) -> None:
        conn = Conn(devnet)
        try:
            while not stop.is_set():
                conn.send(key)
                time.sleep(0.005)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(repr(exc))
        finally:
            conn.close()

    threads = [threading.Thread(target=background, args=(keys[i],)) for i in (1, 2, 3)]
    for t in threads:
        t.start()
    sender, reader = Conn(devnet), Conn(devnet)
    stale = []
    try:
        key = keys[9]
        for _ in range(40):
            before = int(reader("eth_getTransactionCount", key.address, "latest"), 16)
            sender.send(key)
            after = int(reader("eth_getTransactionCount", key.address, "latest"), 16)
            if after != before + 1:
                stale.append((before, after))
    finally:
        stop.set()
        for t in threads:
            t.join()
        sender.close()
        reader.close()
    assert errors == []
    assert stale == []

"""Hostile input never crashes, stalls or changes the daemon (issue 9, "Evidence required").

A seeded fuzzer against a real ``xseqd devnet`` subprocess, over HTTP (one keep-alive
client) and a WebSocket: malformed and deeply nested JSON, wrong types in every parameter
position of every registered method, huge numbers, huge strings and arrays, batches over
and under the limit, gas bombs, unbounded log ranges, invalid and random raw transactions,
mixed with valid reads and, now and then, a valid signed transfer (tracked). Asserted:

- the process never exits;
- every answer is a well-formed JSON-RPC 2.0 answer to its request (HTTP 200, or 413
  with a JSON-RPC error for an over-limit body), with an error code from the documented
  set; -32603 (a handler crashed) is a failure;
- a burst of requests none of which changed state (no state-changing method succeeded)
  leaves every rollup's head and a few balances and nonces as they were;
- no answer takes longer than the call time limit (1 s) plus 1 s.

``XSEQD_FUZZ_REQUESTS`` (default 20,000) and ``XSEQD_FUZZ_SEED`` tune a run; ``make fuzz``
runs 100,000. The count, the slowest answer and the mix of answers are printed.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import json
import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from websockets.sync.client import ClientConnection, connect

from tests.procs import Devnet, free_port
from tests.rpc import test_raw_tx_bounds
from xseqd.accounts import dev_accounts
from xseqd.rpc.app import ROLLUP_METHODS, ROOT_METHODS
from xseqd.rpc.envelope import MAX_BATCH, MAX_BODY_BYTES, MAX_JSON_DEPTH

REQUESTS = int(os.environ.get("XSEQD_FUZZ_REQUESTS", "20000"))
SEED = int(os.environ.get("XSEQD_FUZZ_SEED", "20261129"))
CALL_LIMIT = 1.0  # --rpc-evm-timeout
ANSWER_LIMIT = CALL_LIMIT + 1.0
BURST = 100  # requests between two state fingerprints
ROLLUPS = (901, 902)
LOOP = "0x5b600056"  # JUMPDEST PUSH1 0 JUMP: loops until out of gas (or time)
RECIPIENT = "0x00000000000000000000000000000000000F022e"

ROLLUP_METHOD_NAMES = sorted(ROLLUP_METHODS.methods)
ROOT_METHOD_NAMES = sorted(ROOT_METHODS.methods)
# methods whose success may change what the fingerprint looks at
STATE_CHANGING = {
    name
    for name in ROLLUP_METHOD_NAMES
    if name.startswith(("evm_", "anvil_", "hardhat_"))
    or name
    in (
        "eth_sendRawTransaction",
        "eth_sendTransaction",
        "eth_sendUnsignedTransaction",
        "xseq_sendBundle",
        "xseq_cancelBundle",
    )
} - {  # these change nothing the fingerprint looks at
    "anvil_getAutomine",
    "evm_snapshot",
    "anvil_impersonateAccount",
    "hardhat_impersonateAccount",
    "anvil_stopImpersonatingAccount",
    "hardhat_stopImpersonatingAccount",
}
# a success of these with a guessed argument would stop mining or rewind the chain
# RLP lists nested 100 KB deep: took 18 s of the event loop to decode (a legacy transaction)
RLP_BOMB = "0x" + test_raw_tx_bounds.nested(100_000).hex()
FRAGILE = {"evm_setAutomine", "evm_setIntervalMining", "evm_revert"}


def code_is_documented(code: Any) -> bool:
    if not isinstance(code, int) or isinstance(code, bool):
        return False
    return (
        code in (-32700, -32600, -32601, -32602, 3)
        or -32099 <= code <= -32000
        or -38999 <= code <= -38000
    )


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Devnet, int]]:
    data: Path = tmp_path_factory.mktemp("hostile")
    port = free_port()
    devnet = Devnet(
        "--no-l1",
        "--port",
        str(port),
        "--db",
        "memory",
        "--data-dir",
        str(data),
        "--rpc-evm-timeout",
        str(CALL_LIMIT),
        "--log-level",
        "error",
    )
    try:
        assert devnet.wait_ready(), devnet.output
        yield devnet, port
    finally:
        devnet.stop()


@dataclass
class Probe:
    """One HTTP body or WS message and what a correct answer to it looks like."""

    body: bytes
    label: str  # method or kind, for the report
    # request objects it carries: (id, has_id, method) in order; None: not a JSON request
    items: list[tuple[Any, bool, str]] | None
    batch: bool = False
    rollup: int | None = 901  # None: the root endpoint


@dataclass
class Stats:
    requests: int = 0
    messages: int = 0
    slowest: tuple[float, str] = (0.0, "")
    mix: collections.Counter[str] = field(default_factory=collections.Counter)
    failures: list[str] = field(default_factory=list)


def strict_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def valid_id(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float))


class Generator:
    """Seeded hostile (and a few valid) requests."""

    def __init__(self, rng: random.Random, chain_ids: tuple[int, ...]) -> None:
        self.rng = rng
        self.next_id = 1
        self.accounts = dev_addresses()
        key = dev_keys()[0]
        poor = Account.from_key(rng.randbytes(32))
        base = {
            "chainId": chain_ids[0],
            "nonce": 0,
            "to": RECIPIENT,
            "value": 1,
            "gas": 21_000,
            "maxFeePerGas": 10**10,
            "maxPriorityFeePerGas": 10**6,
            "type": 2,
        }
        bad = [
            ({"chainId": 12345}, key),
            ({"nonce": 2**63}, key),
            ({"gas": 1}, key),
            ({"gas": 2**63}, key),
            ({"maxFeePerGas": 0, "maxPriorityFeePerGas": 0}, key),
            ({"value": 2**255}, key),
            ({}, poor),
        ]
        self.bad_txs = [
            bytes(Account.sign_transaction({**base, **extra}, k.key).raw_transaction)
            for extra, k in bad
        ]
        legacy = {"nonce": 0, "to": RECIPIENT, "value": 1, "gas": 21_000, "gasPrice": 10**10}
        self.bad_txs.append(bytes(Account.sign_transaction(legacy, poor.key).raw_transaction))
        self.junk_values: list[Any] = [
            None,
            True,
            False,
            0,
            -1,
            1.5,
            "",
            "0x",
            "0xzz",
            "latest!",
            "0x" + "f" * 65,
            "0x" + "ab" * 33,
            2**256 + 1,
            -(2**256),
            "0x1" + "0" * 64,
            "-0x1",
            "0x-1",
            "0x1g",
            "1e400",
            {},
            [],
            [[[]]],
            {"from": 1, "to": [], "data": {}},
            {"blockHash": 5},
            {"blockNumber": "0x" + "f" * 70},
            {"fromBlock": "0x0", "toBlock": "0x" + "f" * 20},
            {"address": ["0x12"] * 3, "topics": [[None, 7]]},
            {"accessList": [{"address": 1, "storageKeys": [{}]}]},
            {"accessList": [5]},
            {"__proto__": None},
            "\u0000\ud7ff\U0001f4a5",
            "0x" + "00" * 20,
            self.accounts[1],
            "0x" + "11" * 32,
            [{"to": 5}],
            [{"txs": "0x"}],
            {"legs": {"901": {}}},
        ]

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def junk(self) -> Any:
        return self.rng.choice(self.junk_values)

    def obj(self, method: str, params: Any, req_id: Any = None) -> dict[str, Any]:
        return {
            "jsonrpc": "2.0",
            "id": self.new_id() if req_id is None else req_id,
            "method": method,
            "params": params,
        }

    def probe(self, request: dict[str, Any], rollup: int | None = 901) -> Probe:
        method = request.get("method")
        label = method if isinstance(method, str) else "?"
        items = [(request.get("id"), "id" in request, label)]
        return Probe(json.dumps(request).encode(), label, items, rollup=rollup)

    # -- the kinds ------------------------------------------------------------------------

    def valid_read(self) -> Probe:
        r = self.rng.random()
        rollup = self.rng.choice(ROLLUPS)
        if r < 0.4:
            return self.probe(self.obj("eth_blockNumber", []), rollup)
        if r < 0.8:
            who = self.rng.choice(self.accounts)
            return self.probe(self.obj("eth_getBalance", [who, "latest"]), rollup)
        return self.probe(self.obj("eth_getTransactionCount", [self.accounts[0]]), rollup)

    def wrong_types(self) -> Probe:
        if self.rng.random() < 0.1:
            method = self.rng.choice(ROOT_METHOD_NAMES)
            rollup: int | None = None
        else:
            method = self.rng.choice(ROLLUP_METHOD_NAMES)
            rollup = self.rng.choice(ROLLUPS)
        arity = self.rng.randint(1, 4)
        params = [self.junk() for _ in range(arity)]
        position = self.rng.randrange(arity)
        if method in FRAGILE:  # never a value that could be a valid one
            params = ["0xzz", {}, -1, [[]]][:arity]
        elif self.rng.random() < 0.5:
            # a plausible value everywhere but one position
            # (never the transfers' sender or recipient: anvil_setNonce(sender, 0) is valid)
            plausible = [self.accounts[1], "latest", "0x1", {"to": RECIPIENT}]
            params = [plausible[i] if i != position else params[i] for i in range(arity)]
        if self.rng.random() < 0.05:
            params = self.rng.choice([{"a": 1}, "str", 5, None, True])  # type: ignore[assignment]
        return self.probe(self.obj(method, params), rollup)

    def huge_number(self) -> Probe:
        number = self.rng.choice(
            [2**256 + 1, 2**256, -1, -(2**64), 10**400, "0x" + "f" * 80, "0x1z", "0x 1", "0x"]
        )
        method, params = self.rng.choice(
            [
                ("eth_getBlockByNumber", [number, False]),
                ("eth_getBalance", [self.accounts[0], number]),
                ("eth_call", [{"to": RECIPIENT, "value": number}, "latest"]),
                ("eth_call", [{"to": RECIPIENT, "gas": number}, "latest"]),
                ("eth_estimateGas", [{"to": RECIPIENT, "gasPrice": number}]),
                ("eth_feeHistory", [number, "latest", [50]]),
                ("eth_feeHistory", ["0x2", "latest", [number]]),
                ("eth_getTransactionByBlockNumberAndIndex", ["latest", number]),
                ("evm_mine", [number]),
                ("anvil_mine", [number, number]),
                ("evm_increaseTime", [number]),
                ("evm_setNextBlockTimestamp", [number]),
                ("evm_setIntervalMining", [number]),  # a success would stop instant mining
                ("evm_setIntervalMining", [self.rng.choice([-0.5, 1e-9, 1e300, "1"])]),
                ("anvil_setBalance", [self.accounts[2], number]),
                ("anvil_setNonce", [self.accounts[2], number]),
                ("eth_getStorageAt", [RECIPIENT, number, "latest"]),
                ("xseq_getSlot", [number]),
                ("xseq_getMessage", [number]),
            ]
        )
        return self.probe(self.obj(method, params), self.rng.choice(ROLLUPS))

    def unbounded_range(self) -> Probe:
        to_block = self.rng.choice(["latest", "0x" + "f" * 16, "0xffffffff", hex(2**63)])
        criteria: dict[str, Any] = {"fromBlock": "0x0", "toBlock": to_block}
        if self.rng.random() < 0.3:
            criteria["topics"] = [["0x" + "22" * 32] * 5]
        method = self.rng.choice(["eth_getLogs", "eth_newFilter"])
        return self.probe(self.obj(method, [criteria]), self.rng.choice(ROLLUPS))

    def raw_tx(self) -> Probe:
        r = self.rng.random()
        if r < 0.4:
            raw = self.rng.choice(self.bad_txs)
            if self.rng.random() < 0.5:  # mutate a byte, or truncate
                raw = bytearray(raw)
                if self.rng.random() < 0.5:
                    raw[self.rng.randrange(len(raw))] ^= 1 << self.rng.randrange(8)
                else:
                    del raw[self.rng.randrange(len(raw)) :]
            text = "0x" + bytes(raw).hex()
        else:
            length = self.rng.choice([0, 1, 2, 31, 100, 600])
            text = "0x" + self.rng.randbytes(length).hex()
            if r > 0.9:
                text = self.rng.choice(["0x" + "0" * 3, "0xgg", "c0", text + "z", RLP_BOMB])
        return self.probe(self.obj("eth_sendRawTransaction", [text]), self.rng.choice(ROLLUPS))

    def malformed(self) -> Probe:
        valid = json.dumps(self.obj("eth_blockNumber", [])).encode()
        r = self.rng.random()
        if r < 0.3:
            body = valid[: self.rng.randrange(len(valid))]
        elif r < 0.5:
            body = self.rng.randbytes(self.rng.randint(1, 64))
        elif r < 0.7:
            body = self.rng.choice([b"", b"null", b"1", b'"x"', b"true", b"{}", b"NaN", b"[]"])
            if self.rng.random() < 0.3:  # a batch of non-requests: one error each
                junk = self.rng.choice([[1, 2], [[]], [None], ["x", {}, 1.5]])
                items: list[tuple[Any, bool, str]] = [(None, True, "?") for _ in junk]
                return Probe(json.dumps(junk).encode(), "batch", items, batch=True)
        elif r < 0.85:
            # JSON, but not a request: bad jsonrpc, method, ids
            bad = self.rng.choice(
                [
                    {"jsonrpc": "1.0", "id": 1, "method": "eth_chainId"},
                    {"id": 1, "method": "eth_chainId"},
                    {"jsonrpc": "2.0", "id": 1, "method": 7},
                    {"jsonrpc": "2.0", "id": {"a": 1}, "method": "eth_chainId"},
                    {"jsonrpc": "2.0", "id": [1], "method": "eth_chainId"},
                    {"jsonrpc": "1.0", "id": {"a": 1}, "method": "eth_chainId"},
                    {"id": [1, 2], "method": 5},
                    {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": 7},
                    {"jsonrpc": "2.0", "id": 1, "method": "no_suchMethod"},
                    {"jsonrpc": "2.0", "id": 1, "method": ""},
                ]
            )
            return Probe(json.dumps(bad).encode(), "envelope", [(bad.get("id"), True, "?")])
        elif r < 0.93:
            body = valid.replace(b"[]", self.rng.choice([b"[,]", b"[1,]", b"[\x00]", b"[\xff]"]))
        else:  # numbers Python's decoder takes but JSON has not
            token = self.rng.choice([b"NaN", b"Infinity", b"-Infinity", b"1e999"])
            method = self.rng.choice(ROLLUP_METHOD_NAMES).encode()
            body = self.rng.choice(
                [
                    b'{"jsonrpc":"2.0","id":%s,"method":"eth_chainId"}' % token,
                    b'{"jsonrpc":"2.0","id":1,"method":"%s","params":[%s]}' % (method, token),
                ]
            )
        return Probe(body, "malformed", None)

    def nested(self) -> Probe:
        depth = self.rng.choice([MAX_JSON_DEPTH - 3, MAX_JSON_DEPTH + 1, 5000, 50_000])
        opener, closer = self.rng.choice([("[", "]"), ('{"a":', "}")])
        inner = opener * depth + "1" + closer * depth
        if self.rng.random() < 0.2:
            inner = opener * depth  # unterminated too
        req_id = self.new_id()
        body = f'{{"jsonrpc":"2.0","id":{req_id},"method":"eth_getBalance","params":[{inner}]}}'
        if depth + 2 > MAX_JSON_DEPTH or closer not in inner:
            return Probe(body.encode(), "nested", None)  # refused or unparsable: id null
        return Probe(body.encode(), "nested", [(req_id, True, "nested")])

    def huge(self) -> Probe:
        size = self.rng.choice([10_000, 100_000, 1_000_000])
        method, params = self.rng.choice(
            [
                ("eth_call", [{"to": RECIPIENT, "data": "0x" + "ab" * size}, "latest"]),
                ("eth_sendRawTransaction", ["0x" + "ff" * size]),
                ("web3_sha3", ["0x" + "00" * size]),
                ("eth_getBalance", ["x" * size, "latest"]),
                ("eth_getLogs", [{"address": [RECIPIENT] * (size // 50)}]),
                ("eth_getLogs", [{"topics": [["0x" + "33" * 32] * (size // 100)]}]),
                ("eth_chainId", list(range(size // 10))),
                ("eth_feeHistory", ["0x1", "latest", [1.5] * (size // 10)]),
            ]
        )
        return self.probe(self.obj(method, params), self.rng.choice(ROLLUPS))

    def batch(self) -> Probe:
        over = self.rng.random() < 0.1
        count = MAX_BATCH + 1 if over else self.rng.randint(1, 40)
        entries: list[Any] = []
        for _ in range(count):
            r = self.rng.random()
            if r < 0.5:
                entries.append(self.obj("eth_chainId", []))
            elif r < 0.8:
                method = self.rng.choice(ROLLUP_METHOD_NAMES)
                if method in FRAGILE:
                    method = "eth_getBalance"
                entries.append(self.obj(method, [self.junk()]))
            elif r < 0.9:
                entries.append(self.rng.choice([1, "x", None, [], True]))
            else:  # a notification: no answer
                entries.append({"jsonrpc": "2.0", "method": "eth_blockNumber"})
        items: list[tuple[Any, bool, str]] = []
        for e in entries:
            if isinstance(e, dict):
                items.append((e.get("id"), "id" in e, str(e["method"])))
            else:
                items.append((None, True, "?"))
        label = "batch>limit" if over else "batch"
        return Probe(json.dumps(entries).encode(), label, items, batch=True)

    def gas_bomb(self) -> Probe:
        call = {"data": LOOP, "gas": self.rng.choice(["0xffffffffffff", hex(2**64 - 1)])}
        method = self.rng.choice(["eth_call", "eth_estimateGas"])
        params = [call, "latest"] if method == "eth_call" else [call]
        return self.probe(self.obj(method, params), self.rng.choice(ROLLUPS))

    def transfer(self, nonce: int) -> Probe:
        key = dev_keys()[0]
        tx = {
            "chainId": ROLLUPS[0],
            "nonce": nonce,
            "to": RECIPIENT,
            "value": 1000 + nonce,
            "gas": 21_000,
            "maxFeePerGas": 10**10,
            "maxPriorityFeePerGas": 10**6,
            "type": 2,
        }
        raw = bytes(Account.sign_transaction(tx, key.key).raw_transaction)
        return self.probe(self.obj("eth_sendRawTransaction", ["0x" + raw.hex()]), ROLLUPS[0])

    def hostile(self) -> Probe:
        r = self.rng.random()
        if r < 0.42:
            return self.wrong_types()
        if r < 0.55:
            return self.huge_number()
        if r < 0.67:
            return self.raw_tx()
        if r < 0.8:
            return self.malformed()
        if r < 0.86:
            return self.unbounded_range()
        if r < 0.93:
            return self.batch()
        if r < 0.97:
            return self.nested()
        return self.huge()


class Runner:
    def __init__(self, devnet: Devnet, port: int) -> None:
        self.devnet = devnet
        self.port = port
        self.http = httpx.Client(
            timeout=30, headers={"content-type": "application/json"}, http2=False
        )
        self.ws: dict[int, ClientConnection] = {}
        self.exits = contextlib.ExitStack()
        self.stats = Stats()

    def url(self, rollup: int | None) -> str:
        base = f"http://127.0.0.1:{self.port}"
        return base + "/" if rollup is None else f"{base}/rollup/{rollup}"

    def socket(self, rollup: int) -> ClientConnection:
        if rollup not in self.ws:
            url = f"ws://127.0.0.1:{self.port}/rollup/{rollup}"
            self.ws[rollup] = self.exits.enter_context(connect(url, max_size=None, open_timeout=10))
        return self.ws[rollup]

    def close(self) -> None:
        self.http.close()
        self.exits.close()

    def fail(self, probe: Probe, why: str, answer: Any) -> None:
        text = repr(answer)[:400]
        self.stats.failures.append(f"{probe.label}: {why}; sent {probe.body[:300]!r}; got {text}")

    def send(self, probe: Probe, over_ws: bool = False) -> list[dict[str, Any]]:
        """Send one probe, check its answer; the answer objects (for state tracking)."""
        stats = self.stats
        started = time.monotonic()
        status = 200
        if over_ws and probe.rollup is not None:
            ws = self.socket(probe.rollup)
            ws.send(probe.body.decode("utf-8", errors="replace"))
            text = ""
            expect_reply = probe.items is None or any(has for _, has, _ in probe.items)
            while expect_reply:
                text = str(ws.recv(timeout=30))
                if '"eth_subscription"' not in text[:60]:
                    break
            raw = text.encode()
        else:
            reply = self.http.post(self.url(probe.rollup), content=probe.body)
            status, raw = reply.status_code, reply.content
        elapsed = time.monotonic() - started
        stats.messages += 1
        # request objects served; a body refused whole (over-limit batch, bad JSON) is one
        stats.requests += len(probe.items) if probe.items and len(probe.items) <= MAX_BATCH else 1
        if elapsed > stats.slowest[0]:
            stats.slowest = (elapsed, probe.label)
        if elapsed > ANSWER_LIMIT:
            self.fail(probe, f"answer took {elapsed:.2f}s", raw[:100])
        if self.devnet.proc.poll() is not None:
            self.fail(probe, f"daemon exited ({self.devnet.proc.returncode})", raw[:100])
            raise AssertionError("\n".join(stats.failures) + "\n" + self.devnet.output[-3000:])
        return self.check(probe, status, raw)

    def check(self, probe: Probe, status: int, raw: bytes) -> list[dict[str, Any]]:
        too_large = len(probe.body) > MAX_BODY_BYTES
        if status != (413 if too_large else 200):
            self.fail(probe, f"HTTP {status}", raw[:200])
            return []
        if not raw:  # only notifications get no answer
            if probe.items is not None and not any(has for _, has, _ in probe.items):
                self.stats.mix["(none: notifications)"] += 1
            else:
                self.fail(probe, "empty answer", raw)
            return []
        try:
            answer = json.loads(raw, parse_constant=strict_json)
        except ValueError:
            self.fail(probe, "answer is not JSON", raw[:200])
            return []
        if probe.batch and isinstance(answer, list):
            assert probe.items is not None
            expected = [i for i in probe.items if i[1]]
            if len(answer) != len(expected):
                self.fail(probe, f"{len(answer)} answers to {len(expected)} requests", answer)
            for obj, (req_id, _, _) in zip(answer, expected):
                self.check_object(probe, obj, req_id if valid_id(req_id) else None)
            return [a for a in answer if isinstance(a, dict)]
        if probe.batch:  # only a whole-batch error is a single object
            assert probe.items is not None
            if 0 < len(probe.items) <= MAX_BATCH:
                self.fail(probe, "a batch answered with one object", answer)
            self.check_object(probe, answer, None, want_code=-32600)
            return []
        if too_large or probe.items is None:
            self.check_object(probe, answer, None)
            return []
        req_id = probe.items[0][0]
        self.check_object(probe, answer, req_id if valid_id(req_id) else None)
        return [answer] if isinstance(answer, dict) else []

    def check_object(
        self, probe: Probe, obj: Any, req_id: Any, want_code: int | None = None
    ) -> None:
        mix = self.stats.mix
        if not isinstance(obj, dict) or obj.get("jsonrpc") != "2.0":
            self.fail(probe, "not a JSON-RPC 2.0 object", obj)
            return
        if "id" not in obj or obj["id"] != req_id or type(obj["id"]) is not type(req_id):
            self.fail(probe, f"id {obj.get('id')!r}, expected {req_id!r}", obj)
        if ("result" in obj) == ("error" in obj):
            self.fail(probe, "not exactly one of result and error", obj)
            return
        if "result" in obj:
            mix["result"] += 1
            return
        err = obj["error"]
        if not isinstance(err, dict):
            self.fail(probe, "error is not an object", obj)
            return
        code, message = err.get("code"), err.get("message")
        mix[str(code)] += 1
        if not code_is_documented(code) or not isinstance(message, str):
            self.fail(probe, "undocumented error", obj)
        elif want_code is not None and code != want_code:
            self.fail(probe, f"code {code}, expected {want_code}", obj)

    def fingerprint(self) -> list[Any]:
        prints = []
        for rollup in ROLLUPS:
            batch = [
                {
                    "jsonrpc": "2.0",
                    "id": 0,
                    "method": "eth_getBlockByNumber",
                    "params": ["latest", False],
                },
            ]
            for i, who in enumerate([*dev_addresses(), RECIPIENT]):
                batch.append(
                    {"jsonrpc": "2.0", "id": 2 * i + 1, "method": "eth_getBalance", "params": [who]}
                )
                batch.append(
                    {
                        "jsonrpc": "2.0",
                        "id": 2 * i + 2,
                        "method": "eth_getTransactionCount",
                        "params": [who],
                    }
                )
            answer = self.http.post(self.url(rollup), json=batch).json()
            assert all("result" in a for a in answer), answer
            head = answer[0]["result"]
            prints.append((rollup, head["number"], head["hash"], [a["result"] for a in answer[1:]]))
        return prints


@functools.cache
def dev_keys() -> tuple[Any, ...]:
    return dev_accounts(3)


def dev_addresses() -> list[str]:
    return [a.address for a in dev_keys()]


def test_hostile_input_never_crashes_stalls_or_changes_the_daemon(
    daemon: tuple[Devnet, int],
) -> None:
    devnet, port = daemon
    rng = random.Random(SEED)
    gen = Generator(rng, ROLLUPS)
    runner = Runner(devnet, port)
    stats = runner.stats
    started = time.monotonic()
    # gas bombs each hold a worker for the call time limit: a fixed few per run
    bombs = {rng.randrange(REQUESTS) for _ in range(max(4, REQUESTS // 4000))}
    over_limit = {rng.randrange(REQUESTS) for _ in range(2)}
    transfers = 0  # valid transfers accepted (nonces 0..transfers-1 of the first dev account)
    sent_value = 0
    clean_bursts = 0
    try:
        before = runner.fingerprint()
        while stats.requests < REQUESTS:
            burst_end = stats.requests + BURST
            dirty = False
            while stats.requests < burst_end:
                n = stats.requests
                over_ws = rng.random() < 0.1
                transfer = False
                if n in bombs:
                    probe = gen.gas_bomb()
                elif n in over_limit:
                    probe = gen.probe(gen.obj("eth_chainId", ["x" * (MAX_BODY_BYTES + 1)]))
                    over_ws = False
                elif rng.random() < 0.003:
                    probe, transfer = gen.transfer(transfers), True
                    over_ws = False
                elif rng.random() < 0.3:
                    probe = gen.valid_read()
                else:
                    probe = gen.hostile()
                answers = runner.send(probe, over_ws)
                if transfer:
                    assert answers and "result" in answers[0], (answers, devnet.output[-4000:])
                    transfers += 1
                    sent_value += 1000 + transfers - 1
                method_of = {json.dumps(i): m for i, has, m in probe.items or [] if has}
                for a in answers:
                    method = method_of.get(json.dumps(a.get("id")), "?")
                    if "result" in a and method in STATE_CHANGING:
                        dirty = True
                        stats.mix["changed state: " + method] += 1
            after = runner.fingerprint()
            if not dirty:
                clean_bursts += 1
                assert after == before, f"state changed by invalid requests: {before} -> {after}"
            before = after
        # the valid transfers all landed, and nothing else moved the recipient's balance
        final = runner.fingerprint()[0][3]
        assert int(final[-2], 16) == sent_value, (final, sent_value)
        assert int(final[1], 16) == transfers, (final, transfers)
    finally:
        runner.close()
    took = time.monotonic() - started
    assert devnet.proc.poll() is None, devnet.output[-3000:]
    print(
        f"\nhostile input: {stats.requests} requests in {stats.messages} messages, "
        f"{took:.1f}s ({stats.requests / took:.0f}/s), seed {SEED}; "
        f"slowest {stats.slowest[1]} {stats.slowest[0] * 1000:.0f} ms; "
        f"{clean_bursts} clean bursts fingerprinted"
    )
    print("answers:", dict(sorted(stats.mix.items(), key=lambda kv: -kv[1])))
    assert not stats.failures, (
        f"{len(stats.failures)} failures:\n"
        + "\n".join(stats.failures[:30])
        + "\n--- daemon output:\n"
        + devnet.output[-6000:]
    )

"""``GET /metrics``: Prometheus text that prometheus_client's own parser reads, whose
counters move with the traffic the test sends (pre -> action -> post), plus the slot log
line and the explorer's read-only methods refusing bad input."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.explorer.traffic import Traffic
from xseqd.config import Settings
from xseqd.node import NodeThread


@pytest.fixture(scope="module")
def node() -> Iterator[NodeThread]:
    thread = NodeThread(Settings.for_tests())
    thread.start()
    yield thread
    thread.stop()


@pytest.fixture(scope="module")
def base(node: NodeThread) -> str:
    assert node.endpoints is not None
    return node.endpoints.base_url


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(base: str) -> Samples:
    """Every sample of /metrics by (name, sorted labels)."""
    answer = httpx.get(f"{base}/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(answer.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def rpc(base: str, method: str, *params: object) -> dict[str, object]:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    return dict(httpx.post(base, json=body).json())


def test_counters_move_with_the_traffic(base: str) -> None:
    traffic = Traffic(base)
    before = scrape(base)
    traffic.deploy_counter()
    included = traffic.cross_bundle()
    aborted = traffic.aborted_bundle()
    traffic.transfer(901)
    for _ in range(3):
        rpc(base, "xseq_slotNumber")
    rpc(base, "xseq_getBundle", "0x1234")  # invalid params: an error outcome
    after = scrape(base)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert included.status == "included" and aborted.status == "aborted"
    assert moved("xseqd_slots_sealed_total") == 4  # deploy, two bundles, one transfer
    assert moved("xseqd_items_total", kind="bundle", status="included") == 1
    assert moved("xseqd_items_total", kind="bundle", status="aborted") == 1
    assert moved("xseqd_items_total", kind="transaction", status="included") == 2
    assert moved("xseqd_bundle_aborts_total", reason="reverted") == 1
    assert moved("xseqd_messages_total", source="901", destination="902", outcome="delivered") == 1
    # 901: the mailbox leg and the transfer; 902: deploy, increment leg and the delivery
    assert moved("xseqd_rollup_transactions_total", chain_id="901") == 2
    assert moved("xseqd_rollup_transactions_total", chain_id="902") == 3
    assert moved("xseqd_rollup_gas_used_total", chain_id="901") > 21_000
    assert moved("xseqd_rpc_requests_total", method="xseq_sendBundle", outcome="ok") == 2
    assert moved("xseqd_rpc_requests_total", method="xseq_slotNumber", outcome="ok") == 3
    assert moved("xseqd_rpc_requests_total", method="xseq_getBundle", outcome="error") == 1
    assert moved("xseqd_rpc_requests_total", method="eth_sendRawTransaction", outcome="ok") == 2
    assert moved("xseqd_rpc_request_seconds_count", method="xseq_slotNumber") == 3
    assert value(after, "xseqd_head_slot") == value(before, "xseqd_head_slot") + 4
    # each ordered item is written to the log before its receipt goes out
    assert moved("xseqd_log_commit_seconds_count", operation="item") == 4
    assert moved("xseqd_log_commit_seconds_count", operation="sealed") == 4


def test_subscriptions_are_counted_while_open(base: str) -> None:
    from websockets.sync.client import connect

    before = value(scrape(base), "xseqd_open_subscriptions")
    ws_url = base.replace("http", "ws") + "/rollup/901"
    with connect(ws_url) as ws:
        ws.send('{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]}')
        assert "result" in ws.recv(timeout=10)
        assert value(scrape(base), "xseqd_open_subscriptions") == before + 1
    filter_id = rpc(f"{base}/rollup/902", "eth_newBlockFilter")["result"]
    assert value(scrape(base), "xseqd_open_filters") >= 1
    rpc(f"{base}/rollup/902", "eth_uninstallFilter", filter_id)


def test_a_slot_line_per_sealed_slot(base: str, caplog: pytest.LogCaptureFixture) -> None:
    traffic = Traffic(base)
    traffic.counter = traffic.deploy_counter()
    with caplog.at_level(logging.INFO, logger="xseqd.slots"):
        sent = traffic.cross_bundle(value=10**15)
        aborted = traffic.aborted_bundle()
        for _ in range(50):
            lines = [r.getMessage() for r in caplog.records if r.name == "xseqd.slots"]
            if len(lines) >= 2:
                break
            time.sleep(0.02)
    short = sent.bundle_hash[:6]
    assert f"slot {sent.slot}  901: 1 tx  902: 2 tx  bundle {short}…✓  msg 901→902 ✓" in lines
    failed = [line for line in lines if line.startswith(f"slot {aborted.slot} ")]
    assert failed and f"bundle {aborted.bundle_hash[:6]}…✗ leg 1: execution reverted" in failed[0]


@pytest.mark.parametrize(
    "method,params",
    [
        ("xseq_recentSlots", [{"count": 10**6}]),
        ("xseq_recentSlots", ["nope"]),
        ("xseq_slotItems", ["ten"]),
        ("xseq_getTransaction", ["0x12"]),
        ("xseq_addressActivity", [{"chainId": 901, "address": "0x12"}]),
        ("xseq_addressActivity", [{"chainId": 999, "address": "0x" + "11" * 20}]),
        ("xseq_addressActivity", [{"address": "0x" + "11" * 20}]),
        ("xseq_search", [42]),
    ],
)
def test_bad_input_is_invalid_params(base: str, method: str, params: list[object]) -> None:
    head = rpc(base, "xseq_slotNumber")["result"]
    answer = rpc(base, method, *params)
    assert answer.get("error", {}).get("code") == -32602, answer  # type: ignore[union-attr]
    assert rpc(base, "xseq_slotNumber")["result"] == head

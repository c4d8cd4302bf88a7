"""The explorer in a real headless Chromium (Debian's ``chromium``, driven over CDP) against
a real devnet started by the test: the home page shows a bundle sent while it is open
(live, over the WebSocket), then a user clicks slot -> bundle -> leg on the other rollup
-> message -> delivery, and searches by hash. Screenshots are saved under the test's tmp
dir (and ``artifacts/explorer/`` when XSEQD_ARTIFACTS=1) and checked to be real PNGs."""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.explorer.cdp import Browser
from tests.explorer.traffic import Traffic
from xseqd.config import Settings
from xseqd.node import NodeThread

ROOT = Path(__file__).resolve().parent.parent.parent


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


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    b = Browser()
    yield b
    b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("XSEQD_ARTIFACTS"):
        return ROOT / "artifacts" / "explorer"
    return tmp_path_factory.mktemp("screenshots")


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def check_shot(path: Path, min_width: int) -> None:
    width, height = png_size(path)
    assert width >= min_width and height > 200, (path, width, height)
    assert path.stat().st_size > 10_000, f"{path} looks empty ({path.stat().st_size} bytes)"


def text(browser: Browser) -> str:
    return str(browser.eval("document.getElementById('view').innerText"))


def test_static_files_are_served_and_confined(base: str) -> None:
    page = httpx.get(f"{base}/explorer")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert '<script src="/explorer/explorer.js">' in page.text
    script = httpx.get(f"{base}/explorer/explorer.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "http" not in script.text.split("\n", 1)[0]  # no CDN in sight
    for bad in ("..%2Fnode.py", "explorer.py", "nope.js", "%2e%2e%2fxseqd.db"):
        assert httpx.get(f"{base}/explorer/{bad}").status_code == 404, bad


def test_a_bundle_appears_live_then_click_through_to_the_delivery(
    base: str, browser: Browser, shots: Path
) -> None:
    traffic = Traffic(base)
    traffic.deploy_counter()
    browser.goto(f"{base}/explorer")
    browser.wait_for("document.querySelectorAll('tr.slot-row').length >= 2")
    browser.wait_for("document.getElementById('live').textContent === 'live'")
    head_before = browser.eval("Number(document.querySelector('tr.slot-row').dataset.slot)")

    # pre: the page is open; action: a bundle is sent by another client; post: its slot
    # shows up on the page without a reload (over the WebSocket subscription)
    sent = traffic.cross_bundle()
    assert sent.status == "included" and sent.slot > head_before
    browser.wait_for(
        f"document.querySelector('tr.slot-row[data-slot=\"{sent.slot}\"]') !== null", timeout=10
    )
    row = browser.eval(
        f"document.querySelector('tr.slot-row[data-slot=\"{sent.slot}\"]').innerText"
    )
    assert "1 bundle" in row and "1 msg" in row
    assert browser.eval("performance.getEntriesByType('navigation').length") == 1  # no reload
    check_shot(browser.screenshot(shots / "home.png"), 1280)

    # slot page: the bundle, its legs on both rollups, the message it sent
    browser.click(f'tr.slot-row[data-slot="{sent.slot}"] a[data-test=slot-row-link]')
    browser.wait_route(f"#/slot/{sent.slot}")
    browser.wait_for("document.querySelector('[data-test=item][data-kind=bundle]') !== null")
    slot_text = text(browser)
    assert f"Slot {sent.slot}" in slot_text and "included" in slot_text
    assert sent.legs[0][:8] in slot_text and sent.legs[1][:8] in slot_text
    check_shot(browser.screenshot(shots / "slot.png", full_page=True), 1280)

    # -> bundle page
    browser.click("[data-test=item][data-kind=bundle] a[data-test=bundle-link]")
    browser.wait_route(f"#/bundle/{sent.bundle_hash}")
    browser.wait_for("document.querySelectorAll('[data-test=leg]').length === 2")
    bundle_text = text(browser)
    assert sent.bundle_hash in bundle_text and "included" in bundle_text
    check_shot(browser.screenshot(shots / "bundle.png"), 1280)

    # -> the leg on the other rollup (902)
    browser.click("[data-test=leg][data-chain='902'] a[data-test=leg-link]")
    browser.wait_route(f"#/tx/{sent.legs[1]}")
    leg_text = text(browser)
    assert sent.legs[1] in leg_text and "success" in leg_text
    check_shot(browser.screenshot(shots / "leg-902.png"), 1280)

    # back on the bundle, -> the message 901 -> 902
    browser.send("Page.navigate", url=f"{base}/explorer#/bundle/{sent.bundle_hash}")
    browser.wait_route(f"#/bundle/{sent.bundle_hash}")
    browser.click("a[data-test=message-link]")
    browser.wait_for("(document.getElementById('view').dataset.route || '').startsWith('#/mes')")
    browser.wait_for("document.querySelector('[data-test=message-flow]') !== null")
    message_id = browser.eval("location.hash.split('/')[2]")
    message = httpx.post(
        base, json={"jsonrpc": "2.0", "id": 1, "method": "xseq_getMessage", "params": [message_id]}
    ).json()["result"]
    assert message["source"] == 901 and message["destination"] == 902
    assert message["originTx"] == sent.legs[0]
    message_text = text(browser)
    assert "delivered" in message_text and "Destination" in message_text
    check_shot(browser.screenshot(shots / "message.png"), 1280)

    # -> the delivery: the mailbox's system transaction on 902, which names the message
    browser.click("a[data-test=delivery-link]")
    browser.wait_route(f"#/tx/{message['deliveryTx']}")
    browser.wait_for("document.querySelector('a[data-test=message-link]') !== null")
    delivery_text = text(browser)
    assert "delivers" in delivery_text and "success" in delivery_text
    check_shot(browser.screenshot(shots / "delivery.png"), 1280)


def test_an_aborted_bundle_shows_its_decoded_reason(
    base: str, browser: Browser, shots: Path
) -> None:
    traffic = Traffic(base)
    traffic.counter = traffic.counter or traffic.deploy_counter()
    sent = traffic.aborted_bundle()
    assert sent.status == "aborted"
    browser.goto(f"{base}/explorer#/slot/{sent.slot}")
    reason = browser.wait_for(
        "document.querySelector('[data-test=abort-reason]')?.innerText", timeout=10
    )
    assert "counter: always fails" in reason and "leg 1" in reason
    legs = browser.eval("[...document.querySelectorAll('[data-test=leg]')].map(e => e.innerText)")
    assert len(legs) == 2 and all("not included" in leg for leg in legs), legs
    assert "ran: success" in legs[0]  # leg 0 ran before leg 1 reverted; nothing was kept
    check_shot(browser.screenshot(shots / "aborted.png"), 1280)


@pytest.mark.parametrize("kind", ["bundle", "tx", "slot", "address", "message"])
def test_search_finds_each_kind(base: str, browser: Browser, kind: str) -> None:
    traffic = Traffic(base)
    traffic.counter = traffic.deploy_counter()
    sent = traffic.cross_bundle(value=10**15)
    slot = httpx.post(
        base, json={"jsonrpc": "2.0", "id": 1, "method": "xseq_getSlot", "params": [hex(sent.slot)]}
    ).json()["result"]
    query, expected = {
        "bundle": (sent.bundle_hash, f"#/bundle/{sent.bundle_hash}"),
        "tx": (sent.legs[1], f"#/tx/{sent.legs[1]}"),
        "slot": (str(sent.slot), f"#/slot/{sent.slot}"),
        "address": (traffic.counter, f"#/address/901/{traffic.counter.lower()}"),
        "message": (slot["messages"][0]["id"], f"#/message/{slot['messages'][0]['id']}"),
    }[kind]
    browser.goto(f"{base}/explorer#/")
    browser.eval("document.getElementById('search').value = ''")
    browser.type_text("#search", query)
    browser.press_enter()
    browser.wait_route(expected)
    assert not text(browser).startswith("Error")


def test_unknown_search_says_so(base: str, browser: Browser) -> None:
    route = f"#/search/0x{'ab' * 32}"
    browser.goto(f"{base}/explorer{route}")
    browser.wait_route(route)
    assert browser.eval("document.querySelector('#view h1').innerText") == "Nothing found"


def test_phone_width_has_no_horizontal_scroll(base: str, browser: Browser, shots: Path) -> None:
    browser.viewport(390, 844, mobile=True)
    try:
        for route in ("#/", "#/slot/1"):
            browser.goto(f"{base}/explorer{route}")
            browser.wait_route(route)
            overflow = browser.eval(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{route}: {overflow}px of horizontal scroll at phone width"
        check_shot(browser.screenshot(shots / "phone-slot.png"), 390)
    finally:
        browser.viewport(1280, 900)


def test_items_of_an_invalidated_slot_are_shown_as_such(
    node: NodeThread, base: str, browser: Browser, shots: Path
) -> None:
    """What the poster does when L1 says a challenge invalidated slots (l1/poster.py
    ``check_invalidation``: rewind with ``invalidated=True``), done directly here; the
    challenge game itself is tested in tests/l1/."""
    traffic = Traffic(base)
    traffic.counter = traffic.deploy_counter()
    sent = traffic.cross_bundle(value=10**15)
    seq = node.node.sequencer
    node.call(seq.dev.rewind_to, sent.slot - 1, True)
    route = f"#/slot/{sent.slot}"
    browser.goto(f"{base}/explorer{route}")
    browser.wait_route(route)
    shown = text(browser)
    assert "invalidated" in shown and sent.bundle_hash[:8] in shown
    assert (
        browser.eval("document.querySelectorAll('[data-test=invalidated] [data-test=item]').length")
        == 1
    )
    check_shot(browser.screenshot(shots / "invalidated.png"), 1280)
    # a new slot at that number: the row says some items there were invalidated
    traffic.transfer(901)
    browser.goto(f"{base}/explorer#/")
    browser.wait_route("#/")
    row = browser.wait_for(
        f"document.querySelector('tr.slot-row[data-slot=\"{sent.slot}\"]')?.innerText"
    )
    assert "1 invalidated" in row

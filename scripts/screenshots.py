"""Regenerate the explorer screenshots the README shows (``make screenshots``).

Starts a devnet settling on its own anvil, sends a cross-rollup bundle, an aborted bundle
and a transfer (tests/explorer/traffic.py), waits until the bundle's slot is safe on L1,
and has headless Chromium (tests/explorer/cdp.py) capture the slot page and the home page
into docs/img/.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.explorer.cdp import Browser  # noqa: E402
from tests.explorer.traffic import Traffic  # noqa: E402
from tests.procs import free_port  # noqa: E402
from xseqd.config import Settings  # noqa: E402
from xseqd.node import NodeThread  # noqa: E402

OUT = ROOT / "docs" / "img"


def main() -> int:
    node = NodeThread(Settings.for_tests(l1_rpc="", l1_port=free_port()))
    endpoints = node.start()
    browser = None
    try:
        base = endpoints.base_url
        traffic = Traffic(base)
        traffic.deploy_counter()
        traffic.transfer(901)
        sent = traffic.cross_bundle()
        traffic.aborted_bundle()
        traffic.transfer(902)
        deadline = time.time() + 30
        while node.node.poster is not None and node.node.poster.safe_slot < sent.slot:
            if time.time() > deadline:
                raise SystemExit("the bundle's slot was not posted to L1 within 30 s")
            time.sleep(0.2)
        browser = Browser(1280, 900)
        route = f"#/slot/{sent.slot}"
        browser.goto(f"{base}/explorer{route}")
        browser.wait_route(route)
        OUT.mkdir(parents=True, exist_ok=True)
        slot_png = browser.screenshot(OUT / "explorer-slot.png", full_page=True)
        browser.goto(f"{base}/explorer#/")
        browser.wait_route("#/")
        home_png = browser.screenshot(OUT / "explorer-home.png")
        for path in (slot_png, home_png):
            print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size:,} bytes)")
    finally:
        if browser is not None:
            browser.close()
        node.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

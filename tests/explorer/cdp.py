"""A real headless Chromium driven over the Chrome DevTools Protocol (CDP), for the
explorer tests and ``make screenshots``: Debian's ``chromium`` started with
``--remote-debugging-port=0``, one page target, commands over its WebSocket
(``websockets``' synchronous client). Clicks are real mouse events at the element's
centre (``Input.dispatchMouseEvent``), not ``element.click()``."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect

LISTENING = re.compile(r"DevTools listening on (ws://\S+)")


class BrowserError(Exception):
    """Raised when Chromium cannot be started or a page does not do what a test waits for."""


def chromium_binary() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise BrowserError("no chromium on PATH: `make install` installs Debian's chromium package")


class Browser:
    """One headless Chromium process with one page; ``close()`` ends it."""

    def __init__(self, width: int = 1280, height: int = 900) -> None:
        self.profile = tempfile.mkdtemp(prefix="xseqd-chromium-")
        self.proc = subprocess.Popen(
            [
                chromium_binary(),
                "--headless",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
                f"--user-data-dir={self.profile}",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-gpu",
                "--disable-extensions",
                "--disable-background-networking",
                "--disable-dev-shm-usage",
                "--no-sandbox",  # CI runs as root
                "--hide-scrollbars",
                "--font-render-hinting=none",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._next = 0
        self.ws: ClientConnection | None = None
        try:
            browser_ws = self._wait_listening(30.0)
            port = int(browser_ws.split(":")[2].split("/")[0])
            page = self._page_target(port)
            self.ws = connect(page, max_size=64 * 1024 * 1024, open_timeout=10, legacy=True)
            self.send("Page.enable")
            self.send("Runtime.enable")
            self.viewport(width, height)
        except BaseException:
            self.close()
            raise

    def _wait_listening(self, timeout: float) -> str:
        assert self.proc.stderr is not None
        deadline = time.time() + timeout
        seen = []
        while time.time() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                if self.proc.poll() is not None:
                    break
                continue
            seen.append(line)
            match = LISTENING.search(line)
            if match:  # from now on nobody reads stderr: drain it so chromium never blocks
                threading.Thread(target=self.proc.stderr.read, daemon=True).start()
                return match.group(1)
        raise BrowserError("chromium did not start: " + "".join(seen[-20:]))

    @staticmethod
    def _page_target(port: int) -> str:
        for _ in range(50):
            targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=5).json()
            pages = [t for t in targets if t.get("type") == "page"]
            if pages:
                return str(pages[0]["webSocketDebuggerUrl"])
            time.sleep(0.1)
        raise BrowserError("chromium has no page target")

    # -- protocol -------------------------------------------------------------------------

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """One CDP command; its result (events received meanwhile are dropped)."""
        assert self.ws is not None
        self._next += 1
        my_id = self._next
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=30))
            if message.get("id") == my_id:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))

    def eval(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = self.send(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    # -- what a test does -------------------------------------------------------------------

    def viewport(self, width: int, height: int, mobile: bool = False) -> None:
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=mobile,
        )

    def goto(self, url: str) -> None:
        self.send("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete'")

    def wait_for(self, expression: str, timeout: float = 15.0) -> Any:
        """Poll until ``expression`` is truthy in the page; its value."""
        deadline = time.time() + timeout
        last: Any = None
        while time.time() < deadline:
            try:
                last = self.eval(expression)
            except BrowserError:
                last = None
            if last:
                return last
            time.sleep(0.05)
        raise BrowserError(f"timed out waiting for {expression!r} (last {last!r})")

    def wait_route(self, route: str, timeout: float = 15.0) -> None:
        """Wait until the explorer has rendered the page of ``route`` (its URL fragment)."""
        self.wait_for(
            f"location.hash === {json.dumps(route)} && "
            f"document.getElementById('view').dataset.route === {json.dumps(route)}",
            timeout,
        )

    def click(self, selector: str) -> None:
        """A real mouse click at the centre of the first element ``selector`` matches
        (scrolled into view first)."""
        box = self.wait_for(
            f"""(() => {{ const el = document.querySelector({json.dumps(selector)});
            if (!el) return null; el.scrollIntoView({{block: 'center'}});
            const r = el.getBoundingClientRect();
            return r.width && r.height ? {{x: r.x + r.width / 2, y: r.y + r.height / 2}} : null;
            }})()"""
        )
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send(
                "Input.dispatchMouseEvent",
                type=kind,
                x=box["x"],
                y=box["y"],
                button="left",
                clickCount=1,
            )

    def type_text(self, selector: str, text: str) -> None:
        self.click(selector)
        self.send("Input.insertText", text=text)

    def press_enter(self) -> None:
        for kind in ("keyDown", "keyUp"):
            self.send(
                "Input.dispatchKeyEvent",
                type=kind,
                key="Enter",
                code="Enter",
                windowsVirtualKeyCode=13,
                text="\r" if kind == "keyDown" else "",
            )

    def screenshot(self, path: Path, full_page: bool = False) -> Path:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
            size = self.eval(
                "({w: document.documentElement.scrollWidth,"
                " h: document.documentElement.scrollHeight})"
            )
            params["clip"] = {"x": 0, "y": 0, "width": size["w"], "height": size["h"], "scale": 1}
        data = base64.b64decode(self.send("Page.captureScreenshot", **params)["data"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def close(self) -> None:
        if self.ws is not None:
            try:
                self.ws.close()
            except Exception:
                pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        shutil.rmtree(self.profile, ignore_errors=True)

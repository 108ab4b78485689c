"""One headless Chromium (Debian's /usr/bin/chromium) driven over the DevTools protocol, through
aiohttp's websocket client: pages at a chosen size, scripts evaluated in the page (DevTools is not
bound by the page's CSP), virtual time, screenshots, and axe-core (from npm: `make axe`)."""

from __future__ import annotations

import asyncio
import atexit
import base64
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
AXE = ROOT / ".tools" / "node_modules" / "axe-core" / "axe.min.js"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--font-render-hinting=none", "--remote-debugging-port=0", "about:blank"]

# Layout facts, measured in the page: horizontal overflow, and every label whose box is narrower
# than its text on one line (a label that wraps: 停/机/时/间).
FACTS = """(() => {
  const labels = [...document.querySelectorAll(%s)].filter(e => e.offsetParent !== null && e.textContent.trim());
  const narrow = [];
  for (const el of labels) {
    const probe = el.cloneNode(true);
    const cs = getComputedStyle(el);
    Object.assign(probe.style, {position: 'absolute', visibility: 'hidden', whiteSpace: 'nowrap', width: 'auto',
                                display: 'inline-block', font: cs.font, letterSpacing: cs.letterSpacing,
                                padding: cs.padding, border: cs.border});
    document.body.appendChild(probe);
    const need = probe.getBoundingClientRect().width;
    probe.remove();
    const have = el.getBoundingClientRect().width;
    if (have + 0.5 < need) narrow.push({text: el.textContent.trim(), have, need});
  }
  const ids = [...document.querySelectorAll('[id]')].map(e => e.id);
  return {scrollWidth: document.scrollingElement.scrollWidth, innerWidth: window.innerWidth, labels: labels.length,
          narrow, duplicateIds: ids.filter((id, i) => ids.indexOf(id) !== i)};
})()"""
LABELS = '"dt, .cdlabel, .tag, .label, button, th, summary h3"'


class Browser:
    """A Chromium process and one tab, driven synchronously (each call runs the protocol to its answer)."""

    def __init__(self) -> None:
        assert CHROMIUM is not None
        self.profile = tempfile.TemporaryDirectory(prefix="chromium-", ignore_cleanup_errors=True)
        self.process = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={self.profile.name}"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert self.process.stderr is not None
        atexit.register(self.process.kill)  # never outlive the tests, even when they fail before close()
        url = ""
        for line in self.process.stderr:
            found = re.search(r"DevTools listening on (ws://\S+)", line)
            if found:
                url = found.group(1)
                break
        assert url, "chromium did not start its DevTools endpoint"
        self.loop = asyncio.new_event_loop()
        self.next_id = 0
        self.events: list[dict[str, Any]] = []
        self.session = self.loop.run_until_complete(self._open(url))
        self.target = ""
        self.tab()

    def tab(self) -> None:
        """Start over in a new tab (virtual time, once paused, stays with its tab)."""
        self.virtual = False
        if self.target:
            self.call("Target.closeTarget", {"targetId": self.target}, browser=True)
        self.target = self.call("Target.createTarget", {"url": "about:blank"}, browser=True)["targetId"]
        self.sid = self.call("Target.attachToTarget", {"targetId": self.target, "flatten": True},
                             browser=True)["sessionId"]
        self.call("Page.enable")
        self.call("Runtime.enable")

    async def _open(self, url: str) -> aiohttp.ClientSession:
        session = aiohttp.ClientSession()
        self.ws = await session.ws_connect(url, max_msg_size=0)
        return session

    async def _call(self, method: str, params: dict[str, Any], browser: bool) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if not browser:
            message["sessionId"] = self.sid
        await self.ws.send_str(json.dumps(message))
        while True:
            reply = json.loads((await self.ws.receive(timeout=60)).data)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            if "method" in reply:
                self.events.append(reply)

    async def _wait(self, method: str, timeout: float) -> dict[str, Any]:
        while True:
            for i, event in enumerate(self.events):
                if event["method"] == method:
                    return self.events.pop(i)
            reply = json.loads((await self.ws.receive(timeout=timeout)).data)
            if "method" in reply:
                self.events.append(reply)

    def call(self, method: str, params: dict[str, Any] | None = None, browser: bool = False) -> dict[str, Any]:
        return self.loop.run_until_complete(self._call(method, params or {}, browser))

    def wait(self, method: str, timeout: float = 60) -> dict[str, Any]:
        return self.loop.run_until_complete(self._wait(method, timeout))

    def size(self, width: int, height: int, dark: bool = False) -> None:
        """Set the viewport (a phone below 600 px) and the colour scheme, for this tab."""
        self.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1,
                                                         "mobile": width < 600})
        self.call("Emulation.setEmulatedMedia", {"features": [
            {"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]})

    def open(self, url: str) -> None:
        """Load a page and wait for its load event."""
        self.events.clear()
        self.call("Page.navigate", {"url": url})
        self.wait("Page.loadEventFired")

    def run(self, expression: str) -> Any:
        """Evaluate in the page (promises awaited) and return the value."""
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True})
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def advance(self, milliseconds: int, start: float | None = None) -> None:
        """Let ``milliseconds`` of virtual time pass in the page: timers fire, Date moves; the first
        call may set the page's clock (``start``, Unix seconds)."""
        self.events.clear()
        self.virtual = True
        params: dict[str, Any] = {"policy": "advance", "budget": milliseconds}
        if start is not None:
            params["initialVirtualTime"] = start
        self.call("Emulation.setVirtualTimePolicy", params)
        self.wait("Emulation.virtualTimeBudgetExpired")

    def facts(self, labels: str = LABELS) -> dict[str, Any]:
        value: dict[str, Any] = self.run(FACTS % labels)
        return value

    def fonts(self, selector: str) -> list[str]:
        """Return the names of the fonts the first element matching ``selector`` is drawn with."""
        self.call("DOM.enable")
        self.call("CSS.enable")
        root = self.call("DOM.getDocument")["root"]["nodeId"]
        node = self.call("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        return [f["familyName"] for f in self.call("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]]

    def axe(self) -> list[dict[str, Any]]:
        """Run axe-core on the page; return its serious and critical violations."""
        self.run(AXE.read_text(encoding="utf-8"))
        self.call("Runtime.evaluate", {"expression": (
            "window.__axe = null; axe.run(document).then(r => { window.__axe = r.violations"
            ".filter(v => ['serious', 'critical'].includes(v.impact))"
            ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))})); })")})
        for _ in range(120):  # axe waits on timers: under virtual time, let time pass until it is done
            found: list[dict[str, Any]] | None = self.run("window.__axe")
            if found is not None:
                return found
            if self.virtual:
                self.advance(500)
            else:
                self.loop.run_until_complete(asyncio.sleep(0.25))
        raise TimeoutError("axe-core did not finish")

    def screenshot(self, path: Path, full: bool = True) -> None:
        """Save the page as PNG (the whole page, or the viewport)."""
        params: dict[str, Any] = {"format": "png"}
        if full:
            size = self.call("Page.getLayoutMetrics")["cssContentSize"]
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1})
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", params)["data"]))

    def close(self) -> None:
        try:
            self.loop.run_until_complete(self.ws.close())
            self.loop.run_until_complete(self.session.close())
        finally:
            self.loop.close()
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.profile.cleanup()

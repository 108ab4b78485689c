"""The status page in headless Chromium (Debian's chromium): windows, ticking countdowns,
subscribe links, hostile text shown as text."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from daemonproc import Daemon

from outage_daemon.core.timerules import UTC

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def dom(url: str, profile: Path, budget_ms: int) -> str:
    """The DOM after ``budget_ms`` of (virtual) time: page scripts run, timers fire."""
    result = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}",  # type: ignore[list-item]
                             "--dump-dom", url], capture_output=True, text=True, timeout=120, check=True)
    return result.stdout


def seconds(text: str) -> int:
    days = re.match(r"(\d+)天 ", text)
    h, m, s = (int(x) for x in text.split()[-1].split(":"))
    return (int(days.group(1)) if days else 0) * 86400 + h * 3600 + m * 60 + s


def test_status_page_in_chromium(tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    config = tmp_path / "c.yaml"
    config.write_text(f"""
timezone: Asia/Shanghai
calendar: {{name: 停机日历, base_url: "https://status.example.com/ops"}}
windows:
  - id: down-now
    system: "<b>发票系统</b>"
    title: "<img src=x onerror=alert(1)>"
    start: {now - timedelta(hours=1):%Y-%m-%dT%H:%M:%S}Z
    end: {now + timedelta(hours=2):%Y-%m-%dT%H:%M:%S}Z
  - {{id: next, system: ERP, start: "{now + timedelta(days=3):%Y-%m-%dT%H:%M:%S}Z",
     end: "{now + timedelta(days=3, hours=2):%Y-%m-%dT%H:%M:%S}Z", status: tentative}}
  - {{id: done, system: 总账, start: "{now - timedelta(days=2):%Y-%m-%dT%H:%M:%S}Z",
     end: "{now - timedelta(days=2) + timedelta(hours=1):%Y-%m-%dT%H:%M:%S}Z"}}
""")
    daemon = Daemon(config, tmp_path / "state", watchdog_usec=None)
    try:
        assert daemon.read_notify("READY=1"), daemon.output()
        early = dom(daemon.url + "/", tmp_path / "p1", 200)
        late = dom(daemon.url + "/", tmp_path / "p2", 6200)
    finally:
        assert daemon.stop() == 0
    sections = re.findall(r"<h2>(.*?)</h2>", early)
    assert sections == ["正在停机", "即将停机", "近期已结束"]
    ids = re.findall(r'<div class="w (\w+)" id="([\w-]+)"', early)
    assert ids == [("current", "down-now"), ("upcoming", "next"), ("past", "done")]
    # Hostile text is text: escaped in the DOM, and no element was created from it.
    assert "&lt;img src=x onerror=alert(1)&gt;" in early and "<img" not in early and "<b>发票" not in early
    # Subscribe links: webcal:// for Apple and Outlook, Google's add-by-URL link (issue 14: no longer a link to
    # the https feed, which a browser downloads as a copy; that URL is shown to copy instead).
    assert 'href="webcal://status.example.com/ops/calendar.ics"' in early
    assert 'href="https://calendar.google.com/calendar/r?cid=webcal://status.example.com/ops/calendar.ics"' in early
    assert "<code>https://status.example.com/ops/calendar.ics</code>" in early
    # The countdowns were filled in by the script, and tick: later renders show less time left.
    before = re.findall(r'<span class="cd"[^>]*>([^<]+)</span>', early)
    after = re.findall(r'<span class="cd"[^>]*>([^<]+)</span>', late)
    assert len(before) == len(after) == 2 and "…" not in before
    restore, stop = seconds(before[0]), seconds(before[1])
    assert abs(restore - 2 * 3600) < 60 and abs(stop - 3 * 86400) < 60
    for b, a in zip(before, after, strict=True):
        assert 4 <= seconds(b) - seconds(a) <= 8, (b, a)

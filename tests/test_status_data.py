"""What the status page shows, computed without a browser (formats/status.py is pure), and the page's
HTML against hostile config text."""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pageserver import NOW, Server

from outage_daemon.core import i18n
from outage_daemon.core.model import Config
from outage_daemon.core.timerules import UTC
from outage_daemon.formats.status import page

WEEKLY = """
timezone: Asia/Shanghai
language: {language}
calendar: {{base_url: "https://status.example.com/ops"{name}}}
windows:
  - {{id: weekly, system: DB, start: "2026-01-04 02:00", end: "2026-01-04 04:00", repeat: "FREQ=WEEKLY;BYDAY=SU"}}
  - {{id: gone, system: HR, start: "2026-12-08 20:00", end: "2026-12-08 22:00", status: cancelled}}
"""


@pytest.mark.parametrize(("now", "tone", "first"), [
    (datetime(2026, 12, 5, 12, tzinfo=UTC), "next", "weekly"),   # Saturday 20:00 in Shanghai: next is Sunday 02:00
    (datetime(2026, 12, 5, 18, 30, tzinfo=UTC), "down", "weekly"),  # Sunday 02:30: down now
])
def test_banner_cards_and_repeats_shown_once(config_of: Callable[[str], Config], now: datetime, tone: str,
                                             first: str) -> None:
    config = config_of(WEEKLY.format(language="zh-CN", name=""))
    shown = page(config, now, "https://status.example.com/ops")
    assert shown.banner.tone == tone and shown.banner.card is not None and shown.banner.card.window.id == first
    assert [c.window.id for c in shown.cards] == ["weekly", "gone"]  # a weekly window once; the cancelled one kept
    weekly = shown.cards[0]
    assert weekly.rhythm == "每周日 02:00–04:00" and weekly.following is not None
    assert weekly.following - weekly.start == timedelta(days=7)
    assert [lane.system for lane in shown.lanes] == ["DB", "HR"] and len(shown.lanes[0].bars) == 4
    assert shown.lanes[1].bars[0].status == "cancelled"
    assert shown.name == "计划停机日历"  # the schema's default name, in the page's language


def test_all_normal_when_nothing_is_ahead(config_of: Callable[[str], Config]) -> None:
    config = config_of(WEEKLY.format(language="en", name=", name: Outages"))
    shown = page(config, datetime(2026, 12, 5, 12, tzinfo=UTC) + timedelta(days=400), "https://x.example.com")
    assert shown.banner.tone == "next"  # the weekly window never ends
    config = config_of(WEEKLY.format(language="en", name=", name: Outages").replace('repeat: "FREQ=WEEKLY;BYDAY=SU"',
                                                                                   'status: confirmed'))
    shown = page(config, datetime(2027, 6, 1, tzinfo=UTC), "https://x.example.com")
    assert shown.banner.tone == "ok" and shown.cards == () and shown.name == "Outages"


def test_subscribe_links_per_feed(config_of: Callable[[str], Config]) -> None:
    config = config_of(WEEKLY.format(language="en", name=', name: "Ops & Co", feeds: [{name: fin, title: "Fin <b>"}, '
                                     "{name: secret, token_env: T}]"))
    main, fin, secret = page(config, NOW, "https://status.example.com/ops").feeds
    assert main.https == "https://status.example.com/ops/calendar.ics"
    assert main.webcal == "webcal://status.example.com/ops/calendar.ics"
    assert main.google == "https://calendar.google.com/calendar/r?cid=webcal://status.example.com/ops/calendar.ics"
    assert main.outlook == ("https://outlook.live.com/calendar/0/addfromweb?url=https%3A%2F%2Fstatus.example.com%2Fops"
                            "%2Fcalendar.ics&name=Ops%20%26%20Co")
    assert main.office.startswith("https://outlook.office.com/calendar/0/addfromweb?url=")
    assert fin.https.endswith("/feeds/fin.ics") and fin.outlook.endswith("&name=Fin%20%3Cb%3E") and not fin.private
    assert secret.private and secret.anchor == "_feed-secret"


def test_hostile_text_on_the_page_is_text(config_of: Callable[[str], Config], tmp_path: Path) -> None:
    hostile = '<script>alert(1)</script>"><img src=x>'
    text = (WEEKLY.format(language="zh-CN", name=f", name: '{hostile}', feeds: [{{name: fin, title: '{hostile}'}}]")
            + f"  - id: bad\n    system: '{hostile}'\n    start: 2026-12-06 08:00\n    end: 2026-12-06 09:00\n"
            + f"    description: '{hostile}'\n    alternatives: '{hostile}'\n    contacts: '{hostile}'\n")
    server = Server(config_of(text), datetime(2026, 12, 5, 12, tzinfo=UTC))
    try:
        with urllib.request.urlopen(server.url) as response:  # noqa: S310 - loopback
            html = response.read().decode()
            csp = response.headers["Content-Security-Policy"]
    finally:
        server.close()
    assert "<script>alert" not in html and "<img src=x>" not in html and "&lt;script&gt;alert(1)" in html
    assert html.count("<script>") == 1  # the page's own, allowed by its hash
    # no external assets: nothing is loaded from anywhere (links to calendars are links, not assets)
    assert not re.search(r"<link|<[a-z]+[^<>]*\ssrc=|url\(|@import", html)
    assert "default-src 'none'" in csp and "script-src 'sha256-" in csp and "connect-src 'self'" in csp


def test_rhythm_words() -> None:
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    assert i18n.format_rule("FREQ=WEEKLY;BYDAY=MO,WE", start, start + timedelta(hours=1), "en") == \
        "Every Mon, Wed 09:00–10:00"
    assert i18n.format_rule("FREQ=DAILY", start, start + timedelta(hours=1), "zh-CN") == "每天 09:00–10:00"
    assert i18n.format_rule("FREQ=WEEKLY;INTERVAL=2", start, start + timedelta(hours=1), "zh-CN") == \
        "每周 09:00–10:00"

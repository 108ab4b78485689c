"""What people see (issue 14), in headless Chromium with CJK fonts, at a phone's 390×844 and a
desktop's 1280×900: the status page and every email kind, their layout facts measured in the DOM,
axe-core's verdict, and the page's countdown rolling over under virtual time."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from browser import AXE, CHROMIUM, Browser
from pageserver import NOW, Server, demo, email_html, words

from outage_daemon.core.kinds import Kind

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
SIZES = [(390, 844), (1280, 900)]
LANGUAGES = ["zh-CN", "en"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    b = Browser()
    yield b
    b.close()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    folder = tmp_path_factory.mktemp("demo")
    running = {lang: Server(demo(lang, folder)) for lang in LANGUAGES}
    yield running
    for server in running.values():
        server.close()


def show(browser: Browser, url: str, width: int, height: int, dark: bool = False, settle_ms: int = 1500) -> None:
    """Open ``url`` in a fresh tab at this size, its clock at the demo's NOW (virtual time)."""
    browser.tab()
    browser.size(width, height, dark)
    browser.open(url)
    browser.advance(settle_ms, NOW.timestamp())


def assert_laid_out(facts: dict[str, Any]) -> None:
    assert facts["scrollWidth"] <= facts["innerWidth"], f"horizontal overflow: {facts}"
    assert facts["labels"] > 0 and facts["narrow"] == [], f"labels narrower than their text: {facts['narrow']}"
    assert facts["duplicateIds"] == []


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("width", "height"), SIZES)
def test_page_layout(browser: Browser, servers: dict[str, Server], language: str, width: int, height: int) -> None:
    show(browser, servers[language].url, width, height)
    if language == "zh-CN":
        assert any("CJK" in f for f in browser.fonts("h1")), "CJK fonts are missing (.ci/run installs fonts-noto-cjk)"
    assert_laid_out(browser.facts())
    page = browser.run("""(() => {
      const box = e => e ? e.getBoundingClientRect() : null;
      const cards = [...document.querySelectorAll('.w')];
      const qr = document.querySelector('#_feed-calendar svg');
      return {
        banner: document.querySelector('#_banner').className, bannerText: document.querySelector('#_banner').innerText,
        lanes: [...document.querySelectorAll('.lane-name')].map(e => e.textContent),
        bars: [...document.querySelectorAll('.bar')].map(e => box(e).width),
        cards: cards.map(c => [c.id, c.className, c.dataset.status, c.querySelectorAll('.tag').length]),
        weekly: document.querySelectorAll('[id="weekly-db"]').length,
        rhythm: (document.querySelector('#weekly-db .rhythm') || {}).textContent,
        erp: document.querySelector('#erp-ledger-2026-12-05').innerText,
        notice: document.querySelector('#erp-ledger-2026-12-05 a').getAttribute('href'),
        qr: qr ? [box(qr).width, getComputedStyle(qr.closest('figure')).display] : null,
        links: [...document.querySelectorAll('#_feed-calendar .clients a')].map(a => a.getAttribute('href')),
        private: document.querySelector('#_feed-audit').textContent,
      };
    })()""")
    assert "banner-down" in page["banner"] and ("1个系统正在停机" if language == "zh-CN" else "1 down now") in page["bannerText"]
    assert re.search(r"\d\d:\d\d:\d\d", page["bannerText"])  # the restore's countdown
    assert page["lanes"] == [words(w, language) for w in ("ERP 财务模块", "核心数据库", "西安增值税发票管理系统", "人事系统")]
    assert len(page["bars"]) >= 7 and min(page["bars"]) >= 3  # four weekly bars and three one-offs, each visible
    # one card per window: the weekly window once, with its rhythm and next occurrence
    assert [c[0] for c in page["cards"]] == ["erp-ledger-2026-12-05", "weekly-db", "hr-2026-12-08", "vat-2026-12-12",
                                             "expense-2026-12-01"]
    assert page["weekly"] == 1 and page["rhythm"].startswith("每周日 02:00–04:00" if language == "zh-CN" else "Every Sun")
    # cancelled and tentative visible, each marked once
    assert {c[0]: (c[2], c[3]) for c in page["cards"]}["hr-2026-12-08"] == ("cancelled", 1)
    assert {c[0]: (c[2], c[3]) for c in page["cards"]}["vat-2026-12-12"] == ("tentative", 1)
    # what to do, on the card: description, alternatives, contacts, the notice link
    for text in ("升级总账模块并迁移历史凭证。", "紧急付款请走纸质审批单，停机结束后补录。", "财务系统组 分机 6021"):
        assert words(text, language) in page["erp"]
    assert page["notice"] == "https://intranet.example.com/notices/2026-118"
    assert ("（UTC+08:00）" if language == "zh-CN" else "(UTC+08:00)") in page["erp"]
    # subscribe: Google by URL, Outlook.com, Microsoft 365, webcal; a private feed shows no link
    assert page["links"][0] == "https://calendar.google.com/calendar/r?cid=webcal://status.example.com/calendar.ics"
    assert page["links"][1].startswith("https://outlook.live.com/calendar/0/addfromweb?url=https%3A%2F%2F")
    assert page["links"][2].startswith("https://outlook.office.com/calendar/0/addfromweb?url=")
    assert page["links"][3].startswith("webcal://") and page["links"][3].endswith("/calendar.ics")
    assert "token" not in page["private"] and ("专用链接" in page["private"] or "private link" in page["private"])
    # the QR code: drawn for a desktop, left out on a phone (it cannot scan itself)
    assert page["qr"] is not None
    if width >= 1280:
        assert page["qr"][0] >= 120 and page["qr"][1] != "none"
    else:
        assert page["qr"][1] == "none"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_subscribe_path_on_a_phone(browser: Browser, servers: dict[str, Server], language: str) -> None:
    """Issue 23: a link to subscribing at the top, Android told how, the window down now not hidden
    behind the "now" line, and a weekly card's second date not called "next" beside its countdown."""
    show(browser, servers[language].url, 390, 844)
    page = browser.run("""(() => {
      const top = document.querySelector('.sub-top a'), box = top.getBoundingClientRect();
      const bar = document.querySelector('.bar.p-current'), b = bar.getBoundingClientRect();
      const hit = document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2);
      return {href: top.getAttribute('href'), topY: box.top, topBottom: box.bottom, height: window.innerHeight,
              barWidth: b.width, hitIsBar: hit === bar || bar.contains(hit),
              google: document.querySelector('#_feed-calendar .clients li .note').textContent,
              rhythm: document.querySelector('#weekly-db .rhythm').innerText,
              when: document.querySelector('#weekly-db .when').innerText};
    })()""")
    assert page["href"] == "#_subscribe" and page["topY"] >= 0 and page["topBottom"] <= page["height"] / 3, page
    assert page["barWidth"] >= 8 and page["hitIsBar"], page  # the 4-hour window down now, over the now line
    assert ("安卓" in page["google"]) if language == "zh-CN" else ("Android" in page["google"]), page["google"]
    counting = "12月6日" if language == "zh-CN" else "6 Dec"
    assert counting in page["when"] and counting not in page["rhythm"], page
    assert ("再下一次" in page["rhythm"]) if language == "zh-CN" else (" then " in page["rhythm"]), page["rhythm"]


@pytest.mark.skipif(not AXE.exists(), reason="axe-core is not installed (`make axe`)")
@pytest.mark.parametrize("dark", [False, True])
def test_page_has_no_serious_accessibility_violation(browser: Browser, servers: dict[str, Server], dark: bool) -> None:
    for language in LANGUAGES:
        show(browser, servers[language].url, 390, 844, dark)
        assert browser.axe() == [], (language, dark)


def test_countdown_rolls_over_under_virtual_time(browser: Browser, servers: dict[str, Server]) -> None:
    server = servers["zh-CN"]
    show(browser, server.url, 390, 844)
    state = """(() => { const c = document.getElementById('weekly-db');
      return [c.className, c.closest('section').dataset.phase, c.querySelector('.cdlabel').textContent,
              c.querySelector('.cd').textContent, document.querySelector('#_banner').innerText,
              c.querySelector('.when').innerText, c.querySelector('.rhythm').innerText]; })()"""
    before = browser.run(state)
    assert before[:3] == ["w upcoming", "upcoming", "距停机"] and before[3].startswith("16:29:")
    # The weekly window stops at 02:00 on Sunday, 16.5 hours later: let that time pass in the page.
    server.now = NOW + timedelta(hours=16, minutes=31)
    browser.advance((16 * 3600 + 31 * 60) * 1000)
    during = browser.run(state)
    assert during[:3] == ["w current", "current", "距恢复"], during
    assert during[3].startswith("01:5"), during  # back at 04:00, from 02:01
    assert during[4].startswith("1个系统正在停机") and "核心数据库 · 距恢复 01:5" in during[4]  # the ERP window ended at 12:00
    # After 04:00 the card asks /api/windows and takes the next Sunday's occurrence.
    server.now = NOW + timedelta(hours=18, minutes=40)
    browser.advance(2 * 3600 * 1000 + 10 * 60 * 1000)
    after = browser.run(state)
    assert after[:3] == ["w upcoming", "upcoming", "距停机"], after
    assert after[3].startswith("6天 21:"), after  # from 04:10 to the next Sunday, 02:00
    assert after[4].startswith("下一次停机：西安增值税发票管理系统") and "距停机" in after[4]  # the banner rolled on too
    # the words rolled on with the data: the card shows the next Sunday, and its "next" is the one after
    assert before[5].startswith("2026年12月6日（周日）02:00") and "12月13日" in before[6], before
    assert after[5].startswith("2026年12月13日（周日）02:00"), after
    assert "12月6日" not in after[6] and "12月20日" in after[6], after


def test_time_zone_toggle_shows_the_viewers_zone(browser: Browser, servers: dict[str, Server]) -> None:
    show(browser, servers["en"].url, 1280, 900)
    browser.call("Emulation.setTimezoneOverride", {"timezoneId": "Europe/Berlin"})
    first = "document.querySelector('#erp-ledger-2026-12-05 .when').innerText"
    assert browser.run(first).startswith("Sat 5 December 2026, 08:00 to 12:00 (UTC+08:00)")
    browser.run("document.getElementById('_tz').click()")
    shown = browser.run(first)
    assert "01:00" in shown and "05:00" in shown and "UTC+01:00" in shown, shown
    assert "Europe/Berlin" in browser.run("document.getElementById('_zone').innerText")
    browser.run("document.getElementById('_tz').click()")
    assert browser.run(first).startswith("Sat 5 December 2026, 08:00")


KINDS = [Kind.ANNOUNCED, Kind.BEFORE_STOP, Kind.AT_STOP, Kind.BEFORE_RESTORE, Kind.AT_RESTORE, Kind.RESCHEDULED,
         Kind.CANCELLED, Kind.TEST]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_email_kind_reads_well_on_a_phone_and_a_desktop(browser: Browser, servers: dict[str, Server],
                                                              tmp_path: Path, language: str) -> None:
    config = servers[language].state.config
    for kind in KINDS:
        page = tmp_path / f"{kind}.html"
        page.write_text(email_html(config, kind, timedelta(minutes=7)), encoding="utf-8")
        for width, height in SIZES:
            browser.tab()
            browser.size(width, height)
            browser.open(page.as_uri())
            facts = browser.facts()
            assert_laid_out(facts)
            labels = browser.run("[...document.querySelectorAll('.label')].map(e => e.getBoundingClientRect().height)")
            assert max(labels) < 30, (kind, width, labels)  # every label on one line, above its value
            if width == 390 and AXE.exists():
                assert browser.axe() == [], (kind, language)
    cancelled = email_html(config, Kind.CANCELLED)
    assert "<s>" in cancelled and ("无需任何操作" in cancelled or "no action needed" in cancelled)


def test_copy_button_copies_or_selects_the_feed_address(browser: Browser, servers: dict[str, Server]) -> None:
    show(browser, servers["en"].url, 1280, 900)
    browser.call("Browser.grantPermissions", {"permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]},
                 browser=True)
    browser.run("document.querySelector('#_feed-calendar button.copy').click()")
    browser.advance(500)
    label, selected = browser.run("[document.querySelector('#_feed-calendar button.copy').textContent,"
                                  " String(window.getSelection())]")
    assert label == "Copied" or selected == "https://status.example.com/calendar.ics", (label, selected)

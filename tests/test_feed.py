"""The feed: three parsers agree, the wire format holds, revisions move only with the data."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import icalendar
import pytest
from conftest import ROOT
from feedcheck import lint, parse_three

from outage_daemon.core.model import Config
from outage_daemon.core.revisions import revise, revise_all
from outage_daemon.core.timerules import UTC
from outage_daemon.formats import ical as feed
from outage_daemon.ledger import Ledger, default_url, open_ledger
from outage_daemon.publish import atomic_write

NOW = datetime(2026, 1, 1, tzinfo=UTC)

FEEDS = {
    "recurring": """
        timezone: Europe/Berlin
        windows:
          - {id: weekly, system: db, start: 2026-03-22 10:00, end: 2026-03-22 12:00,
             repeat: FREQ=WEEKLY;BYDAY=SU;UNTIL=20260419T100000, except: [2026-04-05]}
        """,
    "all-day": """
        windows:
          - {id: holiday, system: erp, start: 2026-10-01, end: 2026-10-07}
          - {id: day-repeat, system: erp, start: 2026-01-01, end: 2026-01-01, repeat: FREQ=MONTHLY;COUNT=3}
        """,
    "cancelled": """
        windows:
          - {id: gone, system: a, start: 2025-12-20 10:00, end: 2025-12-20 11:00, status: cancelled}
          - {id: long-gone, system: a, start: 2025-10-01 10:00, end: 2025-10-01 11:00, status: cancelled}
          - {id: maybe, system: a, start: 2026-02-01 10:00, end: 2026-02-01 11:00, status: tentative}
        """,
    "four-zones": """
        timezone: Asia/Shanghai
        windows:
          - {id: sh, system: a, start: 2026-03-08 01:00, end: 2026-03-08 05:00}
          - {id: ny, system: b, timezone: America/New_York, start: 2026-03-08 01:00, end: 2026-03-08 05:00}
          - {id: ber, system: c, timezone: Europe/Berlin, start: 2026-10-25 01:00, end: 2026-10-25 05:00}
          - {id: syd, system: d, timezone: Australia/Sydney, start: 2026-10-03 22:00, end: 2026-10-04 06:00}
          - {id: syd-weekly, system: d, timezone: Australia/Sydney, start: 2026-03-28 23:00,
             end: 2026-03-29 03:00, repeat: FREQ=WEEKLY;COUNT=30}
          - {id: utc, system: e, timezone: UTC, start: 2026-03-08 01:00, end: 2026-03-08 05:00}
        """,
    "hostile": """
        language: en
        calendar: {name: "Cal\\nX-INJECTED:1;a,b", description: "line\\nDESCRIPTION:x"}
        windows:
          - id: evil
            system: "sys;\\nATTENDEE:mailto:x@evil"
            title: "t\\nBEGIN:VALARM <script>alert(1)</script>"
            start: 2026-05-01 10:00
            end: 2026-05-01 11:00
            description: "a\\u2028b\\tc END:VEVENT\\nEND:VCALENDAR\\\\,;"
            services: ["a,b", "c;d"]
            contacts: "中文字符测试测试测试测试测试测试测试测试测试测试测试测试测试测试测试测试测试"
        """,
}


def render(config: Config, ledger: Ledger, now: datetime = NOW) -> bytes:
    revisions = revise_all(config, ledger.revisions(), now)
    ledger.save_revisions(revisions.values())
    return feed.render(config, revisions, now)


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return open_ledger(default_url(str(tmp_path / "state")))


def test_example_feed(ledger: Ledger) -> None:
    from outage_daemon.loader import load

    data = render(load(str(ROOT / "config" / "example.yaml")), ledger)
    lint(data)
    events = parse_three(data)
    assert [e[0] for e in events] == ["vat-2023-10-01@status.example.com", "vat-2023-10-10@status.example.com",
                                      "vat-2023-10-15@status.example.com", "weekly-db@status.example.com"]
    assert events[0][1:] == (date(2023, 10, 1), date(2023, 10, 8))  # all-day: exclusive DTEND
    assert events[1][2] == datetime(2023, 10, 12, 16, tzinfo=UTC)  # "2023-10-12 24:00"


@pytest.mark.parametrize("name", list(FEEDS))
def test_feeds_parse_alike_and_lint(config_of: Callable[[str], Config], ledger: Ledger, name: str) -> None:
    config = config_of(FEEDS[name])
    data = render(config, ledger)
    lint(data)
    events = parse_three(data)
    expected = {w.id for w in feed.published(config, NOW)}
    assert {uid.split("@")[0] for uid, _, _ in events} == expected
    for window in feed.published(config, NOW):
        [(_, start, end)] = [e for e in events if e[0].startswith(window.id + "@")]
        if window.all_day:
            assert (start, end) == (window.start.date(), window.end.date())
        else:
            assert (start, end) == (window.start.astimezone(UTC), window.end.astimezone(UTC))


def test_four_zones_times_across_dst(config_of: Callable[[str], Config], ledger: Ledger) -> None:
    events = {uid.split("@")[0]: (s, e) for uid, s, e in parse_three(render(config_of(FEEDS["four-zones"]), ledger))}
    # 01:00 to 05:00 local on the morning the clocks go forward is three hours in New York.
    assert events["ny"] == (datetime(2026, 3, 8, 6, tzinfo=UTC), datetime(2026, 3, 8, 9, tzinfo=UTC))
    assert events["ber"] == (datetime(2026, 10, 24, 23, tzinfo=UTC), datetime(2026, 10, 25, 4, tzinfo=UTC))
    assert events["syd"] == (datetime(2026, 10, 3, 12, tzinfo=UTC), datetime(2026, 10, 3, 19, tzinfo=UTC))
    assert events["sh"] == (datetime(2026, 3, 7, 17, tzinfo=UTC), datetime(2026, 3, 7, 21, tzinfo=UTC))


def test_recurrence_expands_alike(config_of: Callable[[str], Config], ledger: Ledger) -> None:
    import vobject

    config = config_of(FEEDS["recurring"])
    data = render(config, ledger).decode()
    unfolded = data.replace("\r\n ", "")
    assert "RRULE:FREQ=WEEKLY;UNTIL=20260419T080000Z;BYDAY=SU" in unfolded  # local 10:00 CEST in UTC
    assert "EXDATE;TZID=Europe/Berlin:20260405T100000" in unfolded
    [window] = config.windows
    ours = [o.start for o in window.occurrences(NOW, NOW + timedelta(days=365))]
    theirs = list(vobject.readOne(data).vevent.getrruleset())
    assert [t.astimezone(UTC) for t in theirs] == [o.astimezone(UTC) for o in ours]
    # Ten o'clock local on both sides of the change to summer time (29 March).
    assert [o.isoformat() for o in ours] == ["2026-03-22T10:00:00+01:00", "2026-03-29T10:00:00+02:00",
                                             "2026-04-12T10:00:00+02:00", "2026-04-19T10:00:00+02:00"]


def test_cancelled_kept_for_30_days(config_of: Callable[[str], Config], ledger: Ledger) -> None:
    data = render(config_of(FEEDS["cancelled"]), ledger).decode().replace("\r\n ", "")
    assert "UID:gone@" in data and "UID:long-gone@" not in data
    assert data.count("STATUS:CANCELLED") == 1 and data.count("STATUS:TENTATIVE") == 1
    assert "SUMMARY:【已取消】a" in data and "SUMMARY:【待定】a" in data


def test_hostile_text_cannot_inject(config_of: Callable[[str], Config], ledger: Ledger) -> None:
    config = config_of(FEEDS["hostile"])
    data = render(config, ledger)
    lint(data)
    # The config refuses CR, NUL and BEL; the renderer must survive them anyway.
    [window] = config.windows
    raw = dataclasses.replace(window, title="a\r\nBEGIN:VALARM\x00\x07\rX:1", contacts="\x1b[31m\r\n")
    worse = feed.render(dataclasses.replace(config, windows=(raw,)), revise_all(config, {}, NOW), NOW)
    lint(worse)
    assert parse_three(worse) == parse_three(data)
    worse_cal = icalendar.Calendar.from_ical(worse.decode())
    assert not worse_cal.walk("VALARM") and "X" not in worse_cal.walk("VEVENT")[0]
    cal = icalendar.Calendar.from_ical(data.decode())
    [ev] = cal.walk("VEVENT")
    assert not cal.walk("VALARM") and "ATTENDEE" not in ev and "X-INJECTED" not in cal
    assert [c.name for c in cal.subcomponents] == ["VEVENT"]
    assert str(ev["SUMMARY"]) == "sys; ATTENDEE:mailto:x@evil: t BEGIN:VALARM <script>alert(1)</script>"
    assert "<script>" in str(ev["SUMMARY"])  # text stays text; a calendar is not HTML
    assert b"\r\nX-WR-CALNAME:Cal X-INJECTED:1\\;a\\,b\r\n" in data  # one line, escaped as TEXT
    assert "END:VCALENDAR\\,;" in str(ev["DESCRIPTION"]) or "END:VCALENDAR\\\\,;" in str(ev["DESCRIPTION"])
    assert data.count(b"END:VCALENDAR") == 1 and data.count(b"BEGIN:VEVENT") == 1


def test_identical_input_identical_bytes_and_one_change_moves_one_event(
        write: Callable[..., Path], ledger: Ledger) -> None:
    from outage_daemon.loader import load

    body = "windows:\n" + "".join(
        f"  - {{id: w{i}, system: s{i}, start: 2026-05-0{i} 10:00, end: 2026-05-0{i} 11:00}}\n" for i in range(1, 6))
    first = render(load(str(write(body))), ledger)
    assert render(load(str(write(body))), ledger, NOW + timedelta(days=3)) == first  # later, unchanged
    later = NOW + timedelta(days=7)
    changed = render(load(str(write(body.replace("2026-05-03 11:00", "2026-05-03 12:00")))), ledger, later)

    def events(data: bytes) -> dict[str, bytes]:
        return {re.search(rb"UID:(w\d)", e).group(1).decode(): e  # type: ignore[union-attr]
                for e in data.split(b"BEGIN:VEVENT")[1:]}

    before, after = events(first), events(changed)
    assert [k for k in before if before[k] != after[k]] == ["w3"]
    assert b"SEQUENCE:0" in before["w3"] and b"SEQUENCE:1" in after["w3"]
    assert b"LAST-MODIFIED:20260108T000000Z" in after["w3"] and b"DTSTAMP:20260108T000000Z" in after["w3"]
    assert b"CREATED:20260101T000000Z" in after["w3"]


def test_cache_renders_only_what_changed(config_of: Callable[[str], Config]) -> None:
    config = config_of("windows:\n" + "".join(
        f"  - {{id: w{i}, system: s, start: 2026-05-01 {i:02d}:00, end: 2026-05-01 {i:02d}:30}}\n"
        for i in range(10)))
    revisions = revise_all(config, {}, NOW)
    cache: dict[str, bytes] = {}
    cold = feed.render(config, revisions, NOW, cache=cache)
    calls = []
    original = feed.event

    def counting(*args: object) -> icalendar.Event:
        calls.append(args[0])
        return original(*args)  # type: ignore[arg-type]

    feed.event = counting  # type: ignore[assignment]
    try:
        assert feed.render(config, revisions, NOW, cache=cache) == cold and calls == []
        bumped = dict(revisions, w4=revise(revisions["w4"], "w4", "other", NOW + timedelta(days=1)))
        feed.render(config, bumped, NOW, cache=cache)
    finally:
        feed.event = original
    assert [w.id for w in calls] == ["w4"]  # type: ignore[attr-defined]


def test_uid_domain_never_from_the_host(config_of: Callable[[str], Config]) -> None:
    assert config_of("windows: []\n").calendar.domain == "outage-daemon"
    assert config_of("calendar: {base_url: 'https://s.example.org/x'}\n").calendar.domain == "s.example.org"
    assert config_of("calendar: {base_url: 'https://s.example.org', domain: ex.net}\n").calendar.domain == "ex.net"


def test_extra_feed_filters_by_audience_and_system(config_of: Callable[[str], Config], ledger: Ledger) -> None:
    config = config_of("""
        audiences: {fin: {email: [f@example.com]}, ops: {email: [o@example.com]}}
        calendar: {feeds: [{name: fin, audiences: [fin]}, {name: dbonly, systems: [db]}]}
        windows:
          - {id: a, system: db, start: 2026-05-01 10:00, end: 2026-05-01 11:00, audiences: [fin]}
          - {id: b, system: erp, start: 2026-05-01 10:00, end: 2026-05-01 11:00, audiences: [ops]}
        """)
    revisions = revise_all(config, {}, NOW)
    fin, dbonly = config.calendar.feeds
    assert b"UID:a@" in feed.render(config, revisions, NOW, fin) and b"UID:b@" not in feed.render(
        config, revisions, NOW, fin)
    assert [e[0] for e in parse_three(feed.render(config, revisions, NOW, dbonly))] == ["a@outage-daemon"]


def test_atomic_write(tmp_path: Path) -> None:
    path = tmp_path / "out" / "calendar.ics"
    assert atomic_write(str(path), b"one") and path.read_bytes() == b"one"
    assert not atomic_write(str(path), b"one")
    assert atomic_write(str(path), b"two") and path.read_bytes() == b"two"
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    assert sorted(p.name for p in path.parent.iterdir()) == ["calendar.ics"]  # no temp files left


def test_committed_example_feed_is_current(tmp_path: Path) -> None:
    """feeds/calendar.ics is rendered from config/example.yaml at a fixed time: `make feeds`."""
    out = tmp_path / "feeds"
    subprocess.run([sys.executable, "-m", "outage_daemon", "render", "-c", str(ROOT / "config" / "example.yaml"),
                    "-o", str(out), "--state-dir", str(tmp_path / "state"), "--now", "2026-01-01T00:00:00Z"],
                   check=True, capture_output=True, timeout=60)
    for name in ("calendar.ics", "finance.ics"):
        assert (out / name).read_bytes() == (ROOT / "feeds" / name).read_bytes(), f"feeds/{name} is stale: make feeds"


def test_alarms_from_calendar_alarms(config_of: Callable[[str], Config], ledger: Ledger) -> None:
    config = config_of("calendar: {alarms: [1d, 15m]}\n"
                       "windows:\n  - {id: a, system: s, start: 2026-05-01 10:00, end: 2026-05-01 11:00}\n")
    data = render(config, ledger)
    lint(data)
    [event] = icalendar.Calendar.from_ical(data.decode()).walk("VEVENT")
    triggers = sorted(a.decoded("TRIGGER") for a in event.walk("VALARM"))
    assert triggers == [-timedelta(days=1), -timedelta(minutes=15)]
    assert {str(a["ACTION"]) for a in event.walk("VALARM")} == {"DISPLAY"}
    parse_three(data)

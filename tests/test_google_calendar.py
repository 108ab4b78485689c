"""Pushed calendars of kind ``google``: contract tests against a loopback stand-in for Google's token
endpoint and Calendar API (tests/googlefake.py), through the real pipeline and the real API client;
a live test against Google when OUTAGE_TEST_GOOGLE names a key file and a calendar."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from googlefake import ACCOUNT, CALENDAR, GoogleFake
from icalendar import Calendar
from test_calendars import NOW, WINDOWS, Daemon, pushed_config, through_a_wait

from outage_daemon.channels.calendar.google import API_URL, event_id, to_event
from outage_daemon.core.model import Config
from outage_daemon.core.records import Revision
from outage_daemon.core.timerules import UTC
from outage_daemon.formats.google import expand
from outage_daemon.formats.ical import render
from outage_daemon.formats.push import Push, carried, document
from outage_daemon.formats.text import marked_once

pytest.importorskip("googleapiclient", reason="pip install 'outage-daemon[google]'")


def config_text(api: str, windows: str = WINDOWS, extra: str = "", language: str = "en") -> str:
    return pushed_config(f'finance-cal: {{kind: google, url: "{api}", key_env: GOOGLE_TEST_KEY, '
                         f'calendar_id: "{CALENDAR}"{extra}}}', windows, language, ", alarms: [1d, 2h]")


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GoogleFake]:
    server = GoogleFake().start()
    assert isinstance(server, GoogleFake)
    monkeypatch.setenv("GOOGLE_TEST_KEY", server.key(tmp_path / "key.json").read_text())
    yield server
    server.stop()


def load_config(write: Callable[..., Path], text: str, name: str = "cfg.yaml") -> Config:
    from outage_daemon.loader import load

    return load(str(write(text, name)))


def assert_in_step(fake: GoogleFake, daemon: Daemon, config: Config) -> dict[str, dict[str, Any]]:
    """Assert that the calendar shows exactly the feed's events the target carries, each as
    :func:`to_event` writes the feed's VEVENT (summary, description, start, end, recurrence,
    reminders, sequence); return them by iCalUID."""
    feed = render(config, daemon.notifier.revisions, daemon.now).decode()
    expected = {str(ev["UID"]): ev for ev in Calendar.from_ical(feed).walk("VEVENT")}
    wanted = {f"{w.id}@status.example.com" for w in carried(config, config.calendars["finance-cal"], daemon.now)}
    got = fake.live()
    assert sorted(got) == sorted(wanted)
    for uid, held in got.items():
        ev = expected[uid]
        assert held["id"] == event_id(uid)
        assert held["summary"] == str(ev["SUMMARY"]) and held["description"] == str(ev["DESCRIPTION"])
        assert held["sequence"] == int(ev["SEQUENCE"])
        assert held["transparency"] == "transparent" and held["status"] == "confirmed"
    return got


def test_event_ids_are_googles_alphabet_stable_and_distinct() -> None:
    ids = {event_id(f"w{i}@status.example.com") for i in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(r"[a-v0-9]{52}", i) for i in ids)
    assert event_id("vat@status.example.com") == event_id("vat@status.example.com")


def _event(write: Callable[..., Path], window: str, language: str = "en", now: datetime = NOW) -> dict[str, Any]:
    config = load_config(write, config_text("https://www.googleapis.com/calendar/v3/", f"\n  - {window}\n",
                                            language=language))
    w = config.windows[0]
    body = expand(document(w, config, Revision(w.id, "x", 2, NOW, NOW), now), w, config, now)
    return to_event(Push("put", w.id, f"{w.id}@status.example.com", 2, body))


@pytest.mark.parametrize(("window", "expected"), [
    ("{id: vat, system: VAT, start: 2026-03-10 22:00, end: 2026-03-11 06:00}",
     {"start": {"dateTime": "2026-03-10T22:00:00+08:00", "timeZone": "Asia/Shanghai"},
      "end": {"dateTime": "2026-03-11T06:00:00+08:00", "timeZone": "Asia/Shanghai"}}),
    ("{id: utc, system: VAT, timezone: UTC, start: 2026-03-10 22:00, end: 2026-03-10 23:00}",
     {"start": {"dateTime": "2026-03-10T22:00:00+00:00", "timeZone": "UTC"},
      "end": {"dateTime": "2026-03-10T23:00:00+00:00", "timeZone": "UTC"}}),
    ("{id: day, system: VAT, start: 2026-03-10, end: 2026-03-11}",
     {"start": {"date": "2026-03-10"}, "end": {"date": "2026-03-12"}}),
    ("{id: db, system: DB, timezone: Europe/Berlin, start: 2026-03-22 01:00, end: 2026-03-22 03:00, "
     "repeat: 'FREQ=WEEKLY;BYDAY=SU;COUNT=3', except: [2026-03-29]}",
     {"start": {"dateTime": "2026-03-22T01:00:00+01:00", "timeZone": "Europe/Berlin"},
      "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=3;BYDAY=SU", "EXDATE;TZID=Europe/Berlin:20260329T010000"]}),
    ("{id: month, system: DB, start: 2026-03-22, end: 2026-03-22, repeat: FREQ=MONTHLY, except: [2026-04-22]}",
     {"start": {"date": "2026-03-22"}, "recurrence": ["RRULE:FREQ=MONTHLY", "EXDATE;VALUE=DATE:20260422"]}),
    ("{id: hours, system: DB, timezone: Europe/Berlin, start: 2026-03-28 01:00, end: 2026-03-28 01:30, "
     "repeat: 'FREQ=DAILY;BYHOUR=1,4;COUNT=4', except: ['2026-03-28 04:00']}",
     {"start": {"dateTime": "2026-03-28T01:00:00+01:00", "timeZone": "Europe/Berlin"},
      "recurrence": ["RDATE:20260329T000000Z,20260329T020000Z"],
      "extendedProperties": {"private": {"outageDaemonUid": "hours@status.example.com",  # written from its start
                                         "outageDaemonWrite": "0:2:put:20260301T000000Z/20260328T010000"}}}),
    ("{id: off, system: VAT, title: Upgrade, start: 2026-03-10 22:00, end: 2026-03-10 23:00, status: cancelled}",
     {"summary": "[Cancelled] VAT: Upgrade", "status": "confirmed", "transparency": "transparent"}),
    ("{id: maybe, system: VAT, start: 2026-03-10 22:00, end: 2026-03-10 23:00, status: tentative}",
     {"status": "tentative"}),
], ids=["shanghai", "utc", "all-day", "weekly-rule-berlin-dst", "monthly-all-day", "byhour-expanded",
        "cancelled-stays-visible", "tentative"])
def test_an_event_is_the_feeds_vevent_in_googles_words(write: Callable[..., Path], window: str,
                                                         expected: dict[str, Any]) -> None:
    got = _event(write, window)
    assert {k: got.get(k) for k in expected} == expected
    if "extendedProperties" not in expected:
        assert got["extendedProperties"]["private"]["outageDaemonWrite"] == "0:2:put:20260301T000000Z"
    uid = got["extendedProperties"]["private"]["outageDaemonUid"]
    assert "iCalUID" not in got and got["id"] == event_id(uid) and got["sequence"] == 2  # Google: id or iCalUID
    assert got["reminders"] == {"useDefault": False, "overrides": [{"method": "popup", "minutes": 120},
                                                                   {"method": "popup", "minutes": 1440}]}


@pytest.mark.parametrize(("window", "now", "start", "rdates"), [
    ("{id: h, system: Batch, start: 2024-01-01 01:00, end: 2024-01-01 01:30, repeat: 'FREQ=DAILY;BYHOUR=1,3'}",
     datetime(2026, 12, 3, 9, tzinfo=UTC), "2026-12-03T01:00:00+08:00",  # the 500 around now
     ["20261202T190000Z", "20261203T170000Z", "20261203T190000Z", "20270808T190000Z"]),
    ("{id: gap, system: DB, timezone: Europe/Berlin, start: 2026-03-28 02:30, end: 2026-03-28 03:00, "
     "repeat: 'FREQ=DAILY;BYHOUR=2,5;UNTIL=20260329T030000Z', except: ['2026-03-28 05:30']}",
     NOW, "2026-03-28T02:30:00+01:00", ["20260329T013000Z"]),  # 02:30 is 03:30 CEST
    ("{id: wk, system: DB, start: 2025-03-03, end: 2025-03-03, repeat: 'FREQ=YEARLY;BYWEEKNO=10,20;BYDAY=MO'}",
     NOW, "2026-03-02", ["20260511"]),  # 2027-03-08 lies past the 366 days
], ids=["byhour-from-2024-written-from-now", "dst-gap-and-except-as-the-feed-reads-them", "byweekno-all-day"])
def test_a_repeat_google_cannot_hold_is_written_around_now(write: Callable[..., Path], window: str, now: datetime,
                                                          start: str, rdates: list[str]) -> None:
    got = _event(write, window, now=now)
    assert start in (got["start"].get("dateTime"), got["start"].get("date"))
    (line,) = got["recurrence"]
    written = line.split(":", 1)[1].split(",")
    assert written[: len(rdates) - 1] == rdates[:-1] and written[-1] == rdates[-1], line


def test_an_expanded_repeat_is_written_again_when_half_of_it_has_passed(fake: GoogleFake, write: Callable[..., Path],
                                                                      tmp_path: Path) -> None:
    config = load_config(write, config_text(fake.url, "\n  - {id: h, system: Batch, start: 2025-01-01 01:00, "
                                                      "end: 2025-01-01 01:30, repeat: 'FREQ=DAILY;BYHOUR=1,3'}\n"))
    eid = event_id("h@status.example.com")

    def reach() -> tuple[str, datetime]:
        held = fake.events[eid]
        last = held["recurrence"][0].split(",")[-1]
        return held["start"]["dateTime"], datetime.strptime(last, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)

    async def go() -> None:
        daemon = Daemon(tmp_path / "state", config)
        try:
            await daemon.sync(config)
            assert reach() == ("2026-03-01T01:00:00+08:00", datetime(2026, 11, 4, 19, tzinfo=UTC))  # 500 in all
            await daemon.sync(config, NOW + timedelta(days=120))  # less than half of the 250 days passed
            assert fake.writes() == [("POST", 200)]
            fake.edit(eid, summary="Edited by hand")  # the top-up is not taken for written by its mark
            await daemon.sync(config, NOW + timedelta(days=130))
            assert fake.writes() == [("POST", 200), ("PUT", 412), ("PUT", 200)]
            assert fake.events[eid]["summary"] == "Batch"
            assert reach() == ("2026-07-09T01:00:00+08:00", datetime(2027, 3, 14, 19, tzinfo=UTC))
            await daemon.sync(config, NOW + timedelta(days=131))
            assert fake.writes() == [("POST", 200), ("PUT", 412), ("PUT", 200)]
            assert all(state == ("sent", None) for state in daemon.states().values()), daemon.states()
        finally:
            await daemon.notifier.close()

    asyncio.run(go())


def test_a_cancelled_window_is_marked_in_its_language(write: Callable[..., Path]) -> None:
    got = _event(write, "{id: off, system: 增值税发票, start: 2026-03-10 22:00, end: 2026-03-10 23:00, status: cancelled}",
                 language="zh-CN")
    assert got["summary"] == "【已取消】增值税发票" and got["status"] == "confirmed"


@pytest.mark.parametrize(("subject", "language", "expected"), [
    ("VAT: Upgrade", "en", "[Cancelled] VAT: Upgrade"),
    ("[Cancelled] VAT: Upgrade", "en", "[Cancelled] VAT: Upgrade"),
    ("发票：升级", "zh-CN", "【已取消】发票：升级"),
    ("【已取消】发票：升级", "zh-CN", "【已取消】发票：升级"),
], ids=["en", "en-already", "zh", "zh-already"])
def test_a_cancelled_title_is_marked_once_by_google_and_graph_alike(subject: str, language: str,
                                                                    expected: str) -> None:
    from outage_daemon.channels.calendar.google import cancelled

    push = Push("cancel", "vat", "vat@status.example.com", 3)
    assert marked_once(subject, "cancelled", language) == expected
    assert cancelled({"summary": subject, "sequence": 1}, push, language)["summary"] == expected


def test_create_update_reschedule_cancel_and_delete(fake: GoogleFake, write: Callable[..., Path],
                                                    tmp_path: Path) -> None:
    def config(windows: str) -> Config:
        return load_config(write, config_text(fake.url, windows))

    async def go() -> None:
        first = config(WINDOWS)
        daemon = Daemon(tmp_path / "state", first)
        try:
            await daemon.sync(first)
            got = assert_in_step(fake, daemon, first)
            assert "payroll@status.example.com" not in got  # private: this calendar names no audience of it
            inserts = [s for s in fake.seen if s.method == "POST"]
            assert [(s.body["id"], s.body.get("iCalUID"), s.if_match) for s in inserts] == [
                (event_id("vat@status.example.com"), None, None),
                (event_id("weekly-db@status.example.com"), None, None)]
            db = got["weekly-db@status.example.com"]
            assert db["recurrence"] == ["RRULE:FREQ=WEEKLY;COUNT=3;BYDAY=SU"]
            assert db["start"] == {"dateTime": "2026-03-22T01:00:00+01:00", "timeZone": "Europe/Berlin"}
            assert all(state == ("sent", None) for state in daemon.states().values()), daemon.states()
            assert fake.grants[0]["iss"] == ACCOUNT and "calendar.events" in fake.grants[0]["scope"]
            assert "sub" not in fake.grants[0]

            changed = config(WINDOWS.replace("Issue invoices before 21:00.", "Issue invoices before 20:00."))
            etag = got["vat@status.example.com"]["etag"]
            await daemon.sync(changed)
            got = assert_in_step(fake, daemon, changed)
            assert got["vat@status.example.com"]["sequence"] == 1
            update = fake.seen[-1]
            assert (update.method, update.if_match, update.event_id) == ("PUT", etag, event_id("vat@status.example.com"))

            moved = config(WINDOWS.replace("2026-03-10 22:00, end: 2026-03-11 06:00",
                                           "2026-03-12 22:00, end: 2026-03-13 06:00"))
            await daemon.sync(moved)
            got = assert_in_step(fake, daemon, moved)
            assert got["vat@status.example.com"]["start"]["dateTime"] == "2026-03-12T22:00:00+08:00"

            cancelled = WINDOWS.replace("audiences: [finance]}", "audiences: [finance], status: cancelled}")
            off = config(cancelled)
            await daemon.sync(off)
            got = assert_in_step(fake, daemon, off)
            assert got["vat@status.example.com"]["summary"].startswith("[Cancelled] ")

            gone = config(cancelled.split("\n  - {id: weekly-db")[0] + "\n")
            before = len(fake.seen)
            await daemon.sync(gone)
            db = fake.live()["weekly-db@status.example.com"]  # removed: shown cancelled first, not deleted
            assert db["summary"] == "[Cancelled] Core database" and db["sequence"] == 1
            assert [(s.method, s.if_match is not None) for s in fake.seen[before:] if s.method != "GET"] == [
                ("PATCH", True)]
            await daemon.sync(gone, datetime(2026, 4, 7, tzinfo=UTC))  # its last end + keep_cancelled passed
            assert fake.live() == {}
            deletes = [s for s in fake.seen if s.method == "DELETE"]
            assert len(deletes) == 2 and all(s.if_match and s.status == 204 for s in deletes)
            assert all(state == ("sent", None) for state in daemon.states().values()), daemon.states()
        finally:
            await daemon.notifier.close()

    asyncio.run(go())


def test_a_window_back_after_its_event_was_deleted_is_the_same_event_again(
        fake: GoogleFake, write: Callable[..., Path], tmp_path: Path) -> None:
    both = load_config(write, config_text(fake.url))
    without = load_config(write, config_text(fake.url, WINDOWS.split("\n  - {id: weekly-db")[0] + "\n"), "b.yaml")

    async def go() -> None:
        daemon = Daemon(tmp_path / "state", both)
        try:
            await daemon.sync(both)
            await daemon.sync(without)
            await daemon.sync(without, datetime(2026, 4, 7, tzinfo=UTC))
            assert "weekly-db@status.example.com" not in fake.live()
            await daemon.sync(both, datetime(2026, 4, 8, tzinfo=UTC))  # Google keeps the deleted id: 409
            held = fake.live()["weekly-db@status.example.com"]
            assert held["summary"] == "Core database" and held["id"] == event_id("weekly-db@status.example.com")
            assert all(state == ("sent", None) for state in daemon.states().values()), daemon.states()
        finally:
            await daemon.notifier.close()

    asyncio.run(go())
    db = event_id("weekly-db@status.example.com")
    assert [(s.method, s.status) for s in fake.seen if s.event_id == db and s.method != "GET"][-2:] == [
        ("POST", 409), ("PUT", 200)]


def test_an_event_edited_in_google_is_re_read_and_replaced(fake: GoogleFake, write: Callable[..., Path],
                                                           tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    first = load_config(write, config_text(fake.url))
    changed = load_config(write, config_text(fake.url, WINDOWS.replace("before 21:00", "before 19:00")), "b.yaml")

    async def go() -> None:
        daemon = Daemon(tmp_path / "state", first)
        try:
            await daemon.sync(first)
            fake.edit(event_id("vat@status.example.com"), summary="Edited by hand")  # our ETag is stale now
            fake.edit(event_id("vat@status.example.com"), summary="Edited twice")  # and its sequence above ours
            await daemon.sync(changed)
            held = fake.live()["vat@status.example.com"]
            assert held["summary"] == "VAT invoices: Upgrade" and "before 19:00" in held["description"]
            assert all(state == ("sent", None) for state in daemon.states().values()), daemon.states()
        finally:
            await daemon.notifier.close()

    asyncio.run(go())
    vat = event_id("vat@status.example.com")
    assert [(s.method, s.status) for s in fake.seen if s.event_id == vat][-3:] == [
        ("PUT", 412), ("GET", 200), ("PUT", 200)]
    assert not any(s.if_match == "*" for s in fake.seen)
    assert "changed since our last write" in caplog.text


def test_an_event_deleted_in_google_comes_back_with_the_next_change(fake: GoogleFake, write: Callable[..., Path],
                                                                    tmp_path: Path) -> None:
    first = load_config(write, config_text(fake.url))
    changed = load_config(write, config_text(fake.url, WINDOWS.replace("before 21:00", "before 19:00")), "b.yaml")
    vat = event_id("vat@status.example.com")
    Daemon.synced(tmp_path / "state", first)
    fake.edit(vat, status="cancelled")  # deleted by someone in Google Calendar
    states = Daemon.synced(tmp_path / "state", changed)
    assert all(state == ("sent", None) for state in states.values()), states
    assert "before 19:00" in fake.live()["vat@status.example.com"]["description"]
    assert [(s.method, s.status) for s in fake.seen if s.event_id == vat][-3:] == [
        ("PUT", 412), ("GET", 200), ("PUT", 200)]


@pytest.mark.parametrize("memo", ["kept", "lost"], ids=["crash-before-mark", "crash-before-etag-stored"])
def test_a_restart_mid_sync_writes_nothing_twice(fake: GoogleFake, write: Callable[..., Path], tmp_path: Path,
                                                 memo: str) -> None:
    config = load_config(write, config_text(fake.url))

    async def crash() -> None:  # claims and writes, then dies before the outcome is recorded
        daemon = Daemon(tmp_path / "state", config)
        notifier = daemon.notifier
        await notifier.reload(config)
        claimed = notifier.ledger.claim(notifier.owner, daemon.now, channel="caldav")
        channel = notifier.channels["caldav"]
        assert [(await channel.send(d.recipient, d.payload or b"")).ok for d in claimed] == [True, True]
        if memo == "lost":
            for name in ("caldav:finance-cal:vat", "caldav:finance-cal:weekly-db"):
                notifier.ledger.set_meta(name, "")
        await channel.close()
        notifier.ledger.close()
        notifier.executor.shutdown()

    asyncio.run(crash())
    states = Daemon.synced(tmp_path / "state", config, check=lambda d, c: assert_in_step(fake, d, c), recover=True)
    made = [(s.method, s.status) for s in fake.seen if s.method != "GET" and s.status < 300]
    assert made == [("POST", 200), ("POST", 200)], fake.seen
    assert len(fake.events) == 2
    assert sorted(states.values()) == [("sent", None), ("sent", None)]


@pytest.mark.parametrize(("status", "domain", "reason"), [
    (429, "usageLimits", "rateLimitExceeded"), (403, "usageLimits", "rateLimitExceeded"),
    (403, "usageLimits", "userRateLimitExceeded"), (403, "usageLimits", "quotaExceeded"),
    (403, "calendar", "rateLimitExceeded")],
    ids=["429", "403-rateLimitExceeded", "403-userRateLimitExceeded", "403-usageLimits-quotaExceeded",
         "403-rateLimitExceeded-other-domain"])
def test_a_rate_limit_waits_as_long_as_google_asks(fake: GoogleFake, write: Callable[..., Path], tmp_path: Path,
                                                   status: int, domain: str, reason: str) -> None:
    config = load_config(write, config_text(fake.url))
    fake.busy.answers = [(status, domain, reason, "120"), (status, domain, reason, "120")]

    waiting = through_a_wait(tmp_path / "state", config, lambda d, c: assert_in_step(fake, d, c))
    assert [(d.state, d.next_try >= NOW + timedelta(seconds=120)) for d in waiting] == [("pending", True)] * 2
    assert all("slow down" in (d.last_error or "") for d in waiting)
    assert fake.writes() == [("POST", status), ("POST", status), ("POST", 200), ("POST", 200)]


@pytest.mark.parametrize(("access", "extra", "said"), [
    ("none", "", ["HTTP 404 notFound", f"no calendar '{CALENDAR}' for {ACCOUNT}"]),
    ("read", "", ["HTTP 403 requiredAccessLevel", f"share the calendar with {ACCOUNT} (\"Make changes to events\")"]),
    ("write", ", subject: boss@example.com", None),
    ("none", ", subject: boss@example.com", ["unauthorized_client", "is domain-wide delegation of "
                                             "https://www.googleapis.com/auth/calendar.events granted"]),
], ids=["calendar-not-shared", "shared-read-only", "impersonating", "delegation-not-granted"])
def test_a_calendar_without_access_is_retried_with_a_clear_error_and_a_subject_is_asked_for(
        fake: GoogleFake, write: Callable[..., Path], tmp_path: Path, access: str, extra: str,
        said: list[str] | None) -> None:
    fake.shared = () if access == "none" else (CALENDAR,)
    fake.delegated = {"boss@example.com"} if access == "write" else set()
    fake.readonly = {CALENDAR} if access == "read" else set()
    config = load_config(write, config_text(fake.url, extra=extra))

    async def go() -> tuple[dict[str, tuple[str, str | None]], dict[str, tuple[str, str | None]]]:
        daemon = Daemon(tmp_path / "state", config)
        try:
            await daemon.sync(config)
            first = daemon.states()
            fake.shared, fake.readonly, fake.delegated = (CALENDAR,), set(), {"boss@example.com"}  # access given
            await daemon.sync(config, NOW + timedelta(hours=1))  # once the backoff has passed
            return first, daemon.states()
        finally:
            await daemon.notifier.close()

    states, later = asyncio.run(go())
    assert all(state == ("sent", None) for state in later.values()), later
    if said is None:
        assert all(state == ("sent", None) for state in states.values()), states
        assert fake.grants[0]["sub"] == "boss@example.com"
        return
    state, error = states["vat/push/0 finance-cal"]
    assert state == "pending" and error is not None and all(s in error for s in said), states  # tried again
    assert ACCOUNT in error


def test_a_sequence_google_raised_by_itself_is_gone_past(fake: GoogleFake, write: Callable[..., Path],
                                                         tmp_path: Path) -> None:
    first = load_config(write, config_text(fake.url))
    moved = load_config(write, config_text(fake.url, WINDOWS.replace("2026-03-10 22:00", "2026-03-10 21:00")), "b.yaml")
    fake.bumps = 2
    states = Daemon.synced(tmp_path / "state", first, moved)
    assert all(state == ("sent", None) for state in states.values()), states
    vat = event_id("vat@status.example.com")
    assert [(s.method, s.status) for s in fake.seen if s.event_id == vat] == [
        ("POST", 200), ("PUT", 400), ("GET", 200), ("PUT", 200)]
    assert fake.live()["vat@status.example.com"]["start"]["dateTime"] == "2026-03-10T21:00:00+08:00"


def test_a_google_that_hangs_is_given_up_on_after_the_timeout(fake: GoogleFake, write: Callable[..., Path],
                                                               tmp_path: Path) -> None:
    config = load_config(write, config_text(fake.url, extra=", timeout: 1s"))
    fake.stall = 5.0
    started = time.monotonic()
    states = Daemon.synced(tmp_path / "state", config)
    took = time.monotonic() - started
    assert all(state == "pending" and "no answer within 1s" in (error or "") for state, error in states.values()), states
    assert took < 4.5, took  # two writes, a second each, not the five Google would take


def test_an_event_under_our_id_that_we_did_not_write_is_reported(fake: GoogleFake, write: Callable[..., Path],
                                                                 tmp_path: Path) -> None:
    config = load_config(write, config_text(fake.url))
    vat = event_id("vat@status.example.com")  # the same iCalUID is not enough to be taken for ours
    fake.events[vat] = {"id": vat, "iCalUID": "vat@status.example.com", "status": "confirmed", "sequence": 0,
                        "etag": '"1"', "summary": "Not ours"}
    states = Daemon.synced(tmp_path / "state", config)
    state, error = states["vat/push/0 finance-cal"]
    assert state == "failed" and error is not None and "conflict" in error, states
    assert fake.events[vat]["summary"] == "Not ours"
    assert states["weekly-db/push/0 finance-cal"] == ("sent", None)


@pytest.mark.parametrize(("entry", "error"), [
    ("{kind: google, key_env: K}", "cfg.yaml:4: calendars.fin.calendar_id: missing (required)"),
    ("{kind: google, calendar_id: c}", "cfg.yaml:4: calendars.fin: one of key_file, key_env, key_credential is"),
    ("{kind: google, calendar_id: c, key_env: K, key_file: k}", "cfg.yaml:4: calendars.fin: set only one of key_file"),
    ("{kind: google, calendar_id: c, key_env: K, user: u}", "cfg.yaml:4: calendars.fin.user: `user` is for a `caldav`"),
    ("{kind: caldav, url: 'https://dav.example.com/c/', calendar_id: c}",
     "cfg.yaml:4: calendars.fin.calendar_id: `calendar_id` is for a `graph` or `google` calendar, not `caldav`"),
], ids=["no-calendar-id", "no-key", "two-keys", "caldav-key-on-google", "google-key-on-caldav"])
def test_google_calendar_errors_name_their_line(errors_of: Callable[[str], list[str]], entry: str, error: str) -> None:
    errors = errors_of(f"audiences: {{finance: {{email: [a@example.com]}}}}\nwindows: []\ncalendars:\n  fin: {entry}\n")
    assert any(e.startswith(error) for e in errors), errors


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "outage_daemon", *args], capture_output=True, text=True,
                          timeout=60, check=False)


def test_send_test_writes_one_event_and_removes_it(fake: GoogleFake, write: Callable[..., Path]) -> None:
    path = str(write(config_text(fake.url)))
    done = cli("send-test", "-c", path, "--calendar", "finance-cal", "--window", "vat")
    assert done.returncode == 0, done.stderr
    assert f"into calendar finance-cal ({CALENDAR}) and removed it again" in done.stdout
    assert fake.writes() == [("POST", 200), ("DELETE", 204)]
    assert fake.live() == {}


UPCOMING = """
  - {id: payroll, system: Payroll, start: 2099-01-10 20:00, end: 2099-01-10 23:00, description: "Salaries.",
     audiences: [hr]}
  - {id: vat, system: VAT invoices, start: 2099-02-10 22:00, end: 2099-02-11 06:00, audiences: [finance]}
"""


@pytest.mark.parametrize(("windows", "args", "written", "said"), [
    (UPCOMING, [], "vat", ""),
    (UPCOMING, ["--window", "payroll"], None, "calendar finance-cal does not carry window 'payroll'"),
    (UPCOMING.split("\n  - {id: vat")[0] + "\n", [], None,
     "calendar finance-cal carries no window to write a test event of"),
], ids=["first-window-it-carries", "a-window-it-does-not-carry", "carries-none"])
def test_send_test_writes_only_a_window_the_calendar_carries(fake: GoogleFake, write: Callable[..., Path],
                                                            windows: str, args: list[str], written: str | None,
                                                            said: str) -> None:
    done = cli("send-test", "-c", str(write(config_text(fake.url, windows))), "--calendar", "finance-cal", *args)
    if written is None:
        assert done.returncode != 0 and said in done.stderr, done.stderr
        assert fake.seen == [] and "Salaries" not in done.stdout + done.stderr
        return
    assert done.returncode == 0, done.stderr
    (insert,) = [s for s in fake.seen if s.method == "POST"]
    assert insert.body["summary"] == "[Test] VAT invoices", insert.body["summary"]


def test_send_test_writes_a_repeat_google_cannot_hold_as_its_occurrences(fake: GoogleFake,
                                                                         write: Callable[..., Path]) -> None:
    path = str(write(config_text(fake.url, "\n  - {id: h, system: Batch, start: 2025-01-01 01:00, "
                                           "end: 2025-01-01 01:30, repeat: 'FREQ=DAILY;BYHOUR=1,3'}\n")))
    done = cli("send-test", "-c", path, "--calendar", "finance-cal", "--window", "h")
    assert done.returncode == 0, done.stderr
    (insert,) = [s for s in fake.seen if s.method == "POST"]
    assert insert.body["recurrence"][0].startswith("RDATE:"), insert.body["recurrence"]


def test_a_bad_key_is_refused_before_anything_is_sent(write: Callable[..., Path], tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_TEST_KEY", '{"type": "authorized_user", "secret": "hunter2"}')
    path = str(write(config_text("https://www.googleapis.com/calendar/v3/")))
    done = cli("send-test", "-c", path, "--calendar", "finance-cal")
    assert done.returncode != 0
    assert "calendars.finance-cal: the key is not a service account's JSON key" in done.stderr
    assert "hunter2" not in done.stderr + done.stdout


def test_history_shows_the_pushes(fake: GoogleFake, write: Callable[..., Path], tmp_path: Path) -> None:
    config = load_config(write, config_text(fake.url))
    Daemon.synced(tmp_path / "state", config)
    path = str(tmp_path / "cfg.yaml")
    shown = cli("history", "-c", path, "--state-dir", str(tmp_path / "state"), "--window", "vat", "--json")
    assert shown.returncode == 0, shown.stderr
    assert [(e["key"], e["kind"], e["recipient"], e["channel"], e["state"]) for e in json.loads(shown.stdout)] == [
        ("vat/push/0", "push", "finance-cal", "google", "sent")]


def test_healthz_and_metrics_name_a_failing_google_calendar(fake: GoogleFake, write: Callable[..., Path],
                                                             tmp_path: Path) -> None:
    from daemonproc import Daemon as DaemonProcess

    broken = f'  broken: {{kind: google, url: "{fake.url}", key_env: GOOGLE_TEST_KEY, calendar_id: nobody, retry: 1s}}\n'
    path = write(config_text(fake.url).replace("calendars:\n", "calendars:\n" + broken))
    daemon = DaemonProcess(path, tmp_path / "state")
    try:
        assert daemon.read_notify("READY=1")
        status, body = daemon.poll("/healthz", lambda status, _: status == 503)
        assert status == 503, body
        assert json.loads(body)["calendars"] == ["broken"]
        _, _, metrics = daemon.get("/metrics")
        assert 'outage_calendar_up{calendar="broken"} 0.0' in metrics.decode()
        assert "vat@status.example.com" in fake.live()
    finally:
        daemon.stop()


LIVE = os.environ.get("OUTAGE_TEST_GOOGLE", "")
live = pytest.mark.skipif(not LIVE, reason="live Google Calendar test: set OUTAGE_TEST_GOOGLE=KEYFILE.json:CALENDAR_ID "
                                           "(a calendar shared with the service account, 'Make changes to events')")


def live_config(write: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                windows: str = WINDOWS, name: str = "cfg.yaml") -> Config:
    """Given windows, return a config whose calendar is the live one, under a domain of this run's own
    (a UID, and so an event id, Google has not seen: it keeps deleted ones)."""
    key, calendar = LIVE.split(":", 1)
    monkeypatch.setenv("GOOGLE_TEST_KEY", Path(key).read_text())
    text = config_text(API_URL, windows).replace(CALENDAR, calendar)
    return load_config(write, text.replace("status.example.com", run_domain(tmp_path)), name)


def run_domain(tmp_path: Path) -> str:
    return f"run-{tmp_path.name.replace('_', '-')}.example.com"


@live
def test_live_google_calendar_send_test(write: Callable[..., Path], tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    live_config(write, tmp_path, monkeypatch)
    done = cli("send-test", "-c", str(tmp_path / "cfg.yaml"), "--calendar", "finance-cal", "--window", "vat")
    assert done.returncode == 0, done.stderr


@live
def test_live_google_calendar_kept_in_step(write: Callable[..., Path], tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from outage_daemon.channels.calendar.google import key_of, service

    first = live_config(write, tmp_path, monkeypatch)
    moved = live_config(write, tmp_path, monkeypatch, WINDOWS.replace("2026-03-10 22:00", "2026-03-10 21:00"), "b.yaml")
    gone = live_config(write, tmp_path, monkeypatch, WINDOWS.split("\n  - {id: weekly-db")[0] + "\n", "c.yaml")
    target = first.calendars["finance-cal"]
    events = service(target, key_of(target)).events()

    def held(window: str) -> dict[str, Any]:
        eid = event_id(f"{window}@{run_domain(tmp_path)}")
        found: dict[str, Any] = events.get(calendarId=target.calendar_id, eventId=eid).execute()
        return found

    async def go() -> None:
        daemon = Daemon(tmp_path / "state", first)
        try:
            await daemon.sync(first)
            assert held("vat")["summary"] == "VAT invoices: Upgrade"
            assert held("weekly-db")["recurrence"] == ["RRULE:FREQ=WEEKLY;COUNT=3;BYDAY=SU"]
            await daemon.sync(moved)
            assert held("vat")["start"]["dateTime"].startswith("2026-03-10T")
            await daemon.sync(gone)
            assert held("weekly-db")["summary"] == "[Cancelled] Core database"
            await daemon.sync(gone, datetime(2026, 4, 7, tzinfo=UTC))
            assert held("weekly-db")["status"] == "cancelled"  # deleted: Google answers so for a while
            assert all(state == ("sent", None) for state in daemon.states().values()), daemon.states()
        finally:
            await daemon.notifier.close()

    asyncio.run(go())

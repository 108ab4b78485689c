"""Pushed Microsoft 365 calendars (``kind: graph``): contract tests against a local stand-in that
answers Graph's documented requests (tests/graphserver.py), driven through the real pipeline; the
requests we make are checked (token, transactionId, If-Match, the event's JSON). A live test against
a real tenant runs only with OUTAGE_TEST_GRAPH set."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from graphserver import CLIENT_ID, MAILBOX, SECRET, TENANT, GraphServer, certificate, prop
from icalendar import Calendar
from test_calendars import NOW, WINDOWS, Daemon, crash_after_sending, occurrences, pushed_config, through_a_wait

from outage_daemon.core.model import Config, Occurrence
from outage_daemon.core.timerules import UTC
from outage_daemon.formats.graph import transaction_id
from outage_daemon.formats.ical import render
from outage_daemon.formats.push import carried

pytest.importorskip("azure.identity", reason="the graph extra (azure-identity) is not installed")


def config_text(url: str, windows: str = WINDOWS, extra: str = "", language: str = "en") -> str:
    return pushed_config(f'finance-365: {{kind: graph, tenant: {TENANT}, client_id: {CLIENT_ID}, '
                         f'client_secret_env: GRAPH_TEST_SECRET, mailbox: "{MAILBOX}", login_url: "{url}", '
                         f'graph_url: "{url}"{extra}}}', windows, language, ", alarms: [1d, 2h]")


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def graph(tls: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[GraphServer]:
    monkeypatch.setenv("SSL_CERT_FILE", str(tls[0]))  # our client trusts the stand-in's certificate
    monkeypatch.setenv("GRAPH_TEST_SECRET", SECRET)
    server = GraphServer(*tls).start()
    yield server
    server.stop()


def assert_in_step(graph: GraphServer, daemon: Daemon, config: Config) -> dict[str, list[dict[str, Any]]]:
    """Assert that the mailbox holds, for each window the target carries, one event per occurrence of
    the feed's (as an independent parser expands it), with the feed's SUMMARY and DESCRIPTION; return
    the events by UID."""
    feed = render(config, daemon.notifier.revisions, daemon.now).decode()
    expected = {str(ev["UID"]): ev for ev in Calendar.from_ical(feed).walk("VEVENT")}
    wanted = {f"{w.id}@status.example.com" for w in carried(config, config.calendars["finance-365"], daemon.now)}
    got = graph.graph.by_uid()
    assert sorted(got) == sorted(wanted)
    feed_times = occurrences([feed])
    for uid, events in got.items():
        for ev in events:
            assert ev["subject"] == str(expected[uid]["SUMMARY"]), uid
            assert ev["body"] == {"contentType": "text", "content": str(expected[uid]["DESCRIPTION"])}, uid
            assert ev["showAs"] == "free" and ev["isAllDay"] is False
            assert ev["start"]["timeZone"] == ev["end"]["timeZone"] == "UTC"
        starts = [datetime.fromisoformat(e["start"]["dateTime"]).replace(tzinfo=UTC) for e in events]
        ends = [datetime.fromisoformat(e["end"]["dateTime"]).replace(tzinfo=UTC) for e in events]
        assert starts == [start for start, _ in feed_times[uid]], uid
        # RFC 5545: every instance lasts DTEND - DTSTART exactly (ical's reader keeps the wall-clock
        # length instead across a DST change, e.g. 2026-03-29 in Berlin)
        exact = expected[uid]["DTEND"].dt - expected[uid]["DTSTART"].dt
        assert [end - start for start, end in zip(starts, ends, strict=True)] == [exact] * len(starts), uid
    return got


def load(write: Callable[..., Path], text: str, name: str = "cfg.yaml") -> Config:
    from outage_daemon.loader import load as load_config

    return load_config(str(write(text, name)))


async def delivery_of(daemon: Daemon, config: Config, key: str) -> tuple[Any, bytes]:
    """Reload ``config``; return the calendar channel and the payload of the push ``key`` to finance-365."""
    await daemon.notifier.reload(config)
    found = next(d for d in daemon.notifier.ledger.deliveries() if d.key == key)
    return daemon.notifier.channels["caldav"], found.payload or b""


def test_create_update_reschedule_cancel_and_delete(graph: GraphServer, write: Callable[..., Path],
                                                    tmp_path: Path) -> None:
    def config(windows: str) -> Config:
        return load(write, config_text(graph.url, windows))

    async def go() -> None:
        first = config(WINDOWS)
        daemon = Daemon(tmp_path / "state", first)
        try:
            await daemon.sync(first)
            got = assert_in_step(graph, daemon, first)
            assert "payroll@status.example.com" not in got  # private: this calendar names no audience of it
            assert [len(got[u]) for u in sorted(got)] == [1, 3]  # vat once, weekly-db's three Sundays
            assert all(state == ("sent", None) for state in daemon.states().values()), daemon.states()
            token = next(r for r in graph.graph.requests if r.path.endswith("/token"))
            assert token.body["grant_type"] == "client_credentials" and token.body["client_id"] == CLIENT_ID
            posts = [r for r in graph.graph.requests if r.method == "POST" and r.path.endswith("/events")]
            assert len(posts) == 4
            vat = next(r.body for r in posts if prop(r.body, "outage-daemon-uid") == "vat@status.example.com")
            assert vat["transactionId"] == transaction_id("vat@status.example.com", "once", "0:0")
            assert vat["start"] == {"dateTime": "2026-03-10T14:00:00", "timeZone": "UTC"}  # 22:00 Shanghai
            assert vat["end"] == {"dateTime": "2026-03-10T22:00:00", "timeZone": "UTC"}
            assert (vat["isReminderOn"], vat["reminderMinutesBeforeStart"]) == (True, 1440)
            assert all(r.headers["Authorization"].startswith("Bearer token-") for r in posts)
            etag = got["vat@status.example.com"][0]["@odata.etag"]

            changed = config(WINDOWS.replace("Issue invoices before 21:00.", "Issue invoices before 20:00."))
            await daemon.sync(changed)
            got = assert_in_step(graph, daemon, changed)
            patch = next(r for r in graph.graph.requests if r.method == "PATCH")
            assert patch.headers["If-Match"] == etag and "transactionId" not in patch.body
            assert "Issue invoices before 20:00." in patch.body["body"]["content"]
            assert [m for m, _ in graph.graph.writes()].count("POST") == 4  # updated in place, not made again

            moved = config(WINDOWS.replace("2026-03-10 22:00, end: 2026-03-11 06:00",
                                           "2026-03-12 22:00, end: 2026-03-13 06:00")
                           .replace("COUNT=3", "COUNT=2"))
            await daemon.sync(moved)
            got = assert_in_step(graph, daemon, moved)
            assert len(got["weekly-db@status.example.com"]) == 2  # the occurrence it lost is deleted

            cancelled = WINDOWS.replace("audiences: [finance]}", "audiences: [finance], status: cancelled}")
            off = config(cancelled)
            await daemon.sync(off)
            got = assert_in_step(graph, daemon, off)
            assert got["vat@status.example.com"][0]["subject"] == "[Cancelled] VAT invoices: Upgrade"

            gone = config(cancelled.split("\n  - {id: weekly-db")[0] + "\n")
            await daemon.sync(gone)
            db = graph.graph.by_uid()["weekly-db@status.example.com"]
            assert [(e["subject"], e["showAs"]) for e in db] == [("[Cancelled] Core database", "free")] * 3
            await daemon.sync(gone, datetime(2026, 4, 7, tzinfo=UTC))  # its last end + keep_cancelled passed
            assert graph.graph.by_uid() == {}
            deletes = [r for r in graph.graph.requests if r.method == "DELETE"]
            assert deletes and all(r.headers.get("If-Match", "").startswith('W/"') for r in deletes)
            assert all(state == ("sent", None) for state in daemon.states().values()), daemon.states()
        finally:
            await daemon.notifier.close()

    asyncio.run(go())


def test_a_window_cancelled_by_removal_is_marked_in_the_config_language(graph: GraphServer,
                                                                          write: Callable[..., Path],
                                                                          tmp_path: Path) -> None:
    both = load(write, config_text(graph.url, language="zh-CN"))
    without = load(write, config_text(graph.url, WINDOWS.split("\n  - {id: weekly-db")[0] + "\n", language="zh-CN"),
                   "b.yaml")

    async def go() -> None:
        daemon = Daemon(tmp_path / "state", both)
        try:
            await daemon.sync(both)
            await daemon.sync(without)
            await daemon.sync(without)  # nothing more to write
        finally:
            await daemon.notifier.close()

    asyncio.run(go())
    db = graph.graph.by_uid()["weekly-db@status.example.com"]
    assert [e["subject"] for e in db] == ["【已取消】Core database"] * 3
    assert [m for m, _ in graph.graph.writes()] == ["POST"] * 4 + ["PATCH"] * 3


@pytest.mark.parametrize(("action", "expected"), [
    ("edited", [("PATCH", 412), ("PATCH", 200)]),
    ("deleted", [("PATCH", 404), ("POST", 201)]),
], ids=["edited-stale-etag-re-read", "deleted-made-again"])
def test_an_event_changed_in_outlook_is_replaced_by_the_config(
        graph: GraphServer, write: Callable[..., Path], tmp_path: Path, caplog: pytest.LogCaptureFixture,
        action: str, expected: list[tuple[str, int]]) -> None:
    first = load(write, config_text(graph.url))
    changed = load(write, config_text(graph.url, WINDOWS.replace("before 21:00", "before 19:00")), "b.yaml")

    async def go() -> None:
        daemon = Daemon(tmp_path / "state", first)
        try:
            await daemon.sync(first)
            vat = graph.graph.by_uid()["vat@status.example.com"][0]
            if action == "edited":
                graph.edit(vat["id"], subject="Edited by hand")  # the stored ETag is stale now
            else:
                del graph.graph.events[vat["id"]]
            await daemon.sync(changed)
            assert_in_step(graph, daemon, changed)
            assert all(state == ("sent", None) for state in daemon.states().values()), daemon.states()
        finally:
            await daemon.notifier.close()

    asyncio.run(go())
    assert graph.graph.writes()[4:] == expected
    assert all(r.headers.get("If-Match") not in (None, "*") for r in graph.graph.requests if r.method == "PATCH")
    assert ("changed in Microsoft 365 since our last write" in caplog.text) == (action == "edited")


def test_a_repeat_that_never_ends_is_topped_up_each_month(graph: GraphServer, write: Callable[..., Path],
                                                          tmp_path: Path) -> None:
    windows = """
  - {id: sunday-db, system: Core database, timezone: Europe/Berlin, start: 2026-03-22 01:00, end: 2026-03-22 03:00,
     repeat: "FREQ=WEEKLY;BYDAY=SU"}
"""
    config = load(write, config_text(graph.url, windows))
    window = config.windows[0]

    def starts() -> list[str]:
        return [e["start"]["dateTime"] for e in graph.graph.by_uid()["sunday-db@status.example.com"]]

    def expected(now: datetime) -> list[str]:  # ending from keep_cancelled (1d) before, starting within 366 days
        found = window.occurrences(now - timedelta(days=1), now + timedelta(days=366))
        return [o.start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") for o in found]

    async def go() -> None:
        daemon = Daemon(tmp_path / "state", config)
        try:
            await daemon.sync(config)
            assert starts() == expected(NOW) and starts()[-1] == "2027-02-28T00:00:00"
            later = NOW + timedelta(days=40)
            await daemon.sync(config, later)  # a month on: the next weeks are written, the past ones go
            assert starts() == expected(later) and starts()[0] == "2026-04-11T23:00:00"  # 01:00 CEST
            await daemon.sync(config, later + timedelta(days=1))  # the same month: nothing to write
        finally:
            await daemon.notifier.close()

    asyncio.run(go())
    writes = [m for m, _ in graph.graph.writes()]
    before, after = expected(NOW), expected(NOW + timedelta(days=40))
    gone, new = len(set(before) - set(after)), len(set(after) - set(before))
    assert (len(before), gone, new) == (50, 3, 6)  # 22 Mar to 5 Apr gone; 7 Mar to 11 Apr 2027 new
    assert writes == ["POST"] * (50 + 6) + ["DELETE"] * 3  # nothing written twice, nothing the third time


@pytest.mark.parametrize(("window", "now", "expected"), [
    ("start: 2026-12-04 01:00, end: 2026-12-04 02:00, repeat: FREQ=DAILY;COUNT=200", "2026-12-03", "2026-12"),
    ("start: 2026-12-04 01:00, end: 2026-12-04 02:00, repeat: FREQ=DAILY;COUNT=200", "2027-03-20", ""),
    ("start: 2026-12-04 01:00, end: 2026-12-04 01:30, repeat: 'FREQ=DAILY;BYHOUR=1,3'", "2026-12-03", "2026-12-03"),
    ("start: 2026-12-01 01:00, end: 2026-12-01 01:30, repeat: FREQ=HOURLY;COUNT=500", "2026-12-03", "2026-12-03"),
    ("start: 2026-12-01 01:00, end: 2026-12-01 01:10, repeat: FREQ=MINUTELY;INTERVAL=20", "2026-12-03", "2026-12-03T09"),
    ("start: 2026-12-01 01:00, end: 2026-12-01 01:05, repeat: FREQ=MINUTELY;INTERVAL=10", "2026-12-03", "2026-12-03T09"),
    ("start: 2026-12-06 01:00, end: 2026-12-06 03:00, repeat: FREQ=WEEKLY", "2026-12-03", "2026-12"),
    ("start: 2026-12-06 01:00, end: 2026-12-06 03:00, repeat: FREQ=WEEKLY;COUNT=50", "2026-12-03", ""),
    ("start: 2026-12-06 01:00, end: 2026-12-06 03:00", "2026-12-03", ""),
], ids=["200-daily-past-100", "200-daily-rest-fits", "twice-daily-forever", "500-hourly", "every-20-minutes",
        "every-10-minutes", "weekly-forever", "50-weekly-fit", "one-off"])
def test_a_repeat_is_topped_up_before_its_written_occurrences_run_out(
        config_of: Callable[[str], Config], window: str, now: str, expected: str) -> None:
    from outage_daemon.formats.graph import refresh

    config = config_of("timezone: Europe/Berlin\ncalendar: {domain: s.example.com, keep_cancelled: 1d}\n"
                       "calendars: {g: {kind: graph, tenant: t, client_id: c, client_secret_env: X, mailbox: m@x.com}}\n"
                       f"windows:\n  - {{id: w, system: DB, {window}}}\n")
    assert refresh(config.windows[0], config, config.calendars["g"], datetime.fromisoformat(now + "T09:00+00:00")) \
        == expected


@pytest.mark.parametrize(("repeat", "past", "first"), [
    ("FREQ=HOURLY", 25, "2026-12-03T09:00:00+00:00"),
    ("FREQ=DAILY", 25, "2026-12-04T00:00:00+00:00"),
    ("FREQ=DAILY;COUNT=50", 30, "2026-12-04T00:00:00+00:00"),
], ids=["hourly", "daily", "daily-ending-soon"])
def test_a_repeats_coming_occurrences_are_written_before_its_past_ones(
        config_of: Callable[[str], Config], repeat: str, past: int, first: str) -> None:
    from outage_daemon.formats.graph import occurrences as written

    config = config_of(f"timezone: UTC\nwindows:\n  - {{id: w, system: DB, start: 2026-11-01 00:00, "
                       f"end: 2026-11-01 00:30, repeat: '{repeat}'}}\n")  # keep_cancelled: 30 days
    now = datetime(2026, 12, 3, 9, 10, tzinfo=UTC)
    got = [o for _, o in written(config.windows[0], config, now)]
    assert len([o for o in got if o.end < now]) == past
    assert next(o.start for o in got if o.end >= now).isoformat() == first


def test_a_repeat_of_more_than_100_occurrences_is_written_to_its_end(graph: GraphServer, write: Callable[..., Path],
                                                                    tmp_path: Path) -> None:
    windows = """
  - {id: nightly, system: Backup, start: 2026-03-02 01:00, end: 2026-03-02 02:00, repeat: "FREQ=DAILY;COUNT=200"}
"""
    config = load(write, config_text(graph.url, windows))

    def last() -> str:
        return str(graph.graph.by_uid()["nightly@status.example.com"][-1]["start"]["dateTime"])

    async def go() -> list[str]:
        daemon = Daemon(tmp_path / "state", config)
        seen = []
        try:
            for month in range(8):  # the daemon's syncs, a month apart
                await daemon.sync(config, NOW + timedelta(days=31 * month))
                seen.append(last())
        finally:
            await daemon.notifier.close()
        return seen

    seen = asyncio.run(go())
    assert seen[0] == "2026-06-08T17:00:00"  # the first 100 nights (01:00 in Shanghai)
    assert seen[-1] == "2026-09-16T17:00:00"  # the 200th, in 2026-09: the whole repeat got there


@pytest.mark.parametrize("memo", ["kept", "lost"], ids=["crash-before-mark", "crash-before-ids-stored"])
def test_a_restart_mid_sync_writes_nothing_twice(graph: GraphServer, write: Callable[..., Path], tmp_path: Path,
                                                 memo: str) -> None:
    config = load(write, config_text(graph.url))

    asyncio.run(crash_after_sending(tmp_path / "state", config, "finance-365", memo == "lost"))
    assert graph.graph.writes() == [("POST", 201)] * 4
    states = Daemon.synced(tmp_path / "state", config, check=lambda d, c: assert_in_step(graph, d, c), recover=True)
    assert graph.graph.writes() == [("POST", 201)] * 4, graph.graph.writes()
    assert sorted(states.values()) == [("sent", None), ("sent", None)]


def test_windows_whose_ids_differ_in_case_only_keep_their_own_events(graph: GraphServer,
                                                                     write: Callable[..., Path],
                                                                     tmp_path: Path) -> None:
    windows = """
  - {id: vat, system: VAT invoices, start: 2026-03-10 22:00, end: 2026-03-11 06:00}
  - {id: VAT, system: VAT archive, start: 2026-03-12 22:00, end: 2026-03-13 06:00}
"""
    first = load(write, config_text(graph.url, windows))
    changed = load(write, config_text(graph.url, windows.replace("06:00}", "05:00}")), "b.yaml")

    async def go() -> None:
        daemon = Daemon(tmp_path / "state", first)
        try:
            await daemon.sync(first)
            for name in ("caldav:finance-365:vat", "caldav:finance-365:VAT"):  # found again by their UIDs
                daemon.notifier.ledger.set_meta(name, "")
            await daemon.sync(changed)
            assert_in_step(graph, daemon, changed)
        finally:
            await daemon.notifier.close()

    asyncio.run(go())
    assert [m for m, _ in graph.graph.writes()] == ["POST", "POST", "PATCH", "PATCH"]


def test_a_create_retried_with_its_transaction_id_makes_no_second_event(graph: GraphServer,
                                                                        write: Callable[..., Path],
                                                                        tmp_path: Path) -> None:
    config = load(write, config_text(graph.url))

    async def go() -> None:
        daemon = Daemon(tmp_path / "state", config)
        try:
            await daemon.notifier.reload(config)
            delivery = next(d for d in daemon.notifier.ledger.deliveries() if d.key == "vat/push/0")
            channel = daemon.notifier.channels["caldav"]
            assert (await channel.send(delivery.recipient, delivery.payload or b"")).ok
            for p in graph.graph.events.values():  # as if the filter missed it (not indexed yet): only the
                p["singleValueExtendedProperties"] = [q for q in p["singleValueExtendedProperties"]  # id saves us
                                                      if not q["id"].endswith("outage-daemon-uid")]
            await channel.memo.set("caldav:finance-365:vat", "")
            assert (await channel.send(delivery.recipient, delivery.payload or b"")).ok
        finally:
            await daemon.notifier.close()

    asyncio.run(go())
    assert graph.graph.writes() == [("POST", 201), ("POST", 201)]
    assert len(graph.graph.events) == 1


def test_a_create_whose_transaction_id_graph_calls_used_takes_our_event(graph: GraphServer,
                                                                         write: Callable[..., Path],
                                                                         tmp_path: Path) -> None:
    config = load(write, config_text(graph.url))

    async def go() -> str | None:
        daemon = Daemon(tmp_path / "state", config)
        try:
            channel, payload = await delivery_of(daemon, config, "vat/push/0")
            assert (await channel.send("finance-365", payload)).ok
            await channel.memo.set("caldav:finance-365:vat", "")  # lost, and the search misses the event once
            graph.graph.unindexed, graph.graph.duplicate = 1, True
            got = await channel.send("finance-365", payload)
            assert got.ok, got
            return await channel.memo.get("caldav:finance-365:vat")  # type: ignore[no-any-return]
        finally:
            await daemon.notifier.close()

    memo = asyncio.run(go())
    assert graph.graph.writes() == [("POST", 201), ("POST", 400)]  # taken as it is: it holds this version
    assert memo is not None and [v[0] for v in json.loads(memo)["events"].values()] == list(graph.graph.events)


def test_an_update_that_landed_before_a_crash_is_not_taken_for_an_edit(
        graph: GraphServer, write: Callable[..., Path], tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    first = load(write, config_text(graph.url))
    changed = load(write, config_text(graph.url, WINDOWS.replace("before 21:00", "before 19:00")), "b.yaml")

    async def go() -> None:
        daemon = Daemon(tmp_path / "state", first)
        try:
            await daemon.sync(first)
            before = daemon.notifier.ledger.get_meta("caldav:finance-365:vat") or ""
            channel, payload = await delivery_of(daemon, changed, "vat/push/1")
            assert (await channel.send("finance-365", payload)).ok
            daemon.notifier.ledger.set_meta("caldav:finance-365:vat", before)  # crashed before its record
            assert (await channel.send("finance-365", payload)).ok
            assert_in_step(graph, daemon, changed)
        finally:
            await daemon.notifier.close()

    asyncio.run(go())
    assert graph.graph.writes()[4:] == [("PATCH", 200), ("PATCH", 412)]  # read again, not written again
    assert "changed in Microsoft 365" not in caplog.text


def test_a_429_waits_as_long_as_graph_asks(graph: GraphServer, write: Callable[..., Path], tmp_path: Path) -> None:
    config = load(write, config_text(graph.url))
    graph.graph.busy = 2

    waiting = through_a_wait(tmp_path / "state", config, lambda d, c: assert_in_step(graph, d, c))
    assert [(d.state, d.next_try >= NOW + timedelta(seconds=120)) for d in waiting] == [("pending", True)] * 2
    assert [s for _, s in graph.graph.writes()] == [429, 429, 201, 201, 201, 201]


def test_a_write_throttled_halfway_goes_on_where_it_stopped(graph: GraphServer, write: Callable[..., Path],
                                                            tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    first = load(write, config_text(graph.url))
    changed = load(write, config_text(graph.url, WINDOWS.replace("system: Core database,",
                                                                 "system: Core database, title: Patch,")), "b.yaml")

    async def go() -> None:
        daemon = Daemon(tmp_path / "state", first)
        try:
            await daemon.sync(first)
            graph.graph.calm, graph.graph.busy = 1, 1  # the second of weekly-db's three updates is refused
            await daemon.sync(changed)
            await daemon.sync(changed, NOW + timedelta(seconds=121))
            assert_in_step(graph, daemon, changed)
            assert all(state == ("sent", None) for state in daemon.states().values()), daemon.states()
        finally:
            await daemon.notifier.close()

    asyncio.run(go())
    assert graph.graph.writes()[4:] == [("PATCH", 200), ("PATCH", 429), ("PATCH", 200), ("PATCH", 200)]
    assert "changed in Microsoft 365" not in caplog.text  # the ETag of the update that landed was kept


@pytest.mark.parametrize(("setup", "said"), [
    ("forbidden", ["HTTP 403 ErrorAccessDenied", "Calendars.ReadWrite", "application access policy"]),
    ("secret", ["AADSTS7000215", "Invalid client secret"]),
], ids=["access-denied", "wrong-secret"])
def test_a_refused_write_says_why_is_retried_and_marks_the_calendar_failing(
        graph: GraphServer, write: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        setup: str, said: list[str]) -> None:
    if setup == "forbidden":
        graph.graph.forbidden = True
    else:
        monkeypatch.setenv("GRAPH_TEST_SECRET", "not-the-secret")
    config = load(write, config_text(graph.url))

    async def go() -> tuple[dict[str, tuple[str, str | None]], dict[str, str]]:
        daemon = Daemon(tmp_path / "state", config)
        try:
            await daemon.sync(config)
            channel = daemon.notifier.channels["caldav"]
            return daemon.states(), dict(channel.failing)  # type: ignore[attr-defined]
        finally:
            await daemon.notifier.close()

    states, failing = asyncio.run(go())
    assert {s for s, _ in states.values()} == {"pending"}  # retried: the fix is an administrator's
    for _, error in states.values():
        assert error is not None and all(s in error for s in said), error
        assert SECRET not in error and "not-the-secret" not in error
    assert list(failing) == ["finance-365"]  # what /healthz and outage_calendar_up report


def test_a_graph_that_does_not_answer_fails_the_write_within_its_timeout(
        graph: GraphServer, write: Callable[..., Path], tmp_path: Path) -> None:
    config = load(write, config_text(graph.url, extra=", timeout: 1s"))
    graph.graph.slow = 5

    began = time.monotonic()
    states = Daemon.synced(tmp_path / "state", config)
    assert time.monotonic() - began < 4.5  # two writes, each given up after 1s
    assert sorted(states.values()) == [("pending", "no answer within 1s (the whole write)")] * 2


def test_a_write_past_its_deadline_keeps_what_landed_and_goes_on_from_there(
        graph: GraphServer, write: Callable[..., Path], tmp_path: Path) -> None:
    config = load(write, config_text(graph.url, extra=", timeout: 2s"))
    graph.graph.slow = 0.7  # every request answers in time; weekly-db's four (a search, three creates) do not

    async def go() -> tuple[dict[str, tuple[str, str | None]], str | None]:
        daemon = Daemon(tmp_path / "state", config)
        try:
            await daemon.sync(config)
            states, memo = daemon.states(), daemon.notifier.ledger.get_meta("caldav:finance-365:weekly-db")
            graph.graph.slow = 0
            await daemon.sync(config, NOW + timedelta(minutes=5))
            assert_in_step(graph, daemon, config)
            return states, memo
        finally:
            await daemon.notifier.close()

    states, memo = asyncio.run(go())
    assert states == {"vat/push/0 finance-365": ("sent", None),
                      "weekly-db/push/0 finance-365": ("pending", "no answer within 2s (the whole write)")}
    assert memo is not None and 1 <= len(json.loads(memo)["events"]) < 3  # what landed is kept
    posts = [r for r in graph.graph.requests if r.method == "POST" and "/events" in r.path]
    assert len(posts) <= 5  # vat's, weekly-db's three, and at most one cut off by the deadline, sent again


@pytest.mark.parametrize(("garbled", "said"), [
    ({"GET": (200, "text/html", "<html>Sign in to the proxy</html>")},
     "GET https://127.0.0.1:{port}/v1.0/users/finance@contoso.com/calendar/events: HTTP 200 but not a page of "
     "Graph events (expected JSON with a list of them as 'value')"),
    ({"POST": (201, "application/json", '{"status": "ok"}')},
     "POST https://127.0.0.1:{port}/v1.0/users/finance@contoso.com/calendar/events: HTTP 201 but not a Graph event "
     "(expected JSON with its 'id')"),
], ids=["html-page", "json-without-id"])
def test_an_answer_that_is_not_what_graph_gives_fails_the_write_for_a_retry(
        graph: GraphServer, write: Callable[..., Path], tmp_path: Path, garbled: dict[str, tuple[int, str, str]],
        said: str) -> None:
    config = load(write, config_text(graph.url))
    graph.graph.garbled = garbled

    async def go() -> dict[str, tuple[str, str | None]]:
        daemon = Daemon(tmp_path / "state", config)
        try:
            await daemon.sync(config)
            states = daemon.states()
            graph.graph.garbled = {}
            await daemon.sync(config, NOW + timedelta(minutes=5))  # retried: now in step
            assert_in_step(graph, daemon, config)
            return states
        finally:
            await daemon.notifier.close()

    states = asyncio.run(go())
    assert sorted(states.values()) == [("pending", said.format(port=graph.port))] * 2


def test_a_write_cancelled_halfway_keeps_what_landed(graph: GraphServer, write: Callable[..., Path],
                                                     tmp_path: Path) -> None:
    config = load(write, config_text(graph.url))

    async def go() -> str | None:
        daemon = Daemon(tmp_path / "state", config)
        try:
            channel, payload = await delivery_of(daemon, config, "weekly-db/push/0")
            graph.graph.slow = 0.5
            sending = asyncio.create_task(channel.send("finance-365", payload))
            for _ in range(200):  # until the first create is answered, the second on its way
                await asyncio.sleep(0.05)
                if ("POST", 201) in graph.graph.writes():
                    break
            await asyncio.sleep(0.2)
            sending.cancel()  # the daemon stopping
            with pytest.raises(asyncio.CancelledError):
                await sending
            return await channel.memo.get("caldav:finance-365:weekly-db")  # type: ignore[no-any-return]
        finally:
            await daemon.notifier.close()

    memo = asyncio.run(go())
    assert memo is not None and len(json.loads(memo)["events"]) == 1


@pytest.mark.parametrize(("window", "language", "alarms", "expected"), [
    ("{id: w, system: DB, timezone: Europe/Berlin, start: 2026-03-29 01:00, end: 2026-03-29 04:00}", "en", "[2h]",
     {"start": {"dateTime": "2026-03-29T00:00:00", "timeZone": "UTC"},
      "end": {"dateTime": "2026-03-29T02:00:00", "timeZone": "UTC"}, "isAllDay": False, "subject": "DB",
      "isReminderOn": True, "reminderMinutesBeforeStart": 120}),
    ("{id: w, system: 发票, title: 升级, start: 2026-05-01, end: 2026-05-02, status: cancelled}", "zh-CN", "[]",
     {"start": {"dateTime": "2026-05-01T00:00:00", "timeZone": "Asia/Shanghai"},
      "end": {"dateTime": "2026-05-03T00:00:00", "timeZone": "Asia/Shanghai"}, "isAllDay": True,
      "subject": "【已取消】发票：升级", "isReminderOn": False}),
    ("{id: w, system: DB, timezone: America/New_York, start: 2026-11-01, end: 2026-11-01}", "en", "[]",
     {"start": {"dateTime": "2026-11-01T00:00:00", "timeZone": "America/New_York"},
      "end": {"dateTime": "2026-11-02T00:00:00", "timeZone": "America/New_York"}, "isAllDay": True}),
], ids=["timed-across-berlin-spring-forward", "all-day-cancelled-zh", "all-day-on-new-york-fall-back"])
def test_a_window_becomes_the_graph_event(config_of: Callable[[str], Config], window: str, language: str,
                                          alarms: str, expected: dict[str, Any]) -> None:
    from outage_daemon.formats.graph import event

    config = config_of(f"timezone: Asia/Shanghai\nlanguage: {language}\n"
                       f"calendar: {{domain: s.example.com, alarms: {alarms}}}\nwindows:\n  - {window}\n")
    w = config.windows[0]
    got = event(w, config, "once", Occurrence(w.id, w.start, w.end), "0:0")
    assert {k: got.get(k) for k in expected} == expected
    assert ("reminderMinutesBeforeStart" in got) == ("reminderMinutesBeforeStart" in expected)
    assert [p["value"] for p in got["singleValueExtendedProperties"]] == ["w@s.example.com", "once", "0:0"]


@pytest.mark.parametrize(("entry", "error"), [
    ("{kind: graph, client_id: c, client_secret_env: S, mailbox: m@example.com}",
     "cfg.yaml:4: calendars.fin.tenant: missing (required)"),
    ("{kind: graph, tenant: t, client_id: c, mailbox: m@example.com}",
     "cfg.yaml:4: calendars.fin: one of client_secret_file, client_secret_env, client_secret_credential is required"),
    ("{kind: graph, tenant: t, client_id: c, client_secret_env: S, client_secret_file: s, mailbox: m@example.com}",
     "cfg.yaml:4: calendars.fin: set only one of client_secret_file"),
    ("{kind: graph, tenant: t, client_id: c, client_secret_env: S, mailbox: m@example.com, url: 'https://x/'}",
     "cfg.yaml:4: calendars.fin.url: `url` is for a `caldav` or `google` calendar, not `graph`"),
    ("{kind: caldav, url: 'https://dav.example.com/c/', mailbox: m@example.com}",
     "cfg.yaml:4: calendars.fin.mailbox: `mailbox` is for a `graph` calendar, not `caldav`"),
    ("{kind: graph, tenant: t, client_id: c, client_secret_env: S, mailbox: 'a b'}", "cfg.yaml:4: calendars.fin.mailbox:"),
], ids=["no-tenant", "no-secret", "two-secrets", "caldav-key-on-graph", "graph-key-on-caldav", "mailbox-with-space"])
def test_graph_calendar_errors_name_their_line(errors_of: Callable[[str], list[str]], entry: str, error: str) -> None:
    errors = errors_of(f"audiences: {{finance: {{email: [a@example.com]}}}}\nwindows: []\ncalendars:\n  fin: {entry}\n")
    assert any(e.startswith(error) for e in errors), errors


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "outage_daemon", *args], capture_output=True, text=True,
                          timeout=60, check=False)


def test_send_test_writes_one_event_and_deletes_it(graph: GraphServer, write: Callable[..., Path]) -> None:
    path = str(write(config_text(graph.url)))
    done = cli("send-test", "-c", path, "--calendar", "finance-365", "--window", "weekly-db")
    assert done.returncode == 0, done.stderr
    assert "wrote a test event (outage-daemon-test-" in done.stdout and f"({MAILBOX})" in done.stdout
    assert graph.graph.writes() == [("POST", 201), ("DELETE", 204)]
    post = next(r.body for r in graph.graph.requests if r.method == "POST" and r.path.endswith("/events"))
    assert (post["subject"], post["start"]["dateTime"]) == ("[Test] Core database", "2026-03-22T00:00:00")
    assert graph.graph.events == {}


def test_another_calendar_of_the_mailbox_is_written_where_it_is(graph: GraphServer, write: Callable[..., Path],
                                                                tmp_path: Path) -> None:
    config = load(write, config_text(graph.url, extra=", calendar_id: AAMkAGI2TGuLAAA="))

    Daemon.synced(tmp_path / "state", config, check=lambda d, c: assert_in_step(graph, d, c))
    paths = {r.path for r in graph.graph.requests if r.method in ("GET", "POST") and r.path.endswith("/events")}
    assert paths == {f"/v1.0/users/{MAILBOX}/calendars/AAMkAGI2TGuLAAA=/events"}


def test_history_shows_the_pushes(graph: GraphServer, write: Callable[..., Path], tmp_path: Path) -> None:
    path = str(write(config_text(graph.url)))
    Daemon.synced(tmp_path / "state", load(write, config_text(graph.url)))
    shown = cli("history", "-c", path, "--state-dir", str(tmp_path / "state"), "--window", "vat", "--json")
    assert shown.returncode == 0, shown.stderr
    assert [(e["key"], e["kind"], e["recipient"], e["channel"], e["state"]) for e in json.loads(shown.stdout)] == [
        ("vat/push/0", "push", "finance-365", "graph", "sent")]


@pytest.mark.skipif(not os.environ.get("OUTAGE_TEST_GRAPH"),
                    reason="live Microsoft 365 test: set OUTAGE_TEST_GRAPH=tenant,client_id,secret,mailbox to run it")
def test_live_send_test_against_a_real_tenant(write: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    tenant, client_id, secret, mailbox = os.environ["OUTAGE_TEST_GRAPH"].split(",", 3)
    monkeypatch.setenv("GRAPH_LIVE_SECRET", secret)
    path = str(write(f"""
timezone: Asia/Shanghai
calendar: {{domain: status.example.com}}
calendars:
  live: {{kind: graph, tenant: "{tenant}", client_id: "{client_id}", client_secret_env: GRAPH_LIVE_SECRET,
         mailbox: "{mailbox}"}}
windows:
  - {{id: live-test, system: outage-daemon live test, start: 2030-01-01 10:00, end: 2030-01-01 11:00}}
"""))
    done = cli("send-test", "-c", path, "--calendar", "live", "--window", "live-test")
    assert done.returncode == 0, done.stderr

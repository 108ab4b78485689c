"""The dispatcher, table-driven with explicit ``now``: catch-up, milestones, lifecycle notices."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from outage_daemon.core.decide import Schedule, changes, decide
from outage_daemon.core.model import Config
from outage_daemon.core.planner import plan
from outage_daemon.core.timerules import UTC

CONFIG = """
timezone: Asia/Shanghai
audiences: {finance: {email: [f@example.com]}}
notify: {before_stop: [1d, 2h, 15m], before_restore: [30m], late_limit: 2h}
windows:
  - {id: vat, system: 增值税, start: 2023-10-15 22:00, end: 2023-10-16 06:00}
"""


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize(("now", "last_run", "send", "skipped"), [
    pytest.param("2023-10-14T22:00+08:00", "2023-10-14T21:59+08:00", ["before_stop/1d"], [], id="on-time"),
    pytest.param("2023-10-14T22:40+08:00", "2023-10-14T21:00+08:00", ["before_stop/1d"], [], id="late-within-limit"),
    pytest.param("2023-10-15T00:30+08:00", "2023-10-14T21:00+08:00", [],
                 [("before_stop/1d", "more than late_limit (2h) late")], id="late-past-limit"),
    pytest.param("2023-10-15T21:50+08:00", "2023-10-14T12:00+08:00", ["before_stop/15m"],
                 [("before_stop/1d", "more than late_limit (2h) late"),
                  ("before_stop/2h", "superseded by the newer before_stop")], id="several-missed-newest-only"),
    pytest.param("2023-10-15T22:20+08:00", "2023-10-15T19:00+08:00", ["at_stop/"],
                 [("before_stop/15m", "its milestone has passed"), ("before_stop/2h", "its milestone has passed")],
                 id="milestone-passed"),
    pytest.param("2023-10-16T06:10+08:00", "2023-10-15T21:00+08:00", ["at_restore/"],
                 [("at_stop/", "the window is already over"), ("before_restore/30m", "its milestone has passed"),
                  ("before_stop/15m", "its milestone has passed")], id="down-through-the-window"),
])
def test_catch_up(config_of: Callable[[str], Config], now: str, last_run: str, send: list[str],
                  skipped: list[tuple[str, str]]) -> None:
    config = config_of(CONFIG)
    candidates = plan(config, at(last_run), at(now) + timedelta(microseconds=1))
    sends, skips = decide(candidates, set(), at(now))
    assert [s.key.split("/", 2)[2] for s in sends] == send
    assert sorted((s.key.split("/", 2)[2], s.reason) for s in skips) == sorted(skipped)


def test_newest_missed_reminder_is_the_newest_in_real_time_on_a_fall_back_night(
        config_of: Callable[[str], Config]) -> None:
    config = config_of("""
timezone: America/New_York
audiences: {ops: {email: [o@example.com]}}
notify: {before_stop: [90m, 1h], late_limit: 2h}
windows:
  - {id: ny, system: s, start: "2026-11-01T02:00-05:00", end: 2026-11-01 04:00}
""")
    now = at("2026-11-01T06:10Z")  # 01:10 EST; 90m before was 01:30 EDT, 1h before 01:00 EST
    sends, skips = decide(plan(config, at("2026-11-01T05:00Z"), now + timedelta(microseconds=1)), set(), now)
    assert [s.key.split("/", 2)[2] for s in sends] == ["before_stop/1h"]
    assert [(s.key.split("/", 2)[2], s.reason) for s in skips] == [("before_stop/1h30m",
                                                                     "superseded by the newer before_stop")]


def test_already_decided_is_not_decided_again(config_of: Callable[[str], Config]) -> None:
    config = config_of(CONFIG)
    now = at("2023-10-14T22:00+08:00")
    candidates = plan(config, now - timedelta(hours=1), now + timedelta(microseconds=1))
    assert decide(candidates, {candidates[0].key}, now) == ([], [])


def test_expiry_never_after_the_milestone(config_of: Callable[[str], Config]) -> None:
    config = config_of(CONFIG)
    now = at("2023-10-15T21:45+08:00")
    [send], _ = decide(plan(config, now, now + timedelta(microseconds=1)), set(), now)
    assert send.kind == "before_stop" and send.expires == at("2023-10-15T22:00+08:00")


def test_reschedule_drops_old_reminders_plans_new_and_one_notice(config_of: Callable[[str], Config]) -> None:
    old = config_of(CONFIG)
    new = config_of(CONFIG.replace("2023-10-15 22:00, end: 2023-10-16 06:00", "2023-10-22 22:00, end: 2023-10-23 06:00"))
    now = at("2023-10-10T12:00+08:00")
    known = {w.id: Schedule.of(w) for w in old.windows}
    [notice] = changes(new, known, now)
    assert notice.kind == "rescheduled" and notice.previous == known["vat"]
    assert notice.key.startswith("vat/notice/rescheduled/")
    until = at("2023-11-01T00:00+08:00")
    old_keys = {r.key for r in plan(old, now, until)}
    new_keys = {r.key for r in plan(new, now, until)}
    assert not old_keys & new_keys and len(new_keys) == 6
    assert min(r.due for r in plan(new, now, until)) == at("2023-10-21T22:00+08:00")
    # Seen again unchanged: nothing more to say.
    assert changes(new, {w.id: Schedule.of(w) for w in new.windows}, now) == []


def test_cancelled_window(config_of: Callable[[str], Config]) -> None:
    live = config_of(CONFIG)
    gone = config_of(CONFIG.replace("06:00}", "06:00, status: cancelled}"))
    now = at("2023-10-10T12:00+08:00")
    [notice] = changes(gone, {w.id: Schedule.of(w) for w in live.windows}, now)
    assert notice.kind == "cancelled" and notice.expires >= at("2023-10-16T06:00+08:00")
    assert plan(gone, now, at("2023-11-01T00:00+08:00")) == []
    assert changes(gone, {w.id: Schedule.of(w) for w in gone.windows}, now) == []


def test_announce_only_future_windows_and_respect_on_change(config_of: Callable[[str], Config]) -> None:
    config = config_of(CONFIG + """
  - {id: past, system: x, start: 2020-01-01 10:00, end: 2020-01-01 11:00}
  - {id: quiet, system: y, start: 2023-12-01 10:00, end: 2023-12-01 11:00, notify: {on_change: false}}
""")
    notices = changes(config, {}, at("2023-10-10T12:00+08:00"))
    assert [(n.window.id, n.kind) for n in notices] == [("vat", "announced")]

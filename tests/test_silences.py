"""Alertmanager silences for the windows: the pure rules table-driven (a DST zone included), then the
shell against a real Alertmanager (Debian's binary, clustering off): a silence made ahead of the stop,
an alert reported silenced during the window, the silence moved on a reschedule and expired on a
cancellation, Grafana's path prefix, and one set only when two replicas share a PostgreSQL ledger."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from alertmanager import AlertmanagerProcess

from outage_daemon.core.model import Config, Matcher
from outage_daemon.core.silences import CREATED_BY, Listed, Silence, desired, reconcile
from outage_daemon.core.timerules import UTC
from outage_daemon.ledger import Ledger, default_url, open_ledger
from outage_daemon.loader import load
from outage_daemon.silencer import Db, sync

BERLIN = """
timezone: Europe/Berlin
monitoring:
  alertmanager:
    - url: http://127.0.0.1:9/
      before: 10m
      after: 30m
      ahead: 2d
      systems:
        core-db: ['job="postgres"']
      windows:
        db-weekly: ['instance=~"db[0-9]+"']
windows:
  - {id: db-weekly, system: core-db, start: 2026-03-22 02:00, end: 2026-03-22 04:00, repeat: "FREQ=WEEKLY;BYDAY=SU"}
  - {id: vat, system: vat, start: 2026-03-28 22:00, end: 2026-03-29 06:00}
  - {id: db-move, system: core-db, start: 2026-03-28 22:00, end: 2026-03-29 06:00, status: tentative}
  - {id: db-gone, system: core-db, start: 2026-03-28 22:00, end: 2026-03-29 06:00, status: cancelled}
"""
JOB = Matcher("job", "postgres", False, True)
INSTANCE = Matcher("instance", "db[0-9]+", True, True)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# (id, now, [(window, occurrence, starts, ends)]): only db-weekly has matchers and is confirmed;
# 2026-03-29 02:00 does not exist in Berlin (spring forward): that occurrence starts at 03:00 CEST.
DESIRED = [
    ("too-far-ahead", "2026-03-19T23:00:00+01:00", []),
    ("ahead-by-2d", "2026-03-20T01:50:00+01:00",
     [("db-weekly", "20260322T010000Z", "2026-03-22T01:50:00+01:00", "2026-03-22T04:30:00+01:00")]),
    ("during", "2026-03-22T03:00:00+01:00",
     [("db-weekly", "20260322T010000Z", "2026-03-22T01:50:00+01:00", "2026-03-22T04:30:00+01:00")]),
    ("in-the-after-margin", "2026-03-22T04:29:59+01:00",
     [("db-weekly", "20260322T010000Z", "2026-03-22T01:50:00+01:00", "2026-03-22T04:30:00+01:00")]),
    ("margin-over", "2026-03-22T04:30:00+01:00", []),
    ("dst-night", "2026-03-28T12:00:00+01:00",
     [("db-weekly", "20260329T010000Z", "2026-03-29T02:50:00+02:00", "2026-03-29T05:30:00+02:00")]),
]


@pytest.mark.parametrize(("now", "expected"), [(c[1], c[2]) for c in DESIRED], ids=[c[0] for c in DESIRED])
def test_desired_silences(config_of: Callable[[str], Config], now: str,
                          expected: list[tuple[str, str, str, str]]) -> None:
    config = config_of(BERLIN)
    got = desired(config, config.alertmanagers[0], at(now))
    assert [(s.window_id, s.occurrence, s.starts, s.ends) for s in got] == [
        (w, o, at(a), at(b)) for w, o, a, b in expected]
    for s in got:
        assert s.matchers == (JOB, INSTANCE)
        assert s.comment.endswith(f"[outage-daemon {s.window_id}/{s.occurrence}]")
        assert "Planned outage of core-db" in s.comment


NOW = at("2026-03-22T00:00:00Z")
WANT = Silence("w", "20260322T010000Z", (JOB,), NOW + timedelta(hours=1), NOW + timedelta(hours=3), "c [x]")


def listed(id: str, state: str = "pending", tag: str | None = "w/20260322T010000Z", starts: datetime = WANT.starts,
           ends: datetime = WANT.ends, by: str = CREATED_BY, matchers: tuple[Matcher, ...] = (JOB,)) -> Listed:
    return Listed(id, state, by, tag, matchers, starts, ends)


# (id, wanted, listed, (created tags, updated ids, expired ids))
RECONCILE: list[tuple[str, list[Silence], list[Listed], tuple[list[str], list[str], list[str]]]] = [
    ("nothing-listed-creates", [WANT], [], (["w/20260322T010000Z"], [], [])),
    ("same-does-nothing", [WANT], [listed("a")], ([], [], [])),
    ("moved-updates", [WANT], [listed("a", ends=WANT.ends + timedelta(hours=1))], ([], ["a"], [])),
    ("matchers-changed-updates", [WANT], [listed("a", matchers=(INSTANCE,))], ([], ["a"], [])),
    ("matchers-reordered-are-the-same", [dataclasses.replace(WANT, matchers=(JOB, INSTANCE))],
     [listed("a", matchers=(INSTANCE, JOB))], ([], [], [])),
    ("not-wanted-expires", [], [listed("a")], ([], [], ["a"])),
    ("window-moved-updates", [WANT], [listed("a", tag="w/20260321T010000Z")], ([], ["a"], [])),
    ("other-window-not-taken", [WANT], [listed("a", tag="v/20260321T010000Z")], (["w/20260322T010000Z"], [], ["a"])),
    ("expired-ones-are-history", [WANT], [listed("a", "expired")], (["w/20260322T010000Z"], [], [])),
    ("others-untouched", [], [listed("a", by="alice"), listed("b", tag=None)], ([], [], [])),
    ("duplicates-keep-the-right-one", [WANT], [listed("b", ends=NOW), listed("a"), listed("c")], ([], [], ["b", "c"])),
]


@pytest.mark.parametrize(("wanted", "found", "expected"), [c[1:] for c in RECONCILE], ids=[c[0] for c in RECONCILE])
def test_reconcile(wanted: list[Silence], found: list[Listed], expected: tuple[list[str], list[str], list[str]]
                   ) -> None:
    changes = reconcile(wanted, found, NOW)
    assert ([s.tag for s in changes.create], [i for i, _ in changes.update], [s.id for s in changes.expire]) == expected


def test_an_active_silence_whose_start_alertmanager_moved_to_now_is_left_alone() -> None:
    """Alertmanager starts a silence posted with a past start when it is posted: not a change."""
    begun = Silence("w", "o", (JOB,), NOW - timedelta(minutes=5), NOW + timedelta(hours=1), "c")
    found = Listed("a", "active", CREATED_BY, "w/o", (JOB,), NOW - timedelta(minutes=1), begun.ends)
    assert not reconcile([begun], [found], NOW)
    assert reconcile([begun], [Listed("a", "pending", CREATED_BY, "w/o", (JOB,), NOW + timedelta(minutes=1),
                                      begun.ends)], NOW).update


# --- against a real Alertmanager -------------------------------------------------------------------------

@pytest.fixture
def am(tmp_path: Path) -> Iterator[AlertmanagerProcess]:
    server = AlertmanagerProcess(tmp_path / "am")
    yield server
    server.stop()


def config_text(url: str, start: datetime, end: datetime, status: str = "confirmed") -> str:
    stamp = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    return f"""
timezone: UTC
monitoring:
  alertmanager:
    - url: {url}
      before: 0s
      after: 1m
      systems:
        core-db: ['job="postgres"']
windows:
  - {{id: db-upgrade, system: core-db, title: Upgrade, start: "{stamp(start)}", end: "{stamp(end)}", status: {status}}}
"""


async def run_sync(config: Config, ledger: Ledger, now: datetime, failing: dict[str, str] | None = None) -> Any:
    async with aiohttp.ClientSession() as session:
        return await sync(config, now, Db(ledger, lambda f, *a: asyncio.to_thread(f, *a)), session, failing)


def alert_state(am: AlertmanagerProcess, name: str) -> dict[str, Any]:
    """Wait (a few seconds at most) until Alertmanager has processed the alert; return its status."""
    deadline = time.monotonic() + 10
    while True:
        found = [a for a in am.api("GET", "/alerts") if a["labels"]["alertname"] == name]
        if (found and found[0]["status"]["state"] != "unprocessed") or time.monotonic() > deadline:
            return dict(found[0]["status"]) if found else {}
        time.sleep(0.2)


def test_silence_made_ahead_active_during_moved_and_expired(am: AlertmanagerProcess, write: Callable[..., Path],
                                                            tmp_path: Path) -> None:
    ledger = open_ledger(default_url(str(tmp_path / "state")))
    try:
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=4)
        end = start + timedelta(hours=1)
        config = load(str(write(config_text(am.url, start, end))))
        done = asyncio.run(run_sync(config, ledger, datetime.now(UTC)))
        assert [(a.action, a.error) for a in done] == [("create", None)]
        [made] = am.silences()
        assert made["status"]["state"] == "pending" and made["createdBy"] == "outage-daemon"
        assert at(made["startsAt"]) == start and at(made["endsAt"]) == end + timedelta(minutes=1)
        assert "[outage-daemon db-upgrade/" in made["comment"]
        assert made["matchers"] == [{"name": "job", "value": "postgres", "isRegex": False, "isEqual": True}]
        assert asyncio.run(run_sync(config, ledger, datetime.now(UTC))) == []  # nothing to change

        time.sleep(max((start - datetime.now(UTC)).total_seconds() + 0.5, 0))
        alerts = [{"labels": {"alertname": name, "job": job, "instance": "db1"}} for name, job in
                  (("DbDown", "postgres"), ("WebDown", "nginx"))]
        am.api("POST", "/alerts", alerts)
        silenced = alert_state(am, "DbDown")
        assert silenced["state"] == "suppressed" and silenced["silencedBy"] == [made["id"]]
        assert alert_state(am, "WebDown")["state"] == "active"  # another job still pages

        moved = load(str(write(config_text(am.url, start + timedelta(hours=2), end + timedelta(hours=2)))))
        done = asyncio.run(run_sync(moved, ledger, datetime.now(UTC)))
        assert [(a.action, a.silence_id, a.error) for a in done] == [("update", done[0].silence_id, None)]
        live = am.silences("pending") + am.silences("active")
        assert [(at(s["startsAt"]), at(s["endsAt"])) for s in live] == [
            (start + timedelta(hours=2), end + timedelta(hours=2, minutes=1))]
        assert live[0]["id"] == done[0].silence_id  # an active silence moved gets a new id: found by its tag

        cancelled = load(str(write(config_text(am.url, start + timedelta(hours=2), end + timedelta(hours=2),
                                               "cancelled"))))
        done = asyncio.run(run_sync(cancelled, ledger, datetime.now(UTC)))
        assert [(a.action, a.silence_id) for a in done] == [("expire", live[0]["id"])]
        assert am.silences("pending") + am.silences("active") == []
        assert [a.action for a in ledger.silence_actions("db-upgrade")] == ["create", "update", "expire"]
    finally:
        ledger.close()


def test_grafana_path_prefix(tmp_path: Path, write: Callable[..., Path]) -> None:
    """Grafana serves the same API under /api/alertmanager/grafana: the URL carries the prefix."""
    am = AlertmanagerProcess(tmp_path / "am", prefix="/api/alertmanager/grafana")
    ledger = open_ledger(default_url(str(tmp_path / "state")))
    try:
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
        config = load(str(write(config_text(am.url, start, start + timedelta(hours=1)))))
        done = asyncio.run(run_sync(config, ledger, datetime.now(UTC)))
        assert [(a.action, a.error) for a in done] == [("create", None)]
        assert len(am.silences("pending")) == 1
    finally:
        ledger.close()
        am.stop()


def test_basic_auth_from_a_password_file(tmp_path: Path, write: Callable[..., Path]) -> None:
    am = AlertmanagerProcess(tmp_path / "am", users={"ops": "pa55-word"})
    ledger = open_ledger(default_url(str(tmp_path / "state")))
    try:
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
        (tmp_path / "am-password").write_text("pa55-word\n")
        text = config_text(am.url, start, start + timedelta(hours=1))
        wrong = load(str(write(text.replace("after: 1m", "after: 1m\n      retry: 1s"))))
        done = asyncio.run(run_sync(wrong, ledger, datetime.now(UTC)))
        assert [a.action for a in done] == ["list"] and "HTTP 401" in (done[0].error or "")
        right = load(str(write(text.replace("after: 1m", "after: 1m\n      username: ops\n      password_file: am-password"))))
        done = asyncio.run(run_sync(right, ledger, datetime.now(UTC)))
        assert [(a.action, a.error) for a in done] == [("create", None)]
        assert len(am.silences("pending")) == 1
    finally:
        ledger.close()
        am.stop()


def test_an_unreachable_alertmanager_is_recorded_not_raised(tmp_path: Path, write: Callable[..., Path]) -> None:
    ledger = open_ledger(default_url(str(tmp_path / "state")))
    try:
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
        text = config_text("http://127.0.0.1:9", start, start + timedelta(hours=1)).replace("after: 1m",
                                                                                           "after: 1m\n      retry: 1s")
        failing: dict[str, str] = {}
        done = asyncio.run(run_sync(load(str(write(text))), ledger, datetime.now(UTC), failing))
        assert [a.action for a in done] == ["list"] and "ClientConnectorError" in (done[0].error or "")
        again = asyncio.run(run_sync(load(str(write(text))), ledger, datetime.now(UTC), failing))
        assert [(a.action, a.error) for a in again] == [("list", done[0].error)]
        assert [a.error for a in ledger.silence_actions()] == [done[0].error]  # recorded once while it lasts
    finally:
        ledger.close()


def test_two_replicas_on_postgresql_make_one_set(am: AlertmanagerProcess, pg_url: str, write: Callable[..., Path]
                                                 ) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    windows = "\n".join(f'  - {{id: w{i}, system: core-db, start: "{(start + timedelta(hours=i)):%Y-%m-%dT%H:%M:%SZ}", '
                        f'end: "{(start + timedelta(hours=i, minutes=30)):%Y-%m-%dT%H:%M:%SZ}"}}' for i in range(5))
    text = config_text(am.url, start, start + timedelta(hours=1)).split("windows:")[0] + "windows:\n" + windows + "\n"
    config = load(str(write(text)))
    ledgers = [open_ledger(pg_url), open_ledger(pg_url)]
    try:
        async def both() -> list[Any]:
            return await asyncio.gather(*(run_sync(config, ledger, datetime.now(UTC)) for ledger in ledgers
                                          for _ in range(2)))

        asyncio.run(both())
        tags = sorted(s["comment"].rsplit("[", 1)[1] for s in am.silences("pending"))
        assert len(tags) == 5 and len(set(tags)) == 5
        assert [a.action for a in ledgers[0].silence_actions()] == ["create"] * 5
    finally:
        for ledger in ledgers:
            ledger.close()


# --- the config: every mistake located, all at once --------------------------------------------------------

ERRORS = [
    ("bad-matcher", "systems: {core-db: ['job=postgres']}",
     "cfg.yaml:5: monitoring.alertmanager[0].systems.core-db[0]: 'job=postgres' is not allowed here: a matcher: "
     "label, one of = != =~ !~, and a quoted value"),
    ("bad-regex", "systems: {core-db: ['job=~\"(\"']}",
     "cfg.yaml:5: monitoring.alertmanager[0].systems.core-db[0]: '(' is not a regular expression: missing ), "
     "unterminated subpattern at position 0"),
    ("matches-everything", "systems: {core-db: ['job=~\".*\"', 'env!=\"dev\"']}",
     "cfg.yaml:5: monitoring.alertmanager[0].systems.core-db: window 'db': every matcher also matches alerts "
     "without the label, which would silence everything: Alertmanager refuses it"),
    ("unknown-window", "windows: {dbb: ['job=\"postgres\"']}",
     "cfg.yaml:5: monitoring.alertmanager[0].windows.dbb: unknown window 'dbb' (known: db)"),
    ("two-secrets", "{token_env: T, password_env: P}",
     "cfg.yaml:5: monitoring.alertmanager[0]: set only one of password_file, password_env, password_credential, "
     "token_file, token_env, token_credential"),
    ("username-alone", "{username: ops}",
     "cfg.yaml:5: monitoring.alertmanager[0].username: username needs a password_file, password_env or "
     "password_credential"),
]


@pytest.mark.parametrize(("entry", "expected"), [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_config_errors_are_located(errors_of: Callable[[str], list[str]], entry: str, expected: str) -> None:
    rest = entry[1:-1] if entry.startswith("{") else entry
    text = f"""
windows:
  - {{id: db, system: core-db, start: 2026-03-22 02:00, end: 2026-03-22 04:00}}
monitoring:
  alertmanager:
    - {{url: "http://am:9093", {rest}}}
"""
    assert expected in [e.split("\n")[0] for e in errors_of(text)]


# --- the real daemon: a window in YAML → a silence in Alertmanager → no page during the outage -----------

def test_daemon_silences_the_window_and_expires_it_on_cancel(am: AlertmanagerProcess, tmp_path: Path) -> None:
    import signal

    from daemonproc import Daemon

    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=15)  # the daemon starts in seconds
    path = tmp_path / "cfg.yaml"
    text = config_text(am.url, start, start + timedelta(hours=1)).replace("after: 1m", "after: 1m\n      token_env: AM_TOKEN")
    path.write_text(text)
    daemon = Daemon(path, tmp_path / "state", watchdog_usec=None, env={"AM_TOKEN": "s3cret-token"})
    try:
        assert daemon.read_notify("READY=1")
        deadline = time.monotonic() + 15
        while not am.silences() and time.monotonic() < deadline:
            time.sleep(0.2)
        [made] = am.silences()
        assert datetime.now(UTC) < start, "the daemon took longer than 15 s to make the silence"
        assert at(made["startsAt"]) == start
        time.sleep(max((start - datetime.now(UTC)).total_seconds() + 0.5, 0))
        am.api("POST", "/alerts", [{"labels": {"alertname": "DbDown", "job": "postgres"}}])
        assert alert_state(am, "DbDown")["state"] == "suppressed"
        assert 'outage_window_active{system="core-db",window="db-upgrade"} 1.0' in daemon.get("/metrics")[2].decode()

        path.write_text(text.replace("status: confirmed", "status: cancelled"))
        daemon.signal(signal.SIGHUP)
        deadline = time.monotonic() + 15
        while am.silences("active") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert am.silences("active") == [] and [s["id"] for s in am.silences("expired")] == [made["id"]]
    finally:
        assert daemon.stop() == 0
    assert "s3cret-token" not in daemon.output()


def test_run_once_from_cron_also_brings_the_silences_in_step(am: AlertmanagerProcess, tmp_path: Path) -> None:
    import subprocess
    import sys

    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    path = tmp_path / "cfg.yaml"
    path.write_text(config_text(am.url, start, start + timedelta(hours=1)))
    args = [sys.executable, "-m", "outage_daemon", "run", "-c", str(path), "--state-dir", str(tmp_path / "state"),
            "--once"]
    first = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert "silences: created 1, updated 0, expired 0, failed 0" in first.stdout
    assert len(am.silences("pending")) == 1
    again = subprocess.run([*args, "--quiet"], capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "silences" not in again.stdout  # nothing to change: nothing said
    am.stop()
    down = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert down.returncode == 1 and "failed 1" in down.stdout and am.url in down.stdout


def test_a_url_holding_a_password_is_refused_where_it_is_written(errors_of: Callable[[str], list[str]]) -> None:
    errors = errors_of("""
windows:
  - {id: db, system: core-db, start: 2026-03-22 02:00, end: 2026-03-22 04:00}
monitoring:
  alertmanager:
    - {url: "http://ops:hunter2@am:9093", systems: {core-db: ['job="postgres"']}}
""")
    assert any(e.startswith("cfg.yaml:5: monitoring.alertmanager[0].url: the URL holds a password") for e in errors), \
        errors
    assert not any("hunter2" in e for e in errors)


def test_a_private_windows_silence_says_nothing_of_it_but_its_times(config_of: Callable[[str], Config]) -> None:
    config = config_of(BERLIN.replace("windows:\n  - {id: db-weekly", """audiences:
  board: {email: [board@example.com], public: false}
windows:
  - {id: db-weekly, audiences: [board], title: Merger cut-over""", 1))
    silences = desired(config, config.alertmanagers[0], at("2026-03-22T03:00:00+01:00"))
    assert [s.window_id for s in silences] == ["db-weekly"]  # still silenced: the monitoring must not page
    assert "Merger" not in silences[0].comment and "core-db" not in silences[0].comment
    assert silences[0].comment.startswith("Planned outage of a private window, 2026-03-22 02:00 to 2026-03-22 04:00")

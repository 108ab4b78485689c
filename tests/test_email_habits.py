"""Email habits (issue 23): every subject of one window shares a stable part, its ``Thread-Topic``,
read from real messages received by a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import cast

import pytest
from ledgers import ledger_in
from smtpsink import Server, Sink

from outage_daemon.channels.email import EmailChannel
from outage_daemon.channels.email.message import payloads
from outage_daemon.channels.render import templates
from outage_daemon.core.decide import Notification
from outage_daemon.core.kinds import Kind
from outage_daemon.core.model import Config
from outage_daemon.core.planner import plan
from outage_daemon.core.records import Schedule
from outage_daemon.core.timerules import UTC
from outage_daemon.pipeline import Notifier

ENV = templates(None)
NOW = datetime(2026, 11, 20, tzinfo=UTC)
CONFIG = """
timezone: Asia/Shanghai
language: {language}
email:
  from: "运维 <ops@example.com>"
  smtp: {{host: 127.0.0.1, port: {port}, security: none, retry: 1s}}
audiences:
  finance: {{email: [zhang@example.com]}}
calendar: {{base_url: https://status.example.com}}
windows:
  - id: db
    system: Core database
    title: 每周例行维护
    start: 2026-12-06 02:00
    end: 2026-12-06 04:00
    audiences: [finance]
"""
TOPICS = {"zh-CN": "Core database「每周例行维护」", "en": "Core database (每周例行维护)"}


def every_kind(config: Config) -> dict[str, Notification]:
    """One notification of every email kind about the window."""
    window = config.windows[0]
    out = {f"{r.kind}-{r.offset.text if r.offset else ''}": Notification(
        r.key, r.kind, r.window, r.due, r.due + timedelta(hours=1), r.occurrence, r.offset)
        for r in plan(config, NOW, NOW + timedelta(days=30))}
    digest = Schedule.of(window).digest
    for kind in (Kind.ANNOUNCED, Kind.CANCELLED):
        out[str(kind)] = Notification(f"db/notice/{kind}/{digest}", kind, window, NOW, NOW + timedelta(days=20))
    earlier = Schedule("2026-12-05T02:00:00+08:00", "2026-12-05T04:00:00+08:00", None, (), "confirmed")
    out["rescheduled"] = Notification(f"db/notice/rescheduled/{digest}", Kind.RESCHEDULED, window, NOW,
                                      NOW + timedelta(days=20), previous=earlier)
    first = next(n for n in out.values() if n.occurrence is not None)
    out["escalated"] = Notification("db/x/escalated/2h", Kind.ESCALATED, window, NOW, NOW + timedelta(days=1),
                                    first.occurrence, audiences=("finance",), missing=("zhang@example.com",))
    out["test"] = Notification("db/test/x", Kind.TEST, window, NOW, NOW)
    return out


def received(config: Config, notifications: list[Notification], sink: Sink, folder: Path,
             recipients: tuple[str, ...] | list[str] = ("zhang@example.com",)) -> list[EmailMessage]:
    """Send each notification to its recipients through the real relay; return what arrived."""
    async def go() -> None:
        channel = EmailChannel(config, ENV, str(folder))
        try:
            for n in notifications:
                for recipient, payload in channel.render(n, list(recipients), n.due, None).items():
                    assert (await channel.send(recipient, payload)).ok
        finally:
            await channel.close()

    asyncio.run(go())
    return [cast(EmailMessage, m) for _, m in sink.received]  # as the server parsed it (policy.default)


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_every_subject_of_a_window_shares_its_topic(config_of: Callable[[str], Config], tmp_path: Path,
                                                   language: str) -> None:
    sink = Sink()
    with Server(sink) as server:
        config = config_of(CONFIG.format(language=language, port=server.port))
        kinds = every_kind(config)
        assert {n.kind for n in kinds.values()} == set(Kind) - {Kind.PUSH}  # every kind that is an email
        messages = received(config, list(kinds.values()), sink, tmp_path)
    assert len(messages) == len(kinds)
    topic = TOPICS[language]
    for name, msg in zip(kinds, messages, strict=True):
        assert topic in str(msg["Subject"]), (name, msg["Subject"])
        assert msg["Thread-Topic"] == (None if name == "test" else topic), name


START = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
LEDGER_CONFIG = """
timezone: UTC
notify: {{before_stop: [2h], at_stop: false, before_restore: [], at_restore: false, late_limit: 1h}}
email:
  from: "ops@example.com"
  smtp: {{host: 127.0.0.1, port: {port}, security: none, retry: 1s}}
audiences: {{team: {{email: [a@example.com]}}}}
windows: {windows}
"""
WINDOW = "[{id: db, system: db, start: 2026-12-06T02:00Z, end: 2026-12-06T04:00Z, audiences: [team]}]"
MOVED = "[{id: db, system: db, start: 2026-12-06T02:00Z, end: 2026-12-06T05:00Z, audiences: [team]}]"


def run_at(config: Config, state: Path, now: datetime) -> None:
    """One pass of the real notifier over the real SQLite ledger in ``state``, at ``now``."""
    async def go() -> None:
        notifier = Notifier.open(config, str(state), lambda: now)
        try:
            await notifier.run_once(timedelta(seconds=5))
        finally:
            await notifier.close()

    asyncio.run(go())


@pytest.mark.parametrize(("history", "kinds"), [
    pytest.param([], [], id="window-there-at-first-start-was-never-announced"),
    pytest.param(["[]"], ["announced"], id="announced-then-reminded"),
    pytest.param(["[]", MOVED], ["announced", "rescheduled"], id="announced-moved-back-reminded"),
])
def test_a_reply_names_only_a_notice_that_was_sent(config_of: Callable[[str], Config], tmp_path: Path,
                                                  history: list[str], kinds: list[str]) -> None:
    """In-Reply-To and References name the first notice the ledger holds as sent to that recipient
    (the announcement, not a reschedule after it), and nothing when none was sent."""
    sink = Sink()
    with Server(sink) as server:
        def cfg(windows: str) -> Config:
            return config_of(LEDGER_CONFIG.format(port=server.port, windows=windows))

        for step, windows in enumerate([*history, WINDOW]):  # each a config the daemon saw, a minute apart
            run_at(cfg(windows), tmp_path, START - timedelta(hours=10) + timedelta(minutes=step))
        run_at(cfg(WINDOW), tmp_path, START - timedelta(hours=2))
    messages = [cast(EmailMessage, m) for _, m in sink.received]
    *notices, reminder = messages
    assert reminder["X-Outage-Key"].endswith("/before_stop/2h")
    assert [m["X-Outage-Key"].split("/")[2] for m in notices] == kinds
    first = notices[0]["Message-ID"] if notices else None
    assert reminder["In-Reply-To"] == reminder["References"] == first
    with ledger_in(tmp_path) as ledger:
        assert {d.message_id for d in ledger.deliveries() if d.state == "sent"} >= {m["Message-ID"] for m in messages}


OPT_OUT = """
timezone: UTC
email:
  from: "运维 <ops@example.com>"
  reply_to: "IT 服务台 <help@example.com>"
  smtp: {{host: 127.0.0.1, port: {port}, security: none, retry: 1s}}
audiences:
  finance:
    email: [a@example.com, "Bo <B@example.com>", c@example.com]
    exclude: [b@example.com]
  财务部: {{email: [b@example.com]}}
windows:
  - {{id: only-finance, system: x, start: 2026-12-06T02:00Z, end: 2026-12-06T04:00Z, audiences: [finance]}}
  - {{id: both, system: y, start: 2026-12-06T02:00Z, end: 2026-12-06T04:00Z, audiences: [finance, 财务部]}}
"""


def test_an_excluded_address_gets_none_of_its_audiences_mail_and_every_mail_says_how_to_leave(
        config_of: Callable[[str], Config], tmp_path: Path) -> None:
    sink = Sink()
    with Server(sink) as server:
        config = config_of(OPT_OUT.format(port=server.port))
        channel = EmailChannel(config, ENV, str(tmp_path))
        try:
            assert channel.recipients(("finance",)) == ["a@example.com", "c@example.com"]
        finally:
            asyncio.run(channel.close())
        announce = [Notification(f"{w.id}/notice/announced/{Schedule.of(w).digest}", Kind.ANNOUNCED, w, NOW,
                                 NOW + timedelta(days=1)) for w in config.windows]
        got = {}
        for n in announce:
            sink.received.clear()
            messages = received(config, [n], sink, tmp_path, channel.recipients(n.window.audiences))
            got[n.window.id] = {str(m["To"]): m for m in messages}
    assert sorted(got["only-finance"]) == ["a@example.com", "c@example.com"]
    assert sorted(got["both"]) == ["a@example.com", "b@example.com", "c@example.com"]  # 财务部 still lists b
    leave = "<mailto:help@example.com?subject=unsubscribe%20finance>"
    assert [m["List-Unsubscribe"] for m in got["only-finance"].values()] == [leave, leave]
    b = got["both"]["b@example.com"]
    assert b["List-Unsubscribe"] == "<mailto:help@example.com?subject=unsubscribe%20%E8%B4%A2%E5%8A%A1%E9%83%A8>"
    assert b["List-Unsubscribe-Post"] is None  # no one-click endpoint: a mail to people, not a fake POST
    quiet = config_of(OPT_OUT.format(port=1).replace('  reply_to: "IT 服务台 <help@example.com>"\n', ""))
    n = replace(announce[0], window=quiet.windows[0])
    [alone] = payloads(n, quiet, ["a@example.com"], NOW, ENV).values()
    assert b"List-Unsubscribe" not in alone  # without reply_to nobody would read the request


def test_exclude_entries_are_checked_where_they_are_written(errors_of: Callable[[str], list[str]],
                                                            config_of: Callable[[str], Config]) -> None:
    text = "audiences:\n  finance:\n    email: [a@example.com]\n    exclude: [a@example.com, 'x, y <z@example.com>']\n"
    [error] = errors_of(text)
    assert error.startswith("cfg.yaml:4:") and "exclude[1]" in error, error
    config = config_of(text.replace(", 'x, y <z@example.com>'", ", z@example.com"))
    [note] = [p for p in config.notes if "excludes nobody" in p.message]
    assert (note.loc.line, note.message) == (4, "'z@example.com' is not in audiences.finance.email: it excludes nobody")
    assert config.audiences["finance"].emails == ()

"""Messages that must not say something false (issue 23): an all-day window's last day, a repeating
window announced as what it is, `announce` of a window that has ended, and tentative windows (in
the subject, and both status changes notified) — in every channel and both languages."""

from __future__ import annotations

import email
import email.policy
import json
import mailbox
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from outage_daemon.channels.render import context, templates
from outage_daemon.channels.webhook import KINDS
from outage_daemon.core.decide import Notification, changes
from outage_daemon.core.kinds import Kind
from outage_daemon.core.model import Config
from outage_daemon.core.planner import plan
from outage_daemon.core.records import Schedule
from outage_daemon.core.timerules import UTC

ENV = templates(None)
LANGUAGES = ["zh-CN", "en"]
CONFIG = """
timezone: Asia/Shanghai
language: {language}
email: {{from: "ops <ops@example.com>"}}
webhooks: {hooks}
audiences:
  finance: {{email: [zhang@example.com], webhooks: [{names}]}}
calendar: {{base_url: https://status.example.com}}
windows:
{windows}
"""
HOOKS = {kind: f"{{kind: {kind}, url_env: X}}" for kind in KINDS if kind != "apprise"}


def config(config_of: Callable[[str], Config], language: str, windows: str) -> Config:
    hooks = "{" + ", ".join(f"{k}: {v}" for k, v in HOOKS.items()) + "}"
    return config_of(CONFIG.format(language=language, hooks=hooks, names=", ".join(HOOKS), windows=windows))


def everything(n: Notification, cfg: Config, now: datetime) -> dict[str, str]:
    """Every rendering people read of one notification: the email's subject, text and HTML, each chat kind."""
    values = context(n, cfg, ENV, "email", now)
    lang = cfg.language
    out = {"subject": str(values["subject"]), "text": ENV.text.get_template(f"{lang}/body.txt").render(values),
           "html": ENV.html.get_template(f"{lang}/body.html").render(values)}
    for kind in HOOKS:
        out[kind] = json.dumps(json.loads(KINDS[kind].payload(n, cfg, ENV, now)), ensure_ascii=False)
    return out


def notice(cfg: Config, kind: Kind, now: datetime, previous: Schedule | None = None) -> Notification:
    window = cfg.windows[0]
    return Notification(f"{window.id}/notice/{kind}/x", kind, window, now, now + timedelta(days=30),
                        previous=previous)


ALL_DAY = """  - id: close
    system: 总账
    start: 2026-12-19
    end: 2026-12-20
    audiences: [finance]
    notify: {before_stop: [1d]}
"""
LAST_DAY = {"zh-CN": ("2026年12月20日（周日）", "2026年12月21日"), "en": ("Sun 20 December 2026", "21 December")}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", [Kind.BEFORE_STOP, Kind.ANNOUNCED, Kind.CANCELLED, Kind.TEST])
def test_an_all_day_window_ends_on_its_last_day_everywhere(config_of: Callable[[str], Config], language: str,
                                                           kind: Kind) -> None:
    cfg = config(config_of, language, ALL_DAY)
    now = datetime(2026, 12, 10, tzinfo=UTC)
    if kind is Kind.BEFORE_STOP:
        r = plan(cfg, now, now + timedelta(days=30))[0]
        n = Notification(r.key, r.kind, r.window, r.due, r.due + timedelta(hours=1), r.occurrence, r.offset)
    else:
        n = notice(cfg, kind, now)
    last, wrong = LAST_DAY[language]
    for where, text in everything(n, cfg, n.due).items():
        if where != "subject":
            assert last in text, (where, text)
        assert wrong not in text, (where, text)


WEEKLY = """  - id: weekly
    system: 核心数据库
    start: 2026-11-01 01:00
    end: 2026-11-01 03:00
    repeat: FREQ=WEEKLY;BYDAY=SU{until}
    audiences: [finance]
"""
REPEAT = {  # language: (the rule, the next occurrence, never ending, ending)
    "zh-CN": ("每周日 01:00–03:00", "12月6日（周日）01:00–03:00", "长期有效", "至 2027年1月31日（周日）"),
    "en": ("Every Sun 01:00–03:00", "Sun 6 Dec 01:00–03:00", "until further notice", "until Sun 31 January 2027"),
}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("until", ["", ";UNTIL=20270131"])
def test_a_repeating_window_is_announced_with_its_rule_next_date_and_end(config_of: Callable[[str], Config],
                                                                          language: str, until: str) -> None:
    cfg = config(config_of, language, WEEKLY.format(until=until))
    now = datetime(2026, 12, 3, 2, tzinfo=UTC)  # Thursday: the first Sunday (1 November) is long past
    [n] = changes(cfg, {}, now)
    rule, following, forever, ending = REPEAT[language]
    rendered = everything(n, cfg, now)
    assert following in rendered["subject"] and rule.lower() in rendered["subject"].lower(), rendered["subject"]
    for where, text in rendered.items():
        assert "11月1日" not in text and "1 Nov" not in text and "1 November" not in text, (where, text)
        if where != "subject":
            assert rule in text and ((ending if until else forever) in text), (where, text)
            assert ("2026年12月6日（周日）01:00" if language == "zh-CN" else "Sun 6 December 2026, 01:00") in text, where


TENTATIVE = """  - id: db
    system: 核心数据库
    start: 2026-12-06 02:00
    end: 2026-12-06 04:00
    status: {status}
    audiences: [finance]
    notify: {{before_stop: [1d]}}
"""


@pytest.mark.parametrize("language", LANGUAGES)
def test_tentative_is_in_every_subject_and_both_status_changes_are_notified(config_of: Callable[[str], Config],
                                                                             language: str) -> None:
    now = datetime(2026, 11, 20, tzinfo=UTC)
    tentative, confirmed = (config(config_of, language, TENTATIVE.format(status=s)) for s in ("tentative", "confirmed"))
    mark = "［待定］" if language == "zh-CN" else "[Tentative]"
    r = plan(tentative, now, now + timedelta(days=30))[0]
    reminder = Notification(r.key, r.kind, r.window, r.due, r.due + timedelta(hours=1), r.occurrence, r.offset)
    assert str(context(reminder, tentative, ENV, "email")["subject"]).startswith(mark)
    assert str(context(notice(tentative, Kind.ANNOUNCED, now), tentative, ENV, "email")["subject"]).startswith(mark)
    assert mark not in str(context(notice(confirmed, Kind.ANNOUNCED, now), confirmed, ENV, "email")["subject"])
    words = {"zh-CN": ("改为待定", "已确认"), "en": ("tentative", "Confirmed")}[language]
    for before, after, word in ((confirmed, tentative, words[0]), (tentative, confirmed, words[1])):
        old = Schedule.of(before.windows[0])
        [n] = changes(after, {"db": old}, now)
        assert n.kind is Kind.RESCHEDULED and n.previous == old
        rendered = everything(n, after, now)
        assert word in rendered["subject"], rendered["subject"]
        assert "12月6日" in rendered["subject"] or "6 Dec" in rendered["subject"]
        for where, text in rendered.items():
            assert ("状态" if language == "zh-CN" else "Status") in text or where == "subject", (where, text)
            assert "原定时间" not in text and "Was:" not in text, (where, text)  # the times did not move
    assert changes(tentative, {"db": Schedule.of(tentative.windows[0])}, now) == []


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "outage_daemon", *args], capture_output=True, text=True,
                          timeout=60, check=False)


def test_announce_refuses_a_window_that_has_ended_and_announces_a_repeat_by_its_next_date(
        write: Callable[..., Path], tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    ended, first = now - timedelta(days=1), now - timedelta(days=21)
    path = write(f"""
timezone: UTC
language: en
audiences: {{finance: {{email: [a@example.com]}}}}
windows:
  - id: over
    system: VAT invoices
    start: {ended - timedelta(hours=2):%Y-%m-%d %H:%M}
    end: {ended:%Y-%m-%d %H:%M}
  - id: weekly
    system: Core database
    start: {first:%Y-%m-%d %H:%M}
    end: {first + timedelta(hours=1):%Y-%m-%d %H:%M}
    repeat: FREQ=WEEKLY
""")
    state = tmp_path / "state"
    common = ["-c", str(path), "--state-dir", str(state)]
    assert cli("run", "--once", *common).returncode == 0
    refused = cli("announce", *common, "over")
    assert refused.returncode == 2 and refused.stdout == "", refused.stdout
    assert len(refused.stderr.strip().splitlines()) == 1 and "'over' ended on " in refused.stderr, refused.stderr
    sent = cli("announce", *common, "weekly")
    assert sent.returncode == 0, sent.stderr
    subjects = [str(email.message_from_bytes(m.as_bytes(), policy=email.policy.default)["Subject"])
                for m in mailbox.Maildir(str(state / "outbox"))]
    [subject] = [s for s in subjects if "outage]" in s]  # the announcement (reminders may be due too)
    following = first + timedelta(weeks=3)
    assert subject.startswith("[Recurring outage] Core database stops every ") and \
        f"next: {following:%a} {following.day} {following:%b}" in subject, subject
    assert f"{first.day} {first:%b}" not in subject

"""Chat parity (issue 23): every webhook kind says the same facts as the email, for every notification
kind and both languages — the times, zone and UTC offset, what to do, the late line, the cancelled
line, the status change, the repetition and the links; or the test names a documented reason."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from outage_daemon.channels.render import context, templates
from outage_daemon.channels.webhook import KINDS
from outage_daemon.core.decide import Notification
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
audiences: {{finance: {{email: [zhang@example.com]}}}}
calendar: {{base_url: https://status.example.com}}
windows:
  - id: db
    system: 核心数据库
    title: 例行维护
    start: 2026-12-06 02:00
    end: 2026-12-06 04:00
    status: {status}
    services: [总账, 报销]
    description: 数据库升级
    alternatives: 紧急报销请走纸质流程。
    contacts: 运维热线 8888
    url: https://intranet.example.com/notice/7
    audiences: [finance]
    notify: {{before_stop: [1d, 15m], before_restore: [30m], late_limit: 1h}}
    {repeat}
"""
WORDS = {  # what the email says in these cases, that every chat kind must say too
    "zh-CN": {"late": "发出较晚", "no_action": "无需任何操作", "was_planned": "原定时间", "status": "状态",
              "repeats": "重复", "still_down": "如仍不能使用"},
    "en": {"late": "went out late", "no_action": "no action needed", "was_planned": "Was", "status": "Status",
           "repeats": "Repeats", "still_down": "it still does not"},
}
NOW = datetime(2026, 11, 20, tzinfo=UTC)
# Chat markdown shows the config's markup characters as full-width look-alikes (so a field cannot add
# a link or emphasis); the facts are compared with those read back as the characters they stand for.
PLAIN = str.maketrans("［］（）＜＞＊＿｀＃～｜！", "[]()<>*_`#~|!")


def cases(config_of: Callable[[str], Config], language: str) -> dict[str, tuple[Notification, Config, datetime]]:
    """Every notification kind (and the late, status-change and repeating variants) with its config
    and when it is rendered."""

    def cfg(status: str = "confirmed", repeat: str = "") -> Config:
        return config_of(CONFIG.format(language=language, status=status, repeat=repeat))

    confirmed = cfg()
    reminders = {(r.kind, r.offset.text if r.offset else None): r
                 for r in plan(confirmed, NOW, NOW + timedelta(days=30))}
    out: dict[str, tuple[Notification, Config, datetime]] = {}
    for (kind, offset), r in reminders.items():
        n = Notification(r.key, r.kind, r.window, r.due, r.due + timedelta(hours=1), r.occurrence, r.offset)
        out[f"{kind}-{offset}"] = (n, confirmed, r.due)
    late = reminders[(Kind.BEFORE_STOP, "15m")]
    out["late"] = (Notification(late.key, late.kind, late.window, late.due, late.due + timedelta(hours=1),
                                late.occurrence, late.offset), confirmed, late.due + timedelta(minutes=9))
    window = confirmed.windows[0]

    def notice(kind: Kind, config: Config, previous: Schedule | None = None) -> tuple[Notification, Config, datetime]:
        return Notification(f"db/notice/{kind}", kind, config.windows[0], NOW, NOW + timedelta(days=20),
                            previous=previous), config, NOW

    out["announced"] = notice(Kind.ANNOUNCED, confirmed)
    out["rescheduled"] = notice(Kind.RESCHEDULED, confirmed, Schedule(
        "2026-12-05T02:00:00+08:00", "2026-12-05T04:00:00+08:00", None, (), "confirmed"))
    out["cancelled"] = notice(Kind.CANCELLED, cfg("cancelled"))
    out["now-tentative"] = notice(Kind.RESCHEDULED, cfg("tentative"), Schedule.of(window))
    out["confirmed"] = notice(Kind.RESCHEDULED, confirmed, Schedule.of(cfg("tentative").windows[0]))
    out["repeating"] = notice(Kind.ANNOUNCED, cfg(repeat="repeat: FREQ=WEEKLY;BYDAY=SU"))
    out["test"] = (Notification("db/test/x", Kind.TEST, window, NOW, NOW), confirmed, NOW)
    return out


def facts(values: dict[str, object], language: str) -> list[str]:
    """Given an email's template values, return the facts its text states (each a piece of text)."""
    words = WORDS[language]
    found = [values["subject"], values["system"], values["title"], values["start"], values["end"], values["duration"],
             values["zone"], values["utc_offset"], values["description"], values["contacts"],
             *values["services"],  # type: ignore[misc]
             values["status_url"], values["feed_url"], values["notice_url"], values["previous_start"],
             values["previous_end"], values["rule"]]
    if not values["cancelled"]:
        found.append(str(values["alternatives"]).rstrip("。"))
    if values["late"]:
        found += [words["late"], values["countdown"]]
    if values["cancelled"]:
        found += [words["no_action"], words["was_planned"]]
    if values["status_change"]:
        found.append(words["status"])
    if values["rule"]:
        found.append(words["repeats"])
    if values["kind"] == "at_restore":
        found.append(words["still_down"])
    return [str(f) for f in found if f]


def shown(kind: str, body: bytes) -> str:
    """Given a webhook payload, return the text its service shows (every string in the document)."""
    strings: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, str):
            strings.append(node)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(body))
    return "\n".join(strings).translate(PLAIN)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("hook", sorted(KINDS))
def test_every_chat_kind_states_what_the_email_states(config_of: Callable[[str], Config], language: str,
                                                      hook: str) -> None:
    for name, (n, cfg, now) in cases(config_of, language).items():
        values = context(n, cfg, ENV, "email", now)
        email_text = ENV.text.get_template(f"{language}/body.txt").render(values)
        text = shown(hook, KINDS[hook].payload(n, cfg, ENV, now))
        for fact in facts(values, language):
            assert fact in email_text, (name, fact)  # the reference says it …
            assert fact.translate(PLAIN) in text, (hook, name, fact, text)  # … and so does the chat message
        assert "。；" not in text and "。;" not in text, (hook, name, text)
        if n.kind is Kind.CANCELLED:  # the cancelled time is the original one, not a downtime
            downtime = "停机时间" if language == "zh-CN" else "Downtime"
            assert downtime not in text, (hook, name, text)


def test_slack_links_are_buttons_and_the_body_is_plain_text(config_of: Callable[[str], Config]) -> None:
    n, cfg, now = cases(config_of, "zh-CN")["before_stop-1d"]
    blocks = json.loads(KINDS["slack"].payload(n, cfg, ENV, now))["blocks"]
    body = [b for b in blocks if b["type"] == "section"][-1]["text"]
    assert body["type"] == "plain_text" and "https://" not in body["text"]  # no URL as unclickable text
    [actions] = [b for b in blocks if b["type"] == "actions"]
    assert [(e["type"], e["text"]["text"], e["url"]) for e in actions["elements"]] == [
        ("button", "状态页", "https://status.example.com/#db"),
        ("button", "订阅日历", "https://status.example.com/#_subscribe"),
        ("button", "原通知", "https://intranet.example.com/notice/7")]

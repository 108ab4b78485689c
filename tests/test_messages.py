"""What people read (issue 14): subjects with absolute times, the true time left in a late reminder,
threading and List-Id, honest wording, chat content and @all — and no field injects a header or markup."""

from __future__ import annotations

import email
import email.policy
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import jinja2
import pytest

from outage_daemon.channels.email.message import list_id, message_id, payloads
from outage_daemon.channels.render import context, templates
from outage_daemon.channels.webhook import KINDS
from outage_daemon.core.decide import Notification
from outage_daemon.core.kinds import Kind
from outage_daemon.core.model import Config
from outage_daemon.core.planner import plan
from outage_daemon.core.records import Schedule
from outage_daemon.core.timerules import UTC

ENV = templates(None)
CONFIG = """
timezone: Asia/Shanghai
language: {language}
email: {{from: "运维 <ops@example.com>"{reply_to}}}
webhooks:
  wecom: {{kind: wecom, url_env: X, mention_all: true}}
  ding: {{kind: dingtalk, url_env: X, mention_all: true}}
  quiet: {{kind: wecom, url_env: X}}
audiences:
  finance: {{email: [zhang@example.com, "李娜 <li.na@example.com>"], webhooks: [wecom, ding, quiet]}}
calendar: {{base_url: https://status.example.com}}
windows:
  - id: db
    system: 核心数据库
    title: 每周例行维护
    start: 2026-12-06 02:00
    end: 2026-12-06 04:00
    services: [总账, 报销]
    description: 数据库升级
    alternatives: 紧急报销请走纸质流程
    contacts: 运维热线 8888
    url: https://intranet.example.com/notice/7
    audiences: [finance]
    notify: {{before_stop: [7d, 1d, 2h, 15m], before_restore: [30m], late_limit: 1h}}
"""


@pytest.fixture
def cfg(config_of: Callable[[str], Config]) -> Callable[..., Config]:
    def make(language: str = "zh-CN", reply_to: str = "") -> Config:
        return config_of(CONFIG.format(language=language, reply_to=f", reply_to: {reply_to}" if reply_to else ""))

    return make


def reminder(config: Config, kind: Kind, offset: str | None) -> Notification:
    """The planned reminder of this kind and offset, as the notifier would hand it on."""
    found = [r for r in plan(config, datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC))
             if r.kind is kind and (r.offset.text if r.offset else None) == offset]
    r = found[0]
    return Notification(r.key, r.kind, r.window, r.due, r.due + timedelta(hours=1), r.occurrence, r.offset)


def notice(config: Config, kind: Kind) -> Notification:
    window = config.windows[0]
    now = datetime(2026, 11, 20, tzinfo=UTC)
    return Notification(f"db/notice/{kind}/{Schedule.of(window).digest}", kind, window, now, now + timedelta(days=20))


LATENESS = [  # (kind, offset, late by, what the zh-CN subject says is left, the en one)
    (Kind.BEFORE_STOP, "15m", timedelta(0), "15分钟", "15 minutes"),
    (Kind.BEFORE_STOP, "15m", timedelta(seconds=30), "15分钟", "15 minutes"),
    (Kind.BEFORE_STOP, "15m", timedelta(minutes=1), "14分钟", "14 minutes"),
    (Kind.BEFORE_STOP, "15m", timedelta(minutes=9), "6分钟", "6 minutes"),
    (Kind.BEFORE_STOP, "15m", timedelta(minutes=14, seconds=30), "不到1分钟", "less than a minute"),
    (Kind.BEFORE_STOP, "2h", timedelta(minutes=61), "59分钟", "59 minutes"),
    (Kind.BEFORE_STOP, "1d", timedelta(minutes=50), "23小时10分钟", "23 hours 10 minutes"),
    (Kind.BEFORE_STOP, "7d", timedelta(minutes=59), "6天23小时", "6 days 23 hours"),
    (Kind.BEFORE_RESTORE, "30m", timedelta(minutes=20), "10分钟", "10 minutes"),
]


@pytest.mark.parametrize(("kind", "offset", "late", "zh", "en"), LATENESS)
def test_a_late_reminder_states_the_time_really_left(cfg: Callable[..., Config], kind: Kind, offset: str,
                                                      late: timedelta, zh: str, en: str) -> None:
    for language, left in (("zh-CN", zh), ("en", en)):
        config = cfg(language)
        n = reminder(config, kind, offset)
        values = context(n, config, ENV, "email", n.due + late)
        subject, body = str(values["subject"]), ENV.text.get_template(f"{language}/body.txt").render(values)
        assert values["countdown"] == left, (language, offset, late)
        assert (f"将于{left}后" if language == "zh-CN" else f" in {left}") in subject, subject
        # the absolute time is there too, so the subject stays true in an inbox
        assert ("12月6日（周日）02:00–04:00" if language == "zh-CN" else "Sun 6 Dec 02:00–04:00") in subject
        is_late = late >= timedelta(minutes=1)
        assert is_late == (("发出较晚" in body) if language == "zh-CN" else ("went out late" in body))
        assert is_late == values["late"]


def test_every_email_kind_threads_under_the_announcement_with_a_list_id(cfg: Callable[..., Config]) -> None:
    config = cfg()
    announcement = notice(config, Kind.ANNOUNCED)
    sent = datetime(2026, 11, 20, tzinfo=UTC)
    [first, _] = payloads(announcement, config, ["zhang@example.com", "李娜 <li.na@example.com>"], sent, ENV).values()
    root = email.message_from_bytes(first, policy=email.policy.default)
    assert root["In-Reply-To"] is None and root["List-Id"] == list_id("finance", config.calendar.domain)
    for kind, offset in ((Kind.BEFORE_STOP, "1d"), (Kind.AT_STOP, None), (Kind.AT_RESTORE, None)):
        n = reminder(config, kind, offset)
        threads = {"zhang@example.com": root["Message-ID"]}  # what the ledger says was sent to them
        data = payloads(n, config, ["zhang@example.com"], n.due, ENV, None, threads)["zhang@example.com"]
        msg = email.message_from_bytes(data, policy=email.policy.default)
        assert msg["In-Reply-To"] == msg["References"] == root["Message-ID"]
        assert msg["Message-ID"] == message_id(n.key, "zhang@example.com", config.calendar.domain)
        assert msg["List-Id"] == "<finance.outages.status.example.com>"


def test_a_test_message_does_not_thread_into_the_windows_thread(cfg: Callable[..., Config]) -> None:
    config = cfg()
    now = datetime(2026, 11, 20, tzinfo=UTC)
    test = Notification("db/test/20261120T000000", Kind.TEST, config.windows[0], now, now)
    msg = email.message_from_bytes(payloads(test, config, ["zhang@example.com"], now, ENV)["zhang@example.com"],
                                   policy=email.policy.default)
    assert msg["In-Reply-To"] is None and msg["References"] is None
    assert msg["Message-ID"] == message_id(test.key, "zhang@example.com", config.calendar.domain)


def test_wording_footer_cancellation_and_preheader(cfg: Callable[..., Config]) -> None:
    config = cfg()
    restore = context(reminder(config, Kind.AT_RESTORE, None), config, ENV, "email")
    assert "计划停机时段" in str(restore["subject"]) and "恢复" not in str(restore["subject"])
    assert "已结束" not in str(restore["subject"]) or "计划" in str(restore["subject"])
    assert "如仍不能使用请联系运维" in str(restore["subject"])  # issue 23: what to do if it is still down
    text = ENV.text.get_template("zh-CN/body.txt").render(restore)
    assert "如仍不能使用，请联系 运维热线 8888。" in text
    html = ENV.html.get_template("zh-CN/body.html").render(context(notice(config, Kind.CANCELLED), config, ENV, "email"))
    assert "<s>2026年12月6日（周日）02:00 至 04:00</s>" in html and "无需任何操作" in html
    assert "请勿回复" in html
    moved = notice(config, Kind.RESCHEDULED)
    moved = Notification(moved.key, moved.kind, moved.window, moved.due, moved.expires,
                         previous=Schedule("2026-12-05T02:00:00+08:00", "2026-12-05T04:00:00+08:00", None, (), "confirmed"))
    html = ENV.html.get_template("zh-CN/body.html").render(context(moved, config, ENV, "email"))
    assert "<s>2026年12月5日（周六）02:00 至 04:00</s>" in html and "<strong>2026年12月6日（周日）02:00 至 04:00</strong>" in html
    replying = cfg(reply_to="help@example.com")
    values = context(reminder(replying, Kind.BEFORE_STOP, "1d"), replying, ENV, "email")
    html = ENV.html.get_template("zh-CN/body.html").render(values)
    assert "请勿回复" not in html and "直接回复" in html
    assert values["preheader"] == "12月6日（周日）02:00–04:00 · 2小时 · 总账、报销"
    assert f'<div style="display:none;max-height:0;overflow:hidden;opacity:0">{values["preheader"]}</div>' in html
    english = cfg("en")
    restore = context(reminder(english, Kind.AT_RESTORE, None), english, ENV, "email")
    assert "planned outage window" in str(restore["subject"]) and "back" not in str(restore["subject"])


def test_chat_carries_description_action_line_notice_link_and_mentions_all_at_stop(cfg: Callable[..., Config]) -> None:
    config = cfg()
    for kind, offset in ((Kind.BEFORE_STOP, "2h"), (Kind.AT_STOP, None), (Kind.AT_RESTORE, None)):
        n = reminder(config, kind, offset)
        content = json.loads(KINDS["wecom"].payload(n, config, ENV, n.due))["markdown"]["content"]
        assert "> 说明：数据库升级" in content and "**停机期间请**：紧急报销请走纸质流程；联系 运维热线 8888" in content
        assert "[原通知](https://intranet.example.com/notice/7)" in content
        assert "[订阅日历](https://status.example.com/#_subscribe)" in content
    at_stop = reminder(config, Kind.AT_STOP, None)
    wecom = json.loads(KINDS["wecom"].payload(at_stop, config, ENV, at_stop.due, True))
    assert wecom["msgtype"] == "text" and wecom["text"]["mentioned_list"] == ["@all"]
    ding = json.loads(KINDS["dingtalk"].payload(at_stop, config, ENV, at_stop.due, True))
    assert ding["at"] == {"isAtAll": True} and ding["markdown"]["text"].endswith("@所有人")
    assert config.webhooks["wecom"].mention_all and not config.webhooks["quiet"].mention_all


HOSTILE = "Evil\nBcc: victim@example.com\nX-Injected: 1 <script>alert(1)</script> [x](javascript:y)"


def test_no_config_field_injects_a_header_or_markup(config_of: Callable[[str], Config]) -> None:
    text = CONFIG.format(language="zh-CN", reply_to="")
    for key in ("system", "title", "description", "alternatives", "contacts"):  # one-line fields refuse the newline
        value = HOSTILE if key in ("description", "alternatives", "contacts") else HOSTILE.replace("\n", " ")
        text = text.replace(f"    {key}: ", f"    {key}: {json.dumps(value)}  # ", 1)
    text = text.replace("url: https://intranet.example.com/notice/7", 'url: "https://x.example.com/a)(b<c>"')
    config = config_of(text)
    for kind, offset in ((Kind.BEFORE_STOP, "15m"), (Kind.AT_STOP, None)):
        n = reminder(config, kind, offset)
        data = payloads(n, config, ["zhang@example.com"], n.due, ENV)["zhang@example.com"]
        msg = email.message_from_bytes(data, policy=email.policy.default)
        assert msg["Bcc"] is None and msg["X-Injected"] is None and len(msg.get_all("Subject")) == 1
        assert "\n" not in str(msg["Subject"])
        html = msg.get_body(("html",)).get_content()
        assert "<script>" not in html and "&lt;script&gt;" in html
        assert 'href="https://x.example.com/a%29%28b%3Cc%3E"' in html
        content = json.loads(KINDS["wecom"].payload(n, config, ENV, n.due))["markdown"]["content"]
        assert "](javascript" not in content and "[原通知](https://x.example.com/a%29%28b%3Cc%3E)" in content


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_a_long_subject_keeps_every_space_between_cjk_words(config_of: Callable[[str], Config], language: str) -> None:
    title = "平台 升级 国家 税务 总局 西安 市税 务局 数据 迁移 二期"  # a space at every place a fold may fall
    config = config_of(CONFIG.format(language=language, reply_to="").replace("title: 每周例行维护", f"title: {title}"))
    n = reminder(config, Kind.BEFORE_STOP, "15m")
    subject = str(context(n, config, ENV, "email", n.due)["subject"])
    assert "平台 升级" in subject and len(subject.encode()) > 80  # folded over several lines
    for data in payloads(n, config, ["zhang@example.com"], n.due, ENV).values():
        msg = email.message_from_bytes(data, policy=email.policy.default)
        assert (msg["Subject"], msg["Thread-Topic"]) == (subject, str(context(n, config, ENV, "email", n.due)["topic"]))
        assert max(len(line) for line in data.split(b"\r\n")) <= 78


def test_a_new_environment_compiles_only_templates_whose_source_changed(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Every reload builds new environments: they reuse what was compiled from the same source (a
    fan-out after a reload does not compile again), compile an edited template anew, and keep the
    text and HTML compilations apart (escaping is compiled in)."""
    (tmp_path / "probe.txt").write_text("{{ v }}", encoding="utf-8")
    compiled: list[str] = []
    real = jinja2.Environment.compile

    def counting(self: jinja2.Environment, source: str, name: str | None = None, *args: object) -> object:
        compiled.append(f"{name} {'html' if self.autoescape else 'text'}")
        return real(self, source, name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    first = templates(str(tmp_path))
    assert first.text.get_template("probe.txt").render(v="<b>") == "<b>"
    assert first.html.get_template("probe.txt").render(v="<b>") == "&lt;b&gt;"
    assert compiled == ["probe.txt text", "probe.txt html"]
    second = templates(str(tmp_path))
    assert second.text.get_template("probe.txt").render(v="<b>") == "<b>"
    assert second.html.get_template("probe.txt").render(v="<b>") == "&lt;b&gt;"
    assert compiled == ["probe.txt text", "probe.txt html"]
    (tmp_path / "probe.txt").write_text("[{{ v }}]", encoding="utf-8")
    assert templates(str(tmp_path)).text.get_template("probe.txt").render(v="<b>") == "[<b>]"
    assert compiled[2:] == ["probe.txt text"]

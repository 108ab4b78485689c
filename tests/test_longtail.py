"""Teams (Workflows webhooks, Adaptive Cards) and the long tail through Apprise, against aiohttp servers
on loopback that play each service: the payload as it arrives, retries through the ledger, failures
recorded, and a restart that sends nothing twice."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from ledgers import ledger_in
from loopback import LoopbackServer
from test_webhooks import config_text, once

from outage_daemon.core.model import Config
from outage_daemon.pipeline import Tally


@dataclass
class Hit:
    """One request as the service saw it."""

    at: float
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Service(LoopbackServer):
    """An aiohttp server in a thread that answers every request from a script of (status, headers, body);
    the last answer repeats."""

    script: list[tuple[int, dict[str, str], str]]
    hits: list[Hit] = field(default_factory=list)
    port: int = 0

    def __post_init__(self) -> None:
        LoopbackServer.__init__(self)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.hits.append(Hit(time.monotonic(), request.method, request.path, dict(request.headers), body))
        status, headers, text = self.script[min(len(self.hits), len(self.script)) - 1]
        return web.Response(status=status, headers=headers, text=text, content_type="application/json")

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/{tail:.*}", self.handle)


@pytest.fixture
def service() -> Iterator[Callable[..., Service]]:
    started: list[Service] = []

    def start(*script: tuple[int, dict[str, str], str]) -> Service:
        server = Service(list(script) or [(200, {}, "{}")])
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


ACCEPTED = (202, {}, "")


@pytest.fixture
def deliver(monkeypatch: pytest.MonkeyPatch, config_of: Callable[[str], Config],
            tmp_path: Path) -> Callable[..., tuple[Tally, Path]]:
    """Run one real pass for a webhook of this kind at this URL; return the tally and the state folder."""

    texts: dict[tuple[str, str], str] = {}  # one config per kind in a test: a second pass must see the same window

    def run(kind: str, url: str, state: str = "state", retry_for: float = 30, language: str | None = None,
            description: str | None = None, **extra: str) -> tuple[Tally, Path]:
        monkeypatch.setenv("ROBOT_URL", url)
        key = (kind, repr(sorted(extra.items())))
        text = texts.setdefault(key, config_text(kind, **extra)).replace(", secret_env: ROBOT_SECRET", "")
        if language:
            text = f"language: {language}\n" + text
        if description is not None:
            text = text.replace("    services:", f"    description: {json.dumps(description, ensure_ascii=False)}\n"
                                                "    alternatives: 请到办税服务厅办理\n    contacts: 029-12345678\n"
                                                "    url: https://tax.example.com/notice/1\n    services:")
        return once(config_of(text), tmp_path / state, retry_for), tmp_path / state

    return run


def delivery(state: Path) -> Any:
    with ledger_in(state) as ledger:
        [row] = ledger.deliveries()
    return row


def card_of(hit: Hit) -> dict[str, Any]:
    doc = hit.json()
    assert doc["type"] == "message" and len(doc["attachments"]) == 1
    [attachment] = doc["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card: dict[str, Any] = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    return card


def texts_of(card: dict[str, Any]) -> list[str]:
    """Every piece of text a Teams client would render as markdown: TextBlocks and fact values."""
    out = []
    for element in card["body"]:
        if element["type"] == "TextBlock":
            out.append(element["text"])
        elif element["type"] == "FactSet":
            out += [f["title"] for f in element["facts"]] + [f["value"] for f in element["facts"]]
    return out


# --- Teams -------------------------------------------------------------------------------------------


def test_teams_adaptive_card_shape_and_202(service: Callable[..., Service], deliver: Callable[..., Any]) -> None:
    teams = service(ACCEPTED)
    tally, state = deliver("teams", f"http://127.0.0.1:{teams.port}/workflows/abc/triggers/manual/paths/invoke",
                           description="第一行说明\n第二行说明")
    [hit] = teams.hits
    assert tally.sent == 1 and hit.method == "POST" and hit.headers["Content-Type"].startswith("application/json")
    card = card_of(hit)
    title, facts = card["body"][0], card["body"][1]
    # issue 14: the subject carries the absolute time after the countdown
    assert title["text"].startswith("【停机提醒】西安增值税发票管理系统「系统升级停机」将于2小时后停机：") and "（周" in title["text"]
    assert title == {"type": "TextBlock", "text": title["text"], "wrap": True, "size": "Medium", "weight": "Bolder"}
    assert facts["type"] == "FactSet"
    named = {f["title"]: f["value"] for f in facts["facts"]}
    assert list(named) == ["系统", "停机时间", "时长", "时区", "影响业务"]
    assert named["系统"] == "西安增值税发票管理系统（系统升级停机）" and named["时长"] == "8小时"
    assert "（周" in named["停机时间"] and " 至 " in named["停机时间"] and named["时区"] == "Asia/Shanghai（UTC+08:00）"
    assert named["影响业务"] == "发票开具、发票查询"
    rest = [e["text"] for e in card["body"][2:]]
    assert rest == ["第一行说明", "第二行说明", "**替代方案**：请到办税服务厅办理", "**联系方式**：029-12345678"]
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "状态页", "url": "https://status.example.com/#vat"},
        {"type": "Action.OpenUrl", "title": "订阅日历", "url": "https://status.example.com/#_subscribe"},  # issue 14: the page's subscribe section
        {"type": "Action.OpenUrl", "title": "原通知", "url": "https://tax.example.com/notice/1"}]
    row = delivery(state)
    assert (row.state, row.attempts, row.channel, row.recipient) == ("sent", 1, "webhook", "robot")


def test_teams_card_in_english(service: Callable[..., Service], deliver: Callable[..., Any]) -> None:
    teams = service(ACCEPTED)
    tally, _ = deliver("teams", f"http://127.0.0.1:{teams.port}/flow", language="en", title="Upgrade")
    card = card_of(teams.hits[0])
    facts = {f["title"]: f["value"] for f in card["body"][1]["facts"]}
    assert tally.sent == 1 and list(facts) == ["System", "Downtime", "Duration", "Time zone", "Affected services"]
    assert facts["Duration"] == "8 hours" and " to " in facts["Downtime"]
    assert [a["title"] for a in card["actions"]] == ["Status page", "Subscribe to the calendar"]


def test_teams_markup_from_the_config_is_inert(service: Callable[..., Service], deliver: Callable[..., Any]) -> None:
    teams = service(ACCEPTED)
    evil = "[点我](http://evil.example) **急** _斜_ {{DATE(2017-02-14T06:00:00Z, SHORT)}} <at>all</at>"
    tally, _ = deliver("teams", f"http://127.0.0.1:{teams.port}/flow", title=evil,
                       description="- 列表项\n1. 编号项\n# 标题 `代码`")
    card = card_of(teams.hits[0])
    texts = "\n".join(texts_of(card))
    assert tally.sent == 1
    for markup in ("[点我]", "](", "**急", "_斜_", "{{", "<at>", "\n- ", "\n1. ", "# ", "`"):
        assert markup not in texts.replace("**替代方案**", "").replace("**联系方式**", ""), markup
    assert "［点我］(http://evil.example) ＊＊急＊＊ ＿斜＿ ｛｛DATE(2017-02-14T06:00:00Z, SHORT)｝｝ ＜at＞all＜/at＞" in texts
    assert "－ 列表项\n1． 编号项\n＃ 标题 ｀代码｀" in texts
    assert all(a["url"].startswith("https://") for a in card["actions"])


def test_teams_429_waits_for_retry_after(service: Callable[..., Service], deliver: Callable[..., Any]) -> None:
    teams = service((429, {"Retry-After": "2"}, '{"error": {"code": "TooManyRequests"}}'), ACCEPTED)
    tally, state = deliver("teams", f"http://127.0.0.1:{teams.port}/flow")
    assert tally.sent == 1 and len(teams.hits) == 2
    assert teams.hits[1].at - teams.hits[0].at >= 2.0  # longer than the 1 s retry: Retry-After honoured
    assert teams.hits[0].body == teams.hits[1].body
    assert (delivery(state).state, delivery(state).attempts) == ("sent", 2)


def test_teams_500_then_202_is_one_delivery(service: Callable[..., Service], deliver: Callable[..., Any]) -> None:
    teams = service((500, {}, '{"error": {"code": "InternalServerError"}}'), ACCEPTED)
    tally, state = deliver("teams", f"http://127.0.0.1:{teams.port}/flow")
    row = delivery(state)
    assert tally.sent == 1 and len(teams.hits) == 2 and (row.state, row.attempts) == ("sent", 2)


def test_teams_400_fails_at_once_with_the_answer(service: Callable[..., Service], deliver: Callable[..., Any]) -> None:
    teams = service((400, {}, '{"error": {"code": "InvalidRequestContent"}}'))
    tally, state = deliver("teams", f"http://127.0.0.1:{teams.port}/flow")
    row = delivery(state)
    assert (tally.sent, tally.failed, len(teams.hits)) == (0, 1, 1)
    assert row.state == "failed" and row.last_error == 'HTTP 400: {"error": {"code": "InvalidRequestContent"}}'


def test_teams_restart_sends_nothing_twice(service: Callable[..., Service], deliver: Callable[..., Any]) -> None:
    teams = service(ACCEPTED)
    url = f"http://127.0.0.1:{teams.port}/flow"
    assert deliver("teams", url)[0].sent == 1
    again, _ = deliver("teams", url)
    assert (again.decided, again.sent, len(teams.hits)) == (0, 0, 1)


# --- Apprise -----------------------------------------------------------------------------------------

OK_JSON = (200, {}, '{"id": 1}')


def check_message(title: str, body: str) -> None:
    """The same content as every other kind: subject, times with weekday and zone, duration, services, links."""
    assert title.startswith("【停机提醒】西安增值税发票管理系统「系统升级停机」将于2小时后停机：") and "（周" in title  # issue 14: absolute time
    assert body.startswith("系统：西安增值税发票管理系统（系统升级停机）\n停机时间：") and "（周" in body
    assert "时长：8小时（时区 Asia/Shanghai）" in body and "影响业务：发票开具、发票查询" in body
    assert "状态页：https://status.example.com/#vat" in body and "订阅日历：https://status.example.com/#_subscribe" in body


def test_apprise_ntfy(service: Callable[..., Service], deliver: Callable[..., Any]) -> None:
    ntfy = service(OK_JSON)
    tally, state = deliver("apprise", f"ntfy://127.0.0.1:{ntfy.port}/outage-ops-7f3a")
    [hit] = ntfy.hits
    doc = hit.json()
    assert tally.sent == 1 and (hit.method, hit.path, doc["topic"]) == ("POST", "/", "outage-ops-7f3a")
    check_message(doc["title"], doc["message"])
    row = delivery(state)
    assert (row.state, row.attempts, row.channel, row.recipient) == ("sent", 1, "webhook", "robot")


def test_apprise_gotify(service: Callable[..., Service], deliver: Callable[..., Any]) -> None:
    gotify = service(OK_JSON)
    tally, _ = deliver("apprise", f"gotify://127.0.0.1:{gotify.port}/AbCdEf123456")
    [hit] = gotify.hits
    doc = hit.json()
    assert tally.sent == 1 and hit.path == "/message" and hit.headers["X-Gotify-Key"] == "AbCdEf123456"
    check_message(doc["title"], doc["message"])


def test_apprise_json_endpoint(service: Callable[..., Service], deliver: Callable[..., Any]) -> None:
    endpoint = service(OK_JSON)
    tally, _ = deliver("apprise", f"json://127.0.0.1:{endpoint.port}/hooks/outage")
    [hit] = endpoint.hits
    doc = hit.json()
    assert tally.sent == 1 and (hit.method, hit.path, doc["type"]) == ("POST", "/hooks/outage", "info")
    check_message(doc["title"], doc["message"])


def test_apprise_failure_is_recorded_redacted_and_retried_by_the_ledger_only(
        service: Callable[..., Service], deliver: Callable[..., Any], caplog: pytest.LogCaptureFixture) -> None:
    ntfy = service((500, {}, '{"error": "boom"}'), OK_JSON)
    url = f"ntfy://127.0.0.1:{ntfy.port}/secret-topic-9q?retry=3"  # Apprise's own retries stay off
    tally, state = deliver("apprise", url, retry_for=0)
    row = delivery(state)
    assert (tally.sent, tally.retrying, len(ntfy.hits)) == (0, 1, 1)
    assert row.state == "pending" and row.last_error == (
        "Failed to send ntfy notification to topic '***': boom, error=500.")
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("outage_daemon"))
    assert "topic '***': boom, error=500." in ours and "secret-topic-9q" not in ours
    again, _ = deliver("apprise", url)  # the same state: the ledger's retry
    assert again.sent == 1 and len(ntfy.hits) == 2 and (delivery(state).state, delivery(state).attempts) == ("sent", 2)


def test_apprise_secrets_stay_out_of_the_daemons_log(
        service: Callable[..., Service], write: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess
    import sys

    ntfy = service((500, {}, '{"error": "boom"}'))
    monkeypatch.setenv("ROBOT_URL", f"ntfy://127.0.0.1:{ntfy.port}/secret-topic-9q")
    path = write(config_text("apprise").replace(", secret_env: ROBOT_SECRET", ""))
    run = [sys.executable, "-m", "outage_daemon", "send-test", "-c", str(path), "--webhook", "robot"]
    done = subprocess.run(run, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1 and len(ntfy.hits) == 1 and "boom, error=500" in done.stdout + done.stderr
    assert "secret-topic-9q" not in done.stdout + done.stderr


def test_apprise_4xx_fails_at_once(service: Callable[..., Service], deliver: Callable[..., Any]) -> None:
    gotify = service((401, {}, '{"error": "Unauthorized"}'))
    tally, state = deliver("apprise", f"gotify://127.0.0.1:{gotify.port}/WrongToken99")
    row = delivery(state)
    assert (tally.failed, len(gotify.hits), row.state) == (1, 1, "failed")
    assert "error=401" in row.last_error and "WrongToken99" not in row.last_error


def test_apprise_network_error_is_temporary(deliver: Callable[..., Any]) -> None:
    tally, state = deliver("apprise", "json://127.0.0.1:9/hooks", retry_for=0)
    row = delivery(state)
    assert tally.retrying == 1 and row.state == "pending"
    assert row.last_error == "A Connection error occurred sending JSON notification to 127.0.0.1."


@pytest.mark.parametrize(("url", "error"), [
    ("nosuchservice://token", "Apprise cannot use this URL (an unknown service, or a malformed URL)"),
    ("json://127.0.0.1:9/a json://127.0.0.1:9/b",
     "the URL holds 2 Apprise services; give each its own webhook (one ledger row per endpoint)"),
])
def test_apprise_url_it_cannot_use_fails_at_once(deliver: Callable[..., Any], url: str, error: str) -> None:
    tally, state = deliver("apprise", url)
    assert tally.failed == 1 and delivery(state).last_error == error


def test_apprise_restart_sends_nothing_twice(service: Callable[..., Service], deliver: Callable[..., Any]) -> None:
    endpoint = service(OK_JSON)
    url = f"json://127.0.0.1:{endpoint.port}/hooks/outage"
    assert deliver("apprise", url)[0].sent == 1
    again, _ = deliver("apprise", url)
    assert (again.decided, again.sent, len(endpoint.hits)) == (0, 0, 1)

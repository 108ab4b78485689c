"""Chat webhooks against a real aiohttp server on loopback that plays each service."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from aiohttp import web
from ledgers import ledger_in
from loopback import LoopbackServer

from outage_daemon.core.model import Config
from outage_daemon.core.timerules import UTC
from outage_daemon.pipeline import Notifier, Tally

SECRET = "s3cr3t-robot"  # noqa: S105 - the test robot's secret


class Robots(LoopbackServer):
    """Chat robots on loopback; records every request and answers per path."""

    def __init__(self) -> None:
        super().__init__()
        self.hits: list[tuple[str, float, dict[str, str], dict[str, str], bytes]] = []
        self.counts: dict[str, int] = {}

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        name = request.match_info["name"]
        self.counts[name] = self.counts.get(name, 0) + 1
        self.hits.append((name, time.monotonic(), dict(request.headers), dict(request.query), body))
        n = self.counts[name]
        if name == "flaky" and n <= 2:
            return web.Response(status=503)
        if name == "bad":
            return web.Response(status=400, text="bad request")
        if name == "errbody":
            return web.json_response({"errcode": 93000, "errmsg": "invalid webhook url"})
        if name == "busy" and n == 1:
            return web.json_response({"errcode": 45009, "errmsg": "api freq out of limit"})
        if name == "ratelimited" and n == 1:
            return web.Response(status=429, headers={"Retry-After": "2"})
        if name == "slow":
            await asyncio.sleep(3)
        if name == "feishu":
            return web.json_response({"code": 0, "msg": "success"})
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/{name}", self.handle)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"


@pytest.fixture(scope="module")
def robots() -> Iterator[Robots]:
    server = Robots()
    server.start()
    yield server
    server.stop()


def config_text(kind: str, title: str = "系统升级停机", timeout: str = "5s") -> str:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2, seconds=-5)
    return f"""
timezone: Asia/Shanghai
notify: {{before_stop: [2h], at_stop: false, before_restore: [], at_restore: false}}
webhooks:
  robot: {{kind: {kind}, url_env: ROBOT_URL, secret_env: ROBOT_SECRET, timeout: {timeout}, retry: 1s}}
audiences: {{ops: {{webhooks: [robot]}}}}
calendar: {{base_url: "https://status.example.com"}}
windows:
  - id: vat
    system: 西安增值税发票管理系统
    title: {json.dumps(title, ensure_ascii=False)}
    services: [发票开具, 发票查询]
    start: {start:%Y-%m-%dT%H:%M:%S}Z
    end: {start + timedelta(hours=8):%Y-%m-%dT%H:%M:%S}Z
"""


def once(config: Config, state: Path, retry_for: float = 30) -> Tally:
    async def go() -> Tally:
        start = time.monotonic()
        base = datetime.now(UTC)
        notifier = Notifier.open(config, str(state), lambda: base + timedelta(seconds=time.monotonic() - start))
        try:
            return await notifier.run_once(timedelta(seconds=retry_for))
        finally:
            await notifier.close()

    return asyncio.run(go())


@pytest.fixture
def hook(monkeypatch: pytest.MonkeyPatch, robots: Robots, config_of: Callable[[str], Config],
         tmp_path: Path) -> Callable[..., tuple[Tally, list[Any], Path]]:
    def run(kind: str, path: str, secret: str | None = SECRET, retry_for: float = 30, **extra: str) -> tuple[
            Tally, list[Any], Path]:
        monkeypatch.setenv("ROBOT_URL", robots.url(path))
        if secret:
            monkeypatch.setenv("ROBOT_SECRET", secret)
        text = config_text(kind, **extra)
        if not secret:
            text = text.replace(", secret_env: ROBOT_SECRET", "")
        state = tmp_path / f"state-{path}-{len(robots.hits)}"
        before = len(robots.hits)
        tally = once(config_of(text), state, retry_for)
        return tally, [h for h in robots.hits[before:] if h[0] == path], state

    return run


def test_generic_payload_and_signature(hook: Callable[..., Any]) -> None:
    tally, [(_, _, headers, _, body)], _ = hook("generic", "generic")
    assert tally.sent == 1
    stamp, signature = headers["X-Outage-Timestamp"], headers["X-Outage-Signature"]
    expected = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert signature == f"sha256={expected}" and abs(int(stamp) - time.time()) < 60
    doc = json.loads(body)
    assert doc["kind"] == "before_stop" and doc["offset"] == "2h" and doc["key"].startswith("vat/")
    assert doc["window"]["id"] == "vat" and doc["subject"].startswith("【停机提醒】西安增值税发票管理系统「系统升级停机」将于2小时后停机：") and "（周" in doc["subject"]


def test_restart_does_not_resend_what_was_accepted(
        robots: Robots, config_of: Callable[[str], Config], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROBOT_URL", robots.url("again"))
    monkeypatch.setenv("ROBOT_SECRET", SECRET)
    config = config_of(config_text("generic"))
    assert once(config, tmp_path / "state").sent == 1
    second = once(config, tmp_path / "state")
    assert (second.decided, second.sent) == (0, 0) and robots.counts["again"] == 1


def test_send_test_webhook(robots: Robots, write: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess
    import sys

    monkeypatch.setenv("ROBOT_URL", robots.url("sendtest"))
    monkeypatch.setenv("ROBOT_SECRET", SECRET)
    path = write(config_text("dingtalk"))
    run = [sys.executable, "-m", "outage_daemon", "send-test", "-c", str(path)]
    ok = subprocess.run([*run, "--webhook", "robot"], capture_output=True, text=True, timeout=60, check=False)
    assert ok.returncode == 0 and "sent a test message to robot through webhook robot (dingtalk)" in ok.stdout
    assert json.loads(robots.hits[-1][4])["markdown"]["title"].startswith("【测试】")
    unknown = subprocess.run([*run, "--webhook", "nope"], capture_output=True, text=True, timeout=60, check=False)
    assert unknown.returncode == 2 and "known: robot" in unknown.stderr
    assert SECRET not in ok.stdout + ok.stderr + unknown.stderr


def test_slack_payload(hook: Callable[..., Any]) -> None:
    tally, [(_, _, headers, _, body)], _ = hook("slack", "slack", secret=None, title="<!channel> & co")
    doc = json.loads(body)
    assert tally.sent == 1 and "X-Outage-Signature" not in headers
    assert doc["text"].startswith("【停机提醒】") and doc["blocks"][0]["type"] == "section"
    assert "<!channel>" not in doc["text"] and "「&lt;!channel&gt; &amp; co」" in doc["text"]  # title escaped
    assert doc["blocks"][1]["text"]["type"] == "plain_text" and "<!channel> & co" in doc["blocks"][1]["text"]["text"]


def test_wecom_markdown_cannot_be_injected(hook: Callable[..., Any]) -> None:
    tally, [(_, _, _, _, body)], _ = hook("wecom", "wecom", secret=None, title="[点我](http://evil.example) **急**")
    doc = json.loads(body)
    content = doc["markdown"]["content"]
    assert tally.sent == 1 and doc["msgtype"] == "markdown"
    assert content.startswith(  # issue 14: absolute time follows; issue 23: the title, cut at 30, inert
        "**【停机提醒】西安增值税发票管理系统「［点我］（http://evil.example） ＊＊急…」将于2小时后停机：")
    assert "［点我］（http://evil.example） ＊＊急＊＊" in content and "](http://evil" not in content
    assert "[状态页](https://status.example.com/#vat)" in content


def test_dingtalk_signature(hook: Callable[..., Any]) -> None:
    tally, [(_, _, _, query, body)], _ = hook("dingtalk", "dingtalk")
    stamp, sign = query["timestamp"], query["sign"]
    expected = base64.b64encode(hmac.new(SECRET.encode(), f"{stamp}\n{SECRET}".encode(), hashlib.sha256).digest())
    assert tally.sent == 1 and unquote(sign).encode() == expected and abs(int(stamp) / 1000 - time.time()) < 60
    doc = json.loads(body)
    assert doc["msgtype"] == "markdown" and doc["markdown"]["title"].startswith("【停机提醒】")


def test_feishu_signature(hook: Callable[..., Any]) -> None:
    tally, [(_, _, _, _, body)], _ = hook("feishu", "feishu")
    doc = json.loads(body)
    expected = base64.b64encode(hmac.new(f"{doc['timestamp']}\n{SECRET}".encode(), b"", hashlib.sha256).digest())
    assert tally.sent == 1 and doc["sign"].encode() == expected
    post = doc["content"]["post"]["zh_cn"]
    assert doc["msg_type"] == "post" and post["title"].startswith("【停机提醒】")
    assert all(part["tag"] == "text" for line in post["content"] for part in line)


def test_503_twice_then_200_is_one_delivery(hook: Callable[..., Any]) -> None:
    tally, hits, state = hook("generic", "flaky")
    assert tally.sent == 1 and len(hits) == 3
    with ledger_in(state) as ledger:
        [d] = ledger.deliveries()
    assert (d.state, d.attempts, d.channel) == ("sent", 3, "webhook")


def test_400_is_not_retried(hook: Callable[..., Any]) -> None:
    tally, hits, state = hook("generic", "bad")
    assert (tally.sent, tally.failed, len(hits)) == (0, 1, 1)
    with ledger_in(state) as ledger:
        [d] = ledger.deliveries()
    assert d.state == "failed" and d.last_error == "HTTP 400: bad request"


def test_200_with_an_error_body_fails(hook: Callable[..., Any]) -> None:
    tally, hits, state = hook("wecom", "errbody", secret=None)
    assert (tally.sent, tally.failed, len(hits)) == (0, 1, 1)
    with ledger_in(state) as ledger:
        [d] = ledger.deliveries()
    assert d.last_error == "wecom error 93000: invalid webhook url"


def test_200_busy_code_is_retried(hook: Callable[..., Any]) -> None:
    tally, hits, _ = hook("wecom", "busy", secret=None)
    assert tally.sent == 1 and len(hits) == 2


def test_429_waits_for_retry_after(hook: Callable[..., Any]) -> None:
    tally, hits, _ = hook("generic", "ratelimited")
    assert tally.sent == 1 and len(hits) == 2
    assert hits[1][1] - hits[0][1] >= 2.0  # Retry-After: 2 is longer than the 1 s retry: honoured


def test_timeout_is_temporary(hook: Callable[..., Any]) -> None:
    tally, hits, state = hook("generic", "slow", timeout="1s", retry_for=0)
    assert tally.sent == 0 and len(hits) == 1
    with ledger_in(state) as ledger:
        [d] = ledger.deliveries()
    assert d.state == "pending" and d.last_error == "no answer within 1s"



def test_url_and_secret_from_systemd_credentials(robots: Robots, config_of: Callable[[str], Config], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "robot-url").write_text(robots.url("credential") + "\n")
    (creds / "robot-secret").write_text(SECRET + "\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    text = config_text("generic").replace("url_env: ROBOT_URL, secret_env: ROBOT_SECRET",
                                          "url_credential: robot-url, secret_credential: robot-secret")
    assert once(config_of(text), tmp_path / "state").sent == 1
    [(_, _, headers, _, body)] = [h for h in robots.hits if h[0] == "credential"]
    expected = hmac.new(SECRET.encode(), headers["X-Outage-Timestamp"].encode() + b"." + body, hashlib.sha256)
    assert headers["X-Outage-Signature"] == f"sha256={expected.hexdigest()}"


def test_names_and_repeat_words_are_inert_in_chat_markdown() -> None:
    from outage_daemon.channels.webhook.base import markdown_safe

    safe = markdown_safe({"missing": ["Eve [click](https://evil.example)", "<b>x</b>"], "rule": "每周日 *01:00*",
                          "repeat_until": "[2026-12-31](https://evil.example)", "ack_url": "https://s.example.com/ack/t"})
    text = " ".join([*map(str, safe["missing"]), str(safe["rule"]), str(safe["repeat_until"])])
    assert not any(ch in text for ch in "[]()<>*"), text
    assert safe["ack_url"] == "https://s.example.com/ack/t"  # links the templates make stay links

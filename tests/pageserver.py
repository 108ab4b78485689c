"""The HTTP app in a thread of this process, on loopback, with a fixed clock: what the browser tests
and `make screenshots` look at."""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from datetime import datetime, timedelta
from pathlib import Path

from aiohttp import web

from outage_daemon.channels.email.message import payloads
from outage_daemon.channels.render import templates
from outage_daemon.core.decide import Notification
from outage_daemon.core.kinds import Kind
from outage_daemon.core.model import Config
from outage_daemon.core.planner import plan
from outage_daemon.core.records import Schedule
from outage_daemon.core.timerules import UTC
from outage_daemon.loader import load
from outage_daemon.web import State, app

DEMO = Path(__file__).resolve().parent / "pagedemo.yaml"
NOW = datetime(2026, 12, 5, 1, 30, tzinfo=UTC)  # Saturday 09:30 in Shanghai


ENGLISH = {  # the demo's own words, for the English page and emails
    "系统停机维护日历": "IT maintenance calendar", "财务系统停机日历": "Finance systems", "运维中心": "IT operations",
    "ERP 财务模块": "ERP finance", "总账模块升级": "General ledger upgrade", "凭证录入": "Journal entry",
    "月结": "Month-end close", "升级总账模块并迁移历史凭证。": "Upgrading the general ledger and moving past entries.",
    "紧急付款请走纸质审批单，停机结束后补录。": "Urgent payments go on the paper approval form and are entered afterwards.",
    "财务系统组 分机 6021": "Finance systems team, ext. 6021", "核心数据库": "Core database",
    "每周例行维护": "Weekly maintenance", "西安增值税发票管理系统": "VAT invoice system", "系统升级停机": "Upgrade",
    "发票开具": "Issuing invoices", "发票认证": "Invoice checks", "发票查询": "Invoice lookup",
    "紧急发票事务请联系当地税务机关。": "For urgent invoices, call the local tax office.", "人事系统": "HR system",
    "数据库迁移": "Database migration", "报销系统": "Expense system", "补丁更新": "Patch", "报销": "Expenses",
    "总账": "General ledger",
}


def words(text: str, language: str) -> str:
    """Given the demo's Chinese text, return it as the demo in ``language`` writes it."""
    if language == "zh-CN":
        return text
    for chinese in sorted(ENGLISH, key=len, reverse=True):
        text = text.replace(chinese, ENGLISH[chinese])
    return text


def demo(language: str, folder: Path) -> Config:
    """The demo config in a language (the windows' own text too)."""
    path = folder / f"demo-{language}.yaml"
    text = DEMO.read_text(encoding="utf-8").replace("language: zh-CN", f"language: {language}")
    path.write_text(words(text, language), encoding="utf-8")
    return load(str(path))


class Server:
    """The app serving ``config`` at ``url``, its clock at ``now`` (movable)."""

    def __init__(self, config: Config, now: datetime = NOW) -> None:
        self.now = now
        self.state = State(config, {}, lambda: self.now)
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(app(self.state))
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(self.runner.setup())
            self.site = web.TCPSite(self.runner, "127.0.0.1", 0)
            self.loop.run_until_complete(self.site.start())
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=serve, daemon=True)
        self.thread.start()
        ready.wait(30)
        port = self.runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/"

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)


def email_html(config: Config, kind: Kind, late: timedelta = timedelta(0)) -> str:
    """The HTML part of the email of ``kind`` about the demo's window down now (its reminders as
    planned, ``late`` after their due time; notices at NOW; a reschedule from a day earlier)."""
    window = config.windows[0]
    env = templates(None)
    if kind.is_reminder:
        found = [r for r in plan(config, NOW - timedelta(days=8), NOW + timedelta(days=1))
                 if r.window.id == window.id and r.kind is kind]
        r = found[-1]
        n = Notification(r.key, r.kind, r.window, r.due, r.due + timedelta(hours=1), r.occurrence, r.offset)
        sent = r.due + late
    else:
        earlier = Schedule((window.start - timedelta(days=1)).isoformat(), (window.end - timedelta(days=1)).isoformat(),
                           None, (), "confirmed")
        n = Notification(f"{window.id}/notice/{kind}/x", kind, window, NOW, NOW + timedelta(days=1),
                         previous=earlier if kind is Kind.RESCHEDULED else None)
        sent = NOW
    data = payloads(n, config, ["zhang.wei@example.com"], sent, env)["zhang.wei@example.com"]
    message = email.message_from_bytes(data, policy=email.policy.default)
    part = message.get_body(("html",))
    assert part is not None
    html: str = part.get_content()
    return html

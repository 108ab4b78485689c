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


def demo(language: str, folder: Path) -> Config:
    """The demo config in a language."""
    path = folder / f"demo-{language}.yaml"
    path.write_text(DEMO.read_text(encoding="utf-8").replace("language: zh-CN", f"language: {language}"),
                    encoding="utf-8")
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

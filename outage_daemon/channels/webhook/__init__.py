"""Chat robots and HTTP endpoints: one module per kind, listed in :data:`KINDS`, sent over one
aiohttp session. Adding a kind: a module with ``KIND = HookKind(...)`` and one line below."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

import aiohttp

from outage_daemon.channels.base import ACCEPTED, Outcome
from outage_daemon.channels.render import Templates
from outage_daemon.channels.webhook import apprise, dingtalk, feishu, generic, slack, teams, wecom
from outage_daemon.channels.webhook.base import HookKind
from outage_daemon.core.decide import Notification
from outage_daemon.core.kinds import Kind
from outage_daemon.core.model import Config
from outage_daemon.core.records import Revision
from outage_daemon.credentials import secret

KINDS: dict[str, HookKind] = {k.name: k for k in (
    generic.KIND,
    slack.KIND,
    wecom.KIND,
    dingtalk.KIND,
    feishu.KIND,
    teams.KIND,
    apprise.KIND,
)}


def _retry_after(value: str | None) -> float | None:
    """Given a Retry-After header (seconds; an HTTP date is not honoured), return seconds or None."""
    if value is None or not value.strip().isdigit():
        return None
    return min(float(value), 3600.0)


class WebhookChannel:
    """The audiences' webhooks; ``recipient`` is the webhook's name. URLs and secrets are read once,
    here (they are secrets: never logged)."""

    name = "webhook"
    concurrency = 8

    def __init__(self, config: Config, env: Templates, clock_ms: Callable[[], int]) -> None:
        self.config, self.env, self.clock_ms = config, env, clock_ms
        self.hooks = dict(config.webhooks)
        self.targets = {name: (secret(h.url_file, h.url_env) or "", secret(h.secret_file, h.secret_env))
                        for name, h in self.hooks.items()}
        self.session: aiohttp.ClientSession | None = None

    def recipients(self, audiences: tuple[str, ...]) -> list[str]:
        """Given audience names, return the names of their webhooks, each once, in order."""
        return list(dict.fromkeys(h for name in audiences if name in self.config.audiences
                                  for h in self.config.audiences[name].webhooks))

    def render(self, notification: Notification, recipients: list[str], now: datetime,
               revision: Revision | None) -> dict[str, bytes]:
        at_stop = notification.kind is Kind.AT_STOP
        return {name: KINDS[self.hooks[name].kind].payload(notification, self.config, self.env, now,
                                                          at_stop and self.hooks[name].mention_all)
                for name in recipients}

    def message_id(self, key: str, recipient: str) -> str | None:
        return None

    def retry_base(self, recipient: str) -> timedelta:
        hook = self.hooks.get(recipient)
        return hook.retry.approx if hook else timedelta(seconds=30)

    async def send(self, recipient: str, payload: bytes) -> Outcome:
        hook = self.hooks.get(recipient)
        if hook is None:
            return Outcome(False, False, f"no webhook named {recipient!r} in the config")
        kind = KINDS[hook.kind]
        url, key = self.targets[recipient]
        if kind.send is not None:
            return await kind.send(url, payload, hook.timeout.approx)
        if self.session is None:
            self.session = aiohttp.ClientSession()
        request = kind.sign(url, key, payload, self.clock_ms())
        timeout = aiohttp.ClientTimeout(total=hook.timeout.approx.total_seconds())
        try:
            async with self.session.post(request.url, data=request.body, headers=request.headers,
                                         timeout=timeout, allow_redirects=False) as response:
                body = await response.read()
                status = response.status
                wait = _retry_after(response.headers.get("Retry-After"))
        except asyncio.TimeoutError:
            return Outcome(False, True, f"no answer within {hook.timeout.text}")
        except aiohttp.ClientError as exc:
            return Outcome(False, True, f"{type(exc).__name__}: {exc}".replace(url, "<url>"))
        if status == 429 or status >= 500:
            return Outcome(False, True, f"HTTP {status}", wait)
        if not 200 <= status < 300:
            return Outcome(False, False, f"HTTP {status}: {body[:200].decode(errors='replace')}")
        accepted, busy, error = kind.verdict(body)
        return ACCEPTED if accepted else Outcome(False, busy, error)

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

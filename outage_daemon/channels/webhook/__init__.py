"""Chat robots and HTTP endpoints: one module per kind, listed in :data:`KINDS`, sent over one
aiohttp session. Adding a kind: a module with ``KIND = HookKind(...)`` and one line below."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import aiohttp

from outage_daemon.channels.base import ACCEPTED, Outcome
from outage_daemon.channels.render import Templates
from outage_daemon.channels.webhook import apprise, dingtalk, feishu, generic, slack, teams, wecom
from outage_daemon.channels.webhook.base import HookKind
from outage_daemon.core.decide import Notification
from outage_daemon.core.kinds import Kind
from outage_daemon.core.model import Config
from outage_daemon.core.records import Revision
from outage_daemon.credentials import CredentialError, secret

KINDS: dict[str, HookKind] = {k.name: k for k in (
    generic.KIND,
    slack.KIND,
    wecom.KIND,
    dingtalk.KIND,
    feishu.KIND,
    teams.KIND,
    apprise.KIND,
)}


MAX_BODY = 64 * 1024  # bytes of a reply read at most: a verdict needs a small JSON document, not more


def _retry_after(value: str | None) -> float | None:
    """Given a Retry-After header (ASCII seconds; an HTTP date or other digits are not honoured),
    return seconds (at most an hour) or None."""
    text = (value or "").strip()
    if not text or not text.isascii() or not text.isdigit():
        return None
    return min(float(text), 3600.0)


async def _body(content: aiohttp.StreamReader) -> bytes:
    """Return the reply's body, or its first MAX_BODY bytes when longer (the rest is never read)."""
    chunks: list[bytes] = []
    size = 0
    while size < MAX_BODY:
        chunk = await content.read(MAX_BODY - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def target(name: str, kind: str, url: str) -> str:
    """Given a webhook's name, kind and URL (a secret), return the URL; raise CredentialError (that
    does not quote it) when it is empty or, for a kind that POSTs itself, not an http(s) URL."""
    if not url.strip():
        raise CredentialError(f"webhook {name}: the URL is empty")
    if KINDS[kind].send is None:
        try:
            parts = urlsplit(url)
            ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        except ValueError:
            ok = False
        if not ok or any(c.isspace() or ord(c) < 32 for c in url):
            raise CredentialError(f"webhook {name}: the URL is not an http:// or https:// URL with a host")
    return url


class WebhookChannel:
    """The audiences' webhooks; ``recipient`` is the webhook's name. URLs and secrets are read once,
    here (they are secrets: never logged)."""

    name = "webhook"
    concurrency = 8

    def __init__(self, config: Config, env: Templates, clock_ms: Callable[[], int]) -> None:
        self.config, self.env, self.clock_ms = config, env, clock_ms
        self.hooks = dict(config.webhooks)
        self.targets = {name: (target(name, h.kind, secret(h.url_file, h.url_env, h.url_credential) or ""),
                               secret(h.secret_file, h.secret_env, h.secret_credential))
                        for name, h in self.hooks.items()}
        self.session: aiohttp.ClientSession | None = None

    def recipients(self, audiences: tuple[str, ...]) -> list[str]:
        """Given audience names, return the names of their webhooks, each once, in order."""
        return list(dict.fromkeys(h for name in audiences if name in self.config.audiences
                                  for h in self.config.audiences[name].webhooks))

    def render(self, notification: Notification, recipients: list[str], now: datetime,
               revision: Revision | None, threads: Mapping[str, str] | None = None,
               links: Mapping[str, str] | None = None) -> dict[str, bytes]:
        at_stop = notification.kind is Kind.AT_STOP
        return {name: KINDS[self.hooks[name].kind].payload(replace(notification, ack_url=links[name]) if links
                                                          else notification, self.config, self.env, now,
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
                body = await _body(response.content)
                status = response.status
                wait = _retry_after(response.headers.get("Retry-After"))
        except asyncio.TimeoutError:
            return Outcome(False, True, f"no answer within {hook.timeout.text}")
        except aiohttp.ClientError as exc:
            return Outcome(False, True, f"{type(exc).__name__}: {exc}".replace(url, "<url>") if url else
                           type(exc).__name__)
        if status == 429 or status >= 500:
            return Outcome(False, True, f"HTTP {status}", wait)
        if not 200 <= status < 300:
            return Outcome(False, False, f"HTTP {status}: {body[:200].decode(errors='replace')}")
        accepted, busy, error = kind.verdict(body)
        return ACCEPTED if accepted else Outcome(False, busy, error)

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

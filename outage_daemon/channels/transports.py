"""Ways a message leaves: a Maildir outbox, or an SMTP relay through a small connection pool.

Each ``send`` returns an :class:`Outcome` for one recipient: accepted, failed for good (5xx), or
worth another try (4xx, network errors, timeouts).
"""

from __future__ import annotations

import asyncio
import mailbox
import os
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import aiohttp
import aiosmtplib

from outage_daemon.channels import webhooks
from outage_daemon.core import addresses
from outage_daemon.core.model import Config, Smtp, Webhook
from outage_daemon.credentials import secret


@dataclass(frozen=True)
class Outcome:
    ok: bool
    temporary: bool = False
    error: str | None = None
    retry_after: float | None = None  # seconds the other side asked us to wait (HTTP Retry-After)


ACCEPTED = Outcome(True)


class Sender(Protocol):
    """Sends one message to one recipient (an address, or a webhook's name)."""

    concurrency: int

    async def send(self, sender: str, recipient: str, payload: bytes) -> Outcome: ...

    async def close(self) -> None: ...


def envelope(address: str) -> str:
    """Given ``Name <a@b>`` or ``a@b``, return the bare address for the SMTP envelope."""
    return addresses.envelope(address)


class Outbox:
    """The embedded default: every message becomes a file in a Maildir (read it with any client)."""

    def __init__(self, folder: str) -> None:
        os.makedirs(os.path.dirname(os.path.abspath(folder)), exist_ok=True)
        self.folder = folder
        self.box = mailbox.Maildir(folder, create=True)
        self.concurrency = 1

    async def send(self, sender: str, recipient: str, payload: bytes) -> Outcome:
        try:
            self.box.add(payload)
        except OSError as exc:
            return Outcome(False, True, f"outbox: {exc.strerror or exc}")
        return ACCEPTED

    async def close(self) -> None:
        return None


class SmtpPool:
    """Up to ``smtp.connections`` SMTP connections, opened on demand, reused, reopened when lost."""

    def __init__(self, smtp: Smtp, password: str | None) -> None:
        self.smtp = smtp
        self.password = password
        self.concurrency = smtp.connections
        self.idle: asyncio.Queue[aiosmtplib.SMTP] = asyncio.Queue()
        for _ in range(smtp.connections):
            self.idle.put_nowait(self._client())

    def _client(self) -> aiosmtplib.SMTP:
        secure = self.smtp.security != "none"
        context = ssl.create_default_context(cafile=self.smtp.ca_file) if secure else None  # verification on
        timeout = self.smtp.timeout.approx.total_seconds()
        return aiosmtplib.SMTP(
            hostname=self.smtp.host, port=self.smtp.port, timeout=timeout,
            use_tls=self.smtp.security == "tls", start_tls=self.smtp.security == "starttls", tls_context=context,
            username=self.smtp.username, password=self.password if self.smtp.username else None,
        )

    async def send(self, sender: str, recipient: str, payload: bytes) -> Outcome:
        client = await self.idle.get()
        try:
            if not client.is_connected:
                await client.connect()
            errors, _ = await client.sendmail(envelope(sender), [envelope(recipient)], payload)
            refused = errors.get(envelope(recipient))
            if refused is not None:  # aiosmtplib reports some refusals without raising
                return Outcome(False, 400 <= refused.code < 500, f"{refused.code} {refused.message}")
            return ACCEPTED
        except aiosmtplib.SMTPRecipientsRefused as exc:
            first = exc.recipients[0]
            return Outcome(False, 400 <= first.code < 500, f"{first.code} {first.message}")
        except aiosmtplib.SMTPResponseException as exc:
            if not 400 <= exc.code < 500:
                await _reset(client)
                return Outcome(False, False, f"{exc.code} {exc.message}")
            await _drop(client)
            return Outcome(False, True, f"{exc.code} {exc.message}")
        except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as exc:
            await _drop(client)
            return Outcome(False, True, f"{type(exc).__name__}: {exc}")
        finally:
            self.idle.put_nowait(client)

    async def close(self) -> None:
        while not self.idle.empty():
            client = self.idle.get_nowait()
            if client.is_connected:
                try:
                    await client.quit()
                except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError):
                    client.close()


async def _reset(client: aiosmtplib.SMTP) -> None:
    """After a refused transaction, make the connection usable again (RSET), or drop it."""
    try:
        await client.rset()
    except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError):
        await _drop(client)


async def _drop(client: aiosmtplib.SMTP) -> None:
    if client.is_connected:
        client.close()


class WebhookSender:
    """Chat robots and HTTP endpoints over one aiohttp session; ``recipient`` is the webhook's name.

    URLs and secrets are read once, here (they are secrets: never logged)."""

    def __init__(self, hooks: dict[str, Webhook], clock_ms: Callable[[], int]) -> None:
        self.hooks = hooks
        self.targets = {name: (secret(h.url_file, h.url_env) or "", secret(h.secret_file, h.secret_env))
                        for name, h in hooks.items()}
        self.clock_ms = clock_ms
        self.concurrency = 8
        self.session: aiohttp.ClientSession | None = None

    async def send(self, sender: str, recipient: str, payload: bytes) -> Outcome:
        hook = self.hooks.get(recipient)
        if hook is None:
            return Outcome(False, False, f"no webhook named {recipient!r} in the config")
        if self.session is None:
            self.session = aiohttp.ClientSession()
        url, key = self.targets[recipient]
        request = webhooks.signed(hook.kind, url, key, payload, self.clock_ms())
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
        accepted, busy, error = webhooks.verdict(hook.kind, body)
        return ACCEPTED if accepted else Outcome(False, busy, error)

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()


def _retry_after(value: str | None) -> float | None:
    """Given a Retry-After header (seconds; an HTTP date is not honoured), return seconds or None."""
    if value is None or not value.strip().isdigit():
        return None
    return min(float(value), 3600.0)


def make_transports(config: Config, directory: str, clock_ms: Callable[[], int]) -> dict[str, Sender]:
    """Given the config and the state directory, return a sender per channel: "email" (the SMTP
    relay, else the Maildir outbox in the state directory) and "webhook"."""
    smtp = config.email.smtp
    email: Sender
    if smtp is None:
        email = Outbox(os.path.join(directory, "outbox"))
    else:
        email = SmtpPool(smtp, secret(smtp.password_file, smtp.password_env, smtp.password_credential))
    return {"email": email, "webhook": WebhookSender(dict(config.webhooks), clock_ms)}


async def close_all(senders: dict[str, Sender]) -> None:
    for sender in senders.values():
        await sender.close()

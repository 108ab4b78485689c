"""An SMTP relay through a small connection pool.

Each ``send`` returns an :class:`Outcome` for one recipient: accepted, failed for good (5xx), or
worth another try (4xx, network errors, timeouts).
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Protocol

import aiosmtplib

from outage_daemon.channels.base import ACCEPTED, Outcome
from outage_daemon.core import addresses
from outage_daemon.core.model import Smtp


class Transport(Protocol):
    """Sends one message to one recipient: the Maildir outbox or an SMTP relay."""

    concurrency: int

    async def send(self, sender: str, recipient: str, payload: bytes) -> Outcome: ...

    async def close(self) -> None: ...


def envelope(address: str) -> str:
    """Given ``Name <a@b>`` or ``a@b``, return the bare address for the SMTP envelope."""
    return addresses.envelope(address)


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

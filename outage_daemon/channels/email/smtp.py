"""An SMTP relay through a small connection pool.

Each ``send`` returns an :class:`Outcome` for one recipient: accepted, failed for good (a 5xx
reply), or worth another try (4xx, garbled replies, protocol errors, network errors, timeouts).
``email.smtp.timeout`` bounds the whole delivery: connecting, every command and the message. A
bound per command (aiosmtplib's own timeout, left unset) would let a relay that answers each
command just in time hold one message for as many timeouts as there are commands, and a send could
outlive the lease (at least twice that timeout) that the ledger gives it; and it cost a timer per
command, a tenth of the CPU a message takes.
"""

from __future__ import annotations

import asyncio
import ssl
import sys
from collections.abc import Awaitable
from typing import Protocol, TypeVar

import aiosmtplib

from outage_daemon.channels.base import ACCEPTED, Outcome
from outage_daemon.core import addresses
from outage_daemon.core.model import Smtp

T = TypeVar("T")
QUIT_TIMEOUT = 2.0  # seconds to say goodbye to a relay on close; after that the socket is just closed


class Transport(Protocol):
    """Sends one message to one recipient: the Maildir outbox or an SMTP relay."""

    concurrency: int

    async def send(self, sender: str, recipient: str, payload: bytes) -> Outcome: ...

    async def close(self) -> None: ...


def permanent(code: int) -> bool:
    """Given an SMTP reply code (aiosmtplib says -1 for a reply it could not read), return whether
    it refuses for good: only a 5xx does; 4xx, garbled replies and anything else are temporary."""
    return 500 <= code < 600


def refusal(code: int, message: str) -> Outcome:
    """Given a reply that refused a message, return its outcome."""
    return Outcome(False, not permanent(code), f"{code} {message}")


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
        return aiosmtplib.SMTP(
            hostname=self.smtp.host, port=self.smtp.port, timeout=None,  # the delivery's deadline bounds each
            use_tls=self.smtp.security == "tls", start_tls=self.smtp.security == "starttls", tls_context=context,
            username=self.smtp.username, password=self.password if self.smtp.username else None,
        )

    async def send(self, sender: str, recipient: str, payload: bytes) -> Outcome:
        """Send ``payload`` to one recipient; a send cancelled midway drops its connection (never
        returned to the pool out of step with the relay)."""
        client = await self.idle.get()
        deadline = self.smtp.timeout
        try:
            await within(deadline.approx.total_seconds(),
                         _deliver(client, envelope(sender), envelope(recipient), payload))
            return ACCEPTED
        except aiosmtplib.SMTPResponseException as exc:  # the sender, the recipient or the message refused
            if permanent(exc.code):
                await _reset(client, deadline.approx.total_seconds())
            else:
                await _drop(client)  # a 4xx or a garbled reply: start afresh next time
            return refusal(exc.code, exc.message)
        except aiosmtplib.SMTPException as exc:  # a reply out of step, a connection lost or refused
            await _drop(client)
            return Outcome(False, True, f"{type(exc).__name__}: {exc}")
        except asyncio.TimeoutError:  # the whole delivery's: the connection is out of step with the relay
            await _drop(client)
            return Outcome(False, True, f"no delivery within {deadline.text} (connecting, commands and message)")
        except OSError as exc:
            await _drop(client)
            return Outcome(False, True, f"{type(exc).__name__}: {exc}")
        except asyncio.CancelledError:
            await _drop(client)
            raise
        finally:
            self.idle.put_nowait(client)

    async def close(self) -> None:
        """Say QUIT on every open connection at once, waiting at most QUIT_TIMEOUT for the relay."""
        clients = []
        while not self.idle.empty():
            clients.append(self.idle.get_nowait())
        await asyncio.gather(*(_quit(c) for c in clients if c.is_connected))


async def within(seconds: float, step: Awaitable[T]) -> T:
    """Await ``step`` for at most ``seconds``; raise asyncio.TimeoutError after that (3.11 on: a
    deadline on the running task, instead of a task of its own per call)."""
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(seconds):
            return await step
    return await asyncio.wait_for(step, seconds)


async def _deliver(client: aiosmtplib.SMTP, sender: str, recipient: str, payload: bytes) -> None:
    """Connect if need be and make one mail transaction (MAIL, RCPT, DATA) to one recipient; raise
    what the relay refused. Not ``sendmail``: for one recipient whose address the config checked and
    bytes already in CRLF, its second parse of every address and its extra pass over the whole
    message (to declare SIZE, which is optional) were a third of the CPU a message costs."""
    if not client.is_connected:
        await client.connect()
    await client.mail(sender)
    await client.rcpt(recipient)
    await client.data(payload)


async def _quit(client: aiosmtplib.SMTP) -> None:
    try:
        await within(QUIT_TIMEOUT, client.quit())
    except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError):
        await _drop(client)


async def _reset(client: aiosmtplib.SMTP, seconds: float) -> None:
    """After a refused transaction, make the connection usable again (RSET, within ``seconds``), or
    drop it."""
    try:
        await within(seconds, client.rset())
    except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError):
        await _drop(client)


async def _drop(client: aiosmtplib.SMTP) -> None:
    if client.is_connected:
        client.close()

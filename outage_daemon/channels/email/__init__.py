"""Email: messages composed from the templates, sent through an SMTP relay or into a Maildir outbox."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime, timedelta

from outage_daemon.channels.base import Outcome
from outage_daemon.channels.email.maildir import Outbox
from outage_daemon.channels.email.message import message_id, payloads
from outage_daemon.channels.email.smtp import SmtpPool, Transport, envelope
from outage_daemon.channels.render import Templates
from outage_daemon.core.decide import Notification
from outage_daemon.core.model import Config
from outage_daemon.core.records import Revision
from outage_daemon.credentials import secret

# Without a relay, a failed write to the outbox is retried after this long (a full disk).
OUTBOX_RETRY = timedelta(seconds=30)


class EmailChannel:
    """Every audience's addresses; the relay named by ``email.smtp``, else the Maildir outbox in
    the state directory. The relay's password is read here, once (never logged)."""

    name = "email"

    def __init__(self, config: Config, env: Templates, directory: str) -> None:
        self.config, self.env = config, env
        smtp = config.email.smtp
        self.transport: Transport
        if smtp is None:
            self.transport = Outbox(os.path.join(directory, "outbox"))
        else:
            self.transport = SmtpPool(smtp, secret(smtp.password_file, smtp.password_env, smtp.password_credential))
        self.concurrency = self.transport.concurrency
        self.where = "the outbox" if smtp is None else smtp.host

    def recipients(self, audiences: tuple[str, ...]) -> list[str]:
        """Given audience names, return their addresses, each bare address once, in order."""
        seen: dict[str, str] = {}
        for name in audiences:
            audience = self.config.audiences.get(name)
            for address in audience.emails if audience else ():
                seen.setdefault(envelope(address).lower(), address)
        return list(seen.values())

    def render(self, notification: Notification, recipients: list[str], now: datetime,
               revision: Revision | None, threads: Mapping[str, str] | None = None,
               links: Mapping[str, str] | None = None) -> dict[str, bytes]:
        return payloads(notification, self.config, recipients, now, self.env, revision, threads, links)

    def message_id(self, key: str, recipient: str) -> str | None:
        return message_id(key, recipient, self.config.calendar.domain)

    def retry_base(self, recipient: str) -> timedelta:
        smtp = self.config.email.smtp
        return smtp.retry.approx if smtp else OUTBOX_RETRY

    async def send(self, recipient: str, payload: bytes) -> Outcome:
        return await self.transport.send(self.config.email.from_addr, recipient, payload)

    async def close(self) -> None:
        await self.transport.close()

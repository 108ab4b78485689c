"""What a channel is: it knows its recipients from an audience, renders their payloads, sends one
payload to one recipient and says how long to wait before retrying. The notifier needs nothing else.

Channels are built from the config by :func:`outage_daemon.channels.make_channels`; the name of
each is the ledger's ``channel`` column.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from outage_daemon.core.decide import Notification
from outage_daemon.core.records import Revision


@dataclass(frozen=True)
class Outcome:
    """The result of one attempt for one recipient: accepted, failed for good, or worth another try."""

    ok: bool
    temporary: bool = False
    error: str | None = None
    retry_after: float | None = None  # seconds the other side asked us to wait (HTTP Retry-After)


ACCEPTED = Outcome(True)


class Channel(Protocol):
    """One way notifications leave (email, webhooks), built for one config."""

    name: str
    concurrency: int  # attempts in flight at once

    def recipients(self, audiences: tuple[str, ...]) -> list[str]:
        """Given audience names, return this channel's recipients, each once, in order."""

    def render(self, notification: Notification, recipients: list[str], now: datetime,
               revision: Revision | None, threads: Mapping[str, str] | None = None,
               links: Mapping[str, str] | None = None) -> dict[str, bytes]:
        """Given a notification and recipients (and, per recipient, the id of the first notice about
        the window the ledger holds as sent to them: ``threads``), return each recipient's payload as
        it will be sent; with ``links``, each carries its recipient's confirmation link (every
        recipient has one)."""

    def message_id(self, key: str, recipient: str) -> str | None:
        """Given a delivery's key and recipient, return the id the message carries, if any."""

    def retry_base(self, recipient: str) -> timedelta:
        """Given a recipient, return the first wait after a temporary failure."""

    async def send(self, recipient: str, payload: bytes) -> Outcome:
        """Given a recipient and its payload, make one attempt."""

    async def close(self) -> None:
        """Release connections."""

"""The configuration model: frozen dataclasses, built by :mod:`outage_daemon.config`. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule

from outage_daemon.core.errors import Loc
from outage_daemon.core.timerules import Offset, occurrences_between, resolve


@dataclass(frozen=True)
class Notify:
    """When reminders fire for a window."""

    before_stop: tuple[Offset, ...]
    at_stop: bool
    before_restore: tuple[Offset, ...]
    at_restore: bool
    on_change: bool
    late_limit: Offset


@dataclass(frozen=True)
class Occurrence:
    """One stop/restore pair of a window (a one-off window has exactly one)."""

    window_id: str
    start: datetime
    end: datetime

    @property
    def key(self) -> str:
        """Return the occurrence's stable part of a reminder key: its start in UTC."""
        return self.start.astimezone(ZoneInfo("UTC")).strftime("%Y%m%dT%H%M%SZ")


@dataclass(frozen=True)
class Window:
    """A maintenance window: when a system stops and is restored, and who is told.

    ``start``/``end`` are aware, in ``tz``; ``end`` is exclusive (an all-day window's last day
    ends at the following local midnight). ``notify`` None means no reminders.
    """

    id: str
    system: str
    title: str | None
    start: datetime
    end: datetime
    tz: ZoneInfo
    all_day: bool
    status: str
    services: tuple[str, ...]
    description: str | None
    alternatives: str | None
    contacts: str | None
    url: str | None
    audiences: tuple[str, ...]
    repeat: str | None
    exceptions: tuple[date | datetime, ...]
    notify: Notify | None
    source: str | None
    rule: rrule | None = field(default=None, compare=False, repr=False)
    loc: Loc | None = field(default=None, compare=False, repr=False)

    @property
    def local_span(self) -> timedelta:
        """Return the wall-clock length of one occurrence (kept by every repeat)."""
        return self.end.replace(tzinfo=None) - self.start.replace(tzinfo=None)

    def occurrences(self, lo: datetime, hi: datetime) -> list[Occurrence]:
        """Given aware bounds, return the occurrences ending at or after ``lo`` and starting by ``hi``."""
        if self.rule is None:
            if self.end >= lo and self.start <= hi:
                return [Occurrence(self.id, self.start, self.end)]
            return []
        span = self.local_span
        out = []
        for start in occurrences_between(self.rule, self.tz, lo - span - timedelta(days=1), hi):
            if self._excepted(start):
                continue
            end = resolve(start.replace(tzinfo=None) + span, self.tz)
            if end >= lo and start <= hi:
                out.append(Occurrence(self.id, start, end))
        return out

    def last_end(self) -> datetime | None:
        """Return the end of the last occurrence, or None when a repeat never ends."""
        if self.rule is None:
            return self.end
        if getattr(self.rule, "_count", None) is None and getattr(self.rule, "_until", None) is None:
            return None  # dateutil keeps COUNT and UNTIL private; neither set: it never ends
        last = None
        for naive in self.rule:
            last = naive
        if last is None:
            return self.end
        return resolve(last + self.local_span, self.tz)

    def _excepted(self, start: datetime) -> bool:
        local = start.replace(tzinfo=None)
        for ex in self.exceptions:
            if isinstance(ex, datetime):
                if ex == local:
                    return True
            elif ex == local.date():
                return True
        return False


@dataclass(frozen=True)
class Audience:
    name: str
    emails: tuple[str, ...]
    webhooks: tuple[str, ...]


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int
    security: str
    username: str | None
    password_file: str | None
    password_env: str | None
    password_credential: str | None
    ca_file: str | None
    timeout: Offset
    retry: Offset
    connections: int


@dataclass(frozen=True)
class Email:
    from_addr: str
    reply_to: str | None
    smtp: Smtp | None


@dataclass(frozen=True)
class Webhook:
    name: str
    kind: str
    url_file: str | None
    url_env: str | None
    secret_file: str | None
    secret_env: str | None
    timeout: Offset
    retry: Offset


@dataclass(frozen=True)
class Feed:
    name: str
    title: str | None
    audiences: tuple[str, ...]
    systems: tuple[str, ...]
    token_file: str | None
    token_env: str | None


@dataclass(frozen=True)
class Calendar:
    name: str
    description: str | None
    refresh: Offset
    base_url: str | None
    domain: str
    keep_cancelled: Offset
    alarms: tuple[Offset, ...]
    feeds: tuple[Feed, ...]


@dataclass(frozen=True)
class LedgerOptions:
    """How a daemon uses the ledger: claim lease, poll interval, claim batch on a shared ledger."""

    lease: timedelta = timedelta(seconds=15)
    poll: timedelta = timedelta(seconds=30)
    batch: int = 100


@dataclass(frozen=True)
class Config:
    """A whole, valid configuration."""

    path: str
    tz: ZoneInfo
    language: str
    notify: Notify
    templates: str | None
    email: Email
    webhooks: Mapping[str, Webhook]
    audiences: Mapping[str, Audience]
    calendar: Calendar
    windows: tuple[Window, ...]
    ledger: LedgerOptions = LedgerOptions()
    digest: str = ""  # SHA-256 of the files it was read from (replicas compare it), set by the loader

    def window(self, window_id: str) -> Window | None:
        """Given an id, return that window or None."""
        return next((w for w in self.windows if w.id == window_id), None)

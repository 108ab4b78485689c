"""The configuration model: frozen dataclasses, built by :mod:`outage_daemon.config`. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from outage_daemon.core.errors import Loc, Problem
from outage_daemon.core.timerules import UTC, Offset, Repeat, add_absolute, instances_between, resolve, rule_parts


@dataclass(frozen=True)
class Notify:
    """When reminders fire for a window."""

    before_stop: tuple[Offset, ...]
    at_stop: bool
    before_restore: tuple[Offset, ...]
    at_restore: bool
    on_change: bool
    late_limit: Offset
    restore_written: bool = True  # False: before_restore is the schema's default, not the user's


OCCURRENCE_KEY = "%Y%m%dT%H%M%SZ"  # an occurrence's start in UTC, as keys, tokens and the ledger write it


@dataclass(frozen=True)
class Occurrence:
    """One stop/restore pair of a window (a one-off window has exactly one)."""

    window_id: str
    start: datetime
    end: datetime

    @property
    def key(self) -> str:
        """Return the occurrence's stable part of a reminder key: its start in UTC."""
        return self.start.astimezone(ZoneInfo("UTC")).strftime(OCCURRENCE_KEY)

    @staticmethod
    def start_of(key: str) -> datetime:
        """Given an occurrence's key, return its start (in UTC); raise ValueError for another text."""
        return datetime.strptime(key, OCCURRENCE_KEY).replace(tzinfo=ZoneInfo("UTC"))


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
    rule: Repeat | None = field(default=None, compare=False, repr=False)
    loc: Loc | None = field(default=None, compare=False, repr=False)

    @property
    def local_span(self) -> timedelta:
        """Return the wall-clock length of the first occurrence (whole days for an all-day window)."""
        if self.all_day:
            return timedelta(days=(self.end.date() - self.start.date()).days)
        return self.end.replace(tzinfo=None) - self.start.replace(tzinfo=None)

    @property
    def length(self) -> timedelta:
        """Return the elapsed time from the stop to the restore (a fall-back night's hour counts)."""
        return self.end.astimezone(UTC) - self.start.astimezone(UTC)

    def end_of(self, start: datetime) -> datetime:
        """Given an occurrence's start, return its end as RFC 5545 readers compute it.

        A DTEND gives every occurrence the first one's exact duration; all-day events last the
        same number of calendar days.
        """
        if self.all_day:
            return resolve(datetime.combine(start.date(), time()) + self.local_span, self.tz)
        return add_absolute(start, self.length)

    @property
    def finite(self) -> bool:
        """Return whether the window ends: a one-off, or a repeat with COUNT or UNTIL."""
        return self.repeat is None or bool(rule_parts(self.repeat).keys() & {"COUNT", "UNTIL"})

    def occurrences(self, lo: datetime, hi: datetime, limit: int | None = 10_000) -> list[Occurrence]:
        """Given aware bounds, return the occurrences ending at or after ``lo`` and starting by ``hi``
        (of a repeat, those among the first ``limit`` instances there; None: all)."""
        if self.rule is None:
            if self.end >= lo and self.start <= hi:
                return [Occurrence(self.id, self.start, self.end)]
            return []
        out = []
        reach = max(self.length, self.local_span) + timedelta(days=1)
        for naive, start in instances_between(self.rule, self.tz, lo - reach, hi, limit):
            if naive in self.excluded:
                continue
            end = self.end_of(start)
            if end >= lo and start <= hi:
                out.append(Occurrence(self.id, start, end))
        return out

    def last_end(self) -> datetime | None:
        """Return the end of the last occurrence, or None when a repeat never ends (expanded once)."""
        return self._last_end

    @cached_property
    def _last_end(self) -> datetime | None:
        if self.rule is None:
            return self.end
        if not self.finite:
            return None
        last = None
        for naive in self.rule:
            if naive not in self.excluded:
                last = naive
        if last is None:
            return self.end
        return self.end_of(resolve(last, self.tz))

    @cached_property
    def excluded(self) -> frozenset[datetime]:
        """Return the rule's naive local instances that ``except:`` removes (a date removes every
        instance on that day; a time, the instance at that wall-clock time; a time with an offset, the
        instance that starts at that instant)."""
        return frozenset(naive for ex in self.exceptions for naive in self._matches(ex))

    def _matches(self, ex: date | datetime) -> list[datetime]:
        if self.rule is None:
            return []
        if isinstance(ex, datetime) and ex.tzinfo is not None:
            if self.all_day:
                return self._matches(ex.astimezone(self.tz).replace(tzinfo=None))
            # Written with an offset, it names an instant: the occurrence that starts then (the
            # second 01:30 of a fall-back night is none; 03:30 EDT is the 02:30 a gap moved).
            naive = ex.astimezone(self.tz).replace(tzinfo=None)
            near = self.rule.between(naive - timedelta(days=1), naive + timedelta(days=1), inc=True)
            return [n for n in near if self.rule.place(n) == ex.astimezone(UTC)]
        if isinstance(ex, datetime):
            found: list[datetime] = self.rule.between(ex, ex, inc=True)
            return found
        midnight = datetime.combine(ex, time())
        day: list[datetime] = self.rule.between(midnight, midnight + timedelta(days=1), inc=True)
        return [naive for naive in day if naive.date() == ex]

    def unmatched(self) -> list[date | datetime]:
        """Return the ``except:`` entries that name no instance of the repeat (they do nothing)."""
        return [ex for ex in self.exceptions if not self._matches(ex)]


@dataclass(frozen=True)
class Audience:
    name: str
    emails: tuple[str, ...]
    webhooks: tuple[str, ...]
    public: bool = True  # False: its windows stay off the main feed, the status page and /api/windows
    acknowledge: tuple[str, ...] = ()  # the reminder kinds whose messages carry a personal confirmation link


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
    mention_all: bool = False  # @everyone on at_stop, where the service has it
    url_credential: str | None = None  # a systemd credential holding the URL
    secret_credential: str | None = None


@dataclass(frozen=True)
class Maintnote:
    """The BCOP maintenance-notification properties a feed opts in to: provider (None: the calendar's
    domain), account, impact."""

    provider: str | None
    account: str
    impact: str = "OUTAGE"


def filters_keep(audiences: tuple[str, ...], systems: tuple[str, ...], window: Window) -> bool:
    """Given ``audiences`` and ``systems`` filters (empty: any), return whether they keep ``window``."""
    return ((not audiences or bool(set(audiences) & set(window.audiences)))
            and (not systems or window.system in systems))


@dataclass(frozen=True)
class Feed:
    name: str
    title: str | None
    audiences: tuple[str, ...]
    systems: tuple[str, ...]
    token_file: str | None
    token_env: str | None
    maintnote: Maintnote | None = None

    @property
    def private(self) -> bool:
        """Return whether the feed needs a token: only then may it hold private windows."""
        return bool(self.token_file or self.token_env)

    def selects(self, window: Window) -> bool:
        """Given a window, return whether this feed's ``audiences``/``systems`` filters keep it
        (whether it may show it at all is :meth:`Config.shows`)."""
        return filters_keep(self.audiences, self.systems, window)


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
    maintnote: Maintnote | None = None  # of the main feed


@dataclass(frozen=True)
class CalendarTarget:
    """A calendar the windows are pushed into (``calendars:``): where, as whom, and which windows.

    Empty ``audiences`` and ``systems`` carry every public window; a private window (every audience
    it names is ``public: false``) goes only to a target that names one of its audiences."""

    name: str
    kind: str
    url: str
    user: str | None
    password_file: str | None
    password_env: str | None
    password_credential: str | None
    audiences: tuple[str, ...]
    systems: tuple[str, ...]
    timeout: Offset
    retry: Offset
    key_file: str | None = None  # google: the service account's JSON key, from one of these three
    key_env: str | None = None
    key_credential: str | None = None
    calendar_id: str = ""  # google: which calendar
    subject: str | None = None  # google: the Workspace user it acts as (domain-wide delegation)
    graph: GraphAccess | None = None  # kind graph: whose calendar, as which app


@dataclass(frozen=True)
class GraphAccess:
    """A Microsoft 365 calendar as Graph reaches it (app-only): the tenant, the app and where its
    secret lives, the mailbox (a user's or a shared one) and one of its calendars (None: its main
    one), and the sign-in and Graph endpoints (other than the global ones in national clouds)."""

    tenant: str
    client_id: str
    secret_file: str | None
    secret_env: str | None
    secret_credential: str | None
    mailbox: str
    calendar_id: str | None
    login_url: str  # the schema's defaults: the global cloud
    graph_url: str


@dataclass(frozen=True)
class LedgerOptions:
    """How a daemon uses the ledger: claim lease, poll interval, claim batch on a shared ledger."""

    lease: timedelta = timedelta(seconds=15)
    poll: timedelta = timedelta(seconds=30)
    batch: int = 100
    clock_skew: timedelta = timedelta(seconds=2)


def is_public(window: Window, audiences: Mapping[str, Audience]) -> bool:
    """Given a window and the audiences by name, return whether anyone may see it: unless every
    audience it names is ``public: false``."""
    named = [audiences[a] for a in window.audiences if a in audiences]
    return not named or any(a.public for a in named)


@dataclass(frozen=True)
class Matcher:
    """One Alertmanager matcher: ``name`` = != =~ !~ ``value``."""

    name: str
    value: str
    is_regex: bool
    is_equal: bool


@dataclass(frozen=True)
class Alertmanager:
    """An Alertmanager (or Grafana's) to silence alerts in while windows are on."""

    url: str
    systems: Mapping[str, tuple[Matcher, ...]]
    windows: Mapping[str, tuple[Matcher, ...]]
    before: timedelta
    after: timedelta
    ahead: timedelta
    username: str | None = None
    password_file: str | None = None
    password_env: str | None = None
    password_credential: str | None = None
    token_file: str | None = None
    token_env: str | None = None
    token_credential: str | None = None
    timeout: timedelta = timedelta(seconds=10)
    retry: timedelta = timedelta(seconds=2)

    def matchers(self, window: Window) -> tuple[Matcher, ...]:
        """Given a window, return the matchers of its silences (its system's, then its own), or ()."""
        return (*self.systems.get(window.system, ()), *self.windows.get(window.id, ()))


@dataclass(frozen=True)
class AckKey:
    """Where the key that signs acknowledgement links lives (one of the three)."""

    key_file: str | None = None
    key_env: str | None = None
    key_credential: str | None = None


@dataclass(frozen=True)
class Escalation:
    """One ``escalate:`` rule: at ``offset`` before the milestone of ``kind`` (a reminder kind's
    name; ``at_*`` has no offset), tell the ``to`` audiences who has not acknowledged."""

    kind: str
    offset: Offset | None
    to: tuple[str, ...]
    text: str  # as written, e.g. "before_stop 2h"


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
    notes: tuple[Problem, ...] = ()  # warnings the builder found (no timezone, long windows, …)
    ledger: LedgerOptions = LedgerOptions()
    digest: str = ""  # SHA-256 of the files it was read from (replicas compare it), set by the loader
    alertmanagers: tuple[Alertmanager, ...] = ()  # monitoring.alertmanager
    calendars: Mapping[str, CalendarTarget] = field(default_factory=dict)  # pushed into (CalDAV)
    ack_key: AckKey | None = None  # set when some audience acknowledges
    escalate: tuple[Escalation, ...] = ()

    def is_public(self, window: Window) -> bool:
        """Given a window, return whether the public outputs (main feed, page, API) show it: unless
        every audience it names is ``public: false``."""
        return is_public(window, self.audiences)

    @cached_property
    def public_count(self) -> int:
        """Return how many windows the public outputs show (``/healthz`` and the metrics say it on
        every probe: counted once per config, not per request)."""
        return sum(1 for w in self.windows if self.is_public(w))

    @cached_property
    def longest_late_limit(self) -> timedelta:
        """Return the longest ``late_limit`` of the windows that notify (zero when none does)."""
        return max((w.notify.late_limit.approx for w in self.windows if w.notify), default=timedelta(0))

    def shows(self, feed: Feed | None, window: Window) -> bool:
        """Given a feed (None: the main one) and a window, return whether the feed shows it: a
        private window only in a feed with a token, and only if the feed's filters keep it."""
        if (feed is None or not feed.private) and not self.is_public(window):
            return False
        return feed is None or feed.selects(window)

    def carries(self, target: CalendarTarget, window: Window) -> bool:
        """Given a pushed calendar and a window, return whether the calendar holds it: its audiences
        and systems filters keep it, and a private window only when the target names one of its
        audiences (the calendar is authenticated, as a feed with a token is)."""
        named = bool(set(window.audiences) & set(target.audiences))
        return filters_keep(target.audiences, target.systems, window) and (self.is_public(window) or named)

    def window(self, window_id: str) -> Window | None:
        """Given an id, return that window or None."""
        return next((w for w in self.windows if w.id == window_id), None)

"""What the ledger keeps: deliveries, decisions, schedules and revisions. Pure records.

Every backend of :mod:`outage_daemon.ledger` stores and returns these, and nothing else.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from outage_daemon.core.acks import Acknowledgement
from outage_daemon.core.kinds import Kind
from outage_daemon.core.model import Window


@dataclass(frozen=True)
class Delivery:
    """One message to one recipient over one channel, as the ledger holds it.

    ``owner`` and ``claim`` say who holds the right to send it now: a claim is taken with a lease,
    and an outcome is recorded only by the holder of the claim it was sent under (fencing).
    """

    key: str
    recipient: str
    channel: str
    state: str  # pending | sent | failed
    attempts: int
    last_error: str | None
    message_id: str | None
    payload: bytes | None
    expires: datetime
    next_try: datetime
    owner: str | None = None
    claim: int = 0


@dataclass(frozen=True)
class Attempt:
    """The outcome of one attempt at a claimed delivery: ``state`` is 'sent', 'failed', or 'pending'
    again with ``next_try``."""

    delivery: Delivery
    state: str
    at: datetime
    error: str | None = None
    next_try: datetime | None = None


@dataclass(frozen=True)
class Decision:
    """What was decided for one notification key: to send it (``reason`` None), or to skip it."""

    key: str
    window_id: str
    kind: Kind
    due: datetime
    reason: str | None = None

    @property
    def skipped(self) -> bool:
        return self.reason is not None


@dataclass(frozen=True)
class Entry:
    """One line of the ledger's history (``outage-daemon history``): a decision, and one delivery of
    it when it was to be sent. ``state`` is 'skipped' (``note`` says why), 'pending', 'sent' or
    'failed' (``note`` holds the last error), or 'decided' (to send, but to nobody)."""

    key: str
    window_id: str
    kind: str
    due: datetime
    decided_at: datetime
    state: str
    note: str | None = None
    recipient: str | None = None
    channel: str | None = None
    attempts: int = 0
    updated: datetime | None = None

    @property
    def offset(self) -> str | None:
        """Return the reminder's offset (``1d``, ``15m``) as its key holds it, or None for the
        ``at_*`` reminders and the notices."""
        return (self.key.rsplit("/", 1)[1] or None) if Kind(self.kind).counts_down else None

    @property
    def late(self) -> timedelta:
        """Return how late a reminder was decided (and so rendered) after its due time, or zero."""
        return max(self.decided_at - self.due, timedelta(0)) if Kind(self.kind).is_reminder else timedelta(0)


@dataclass(frozen=True)
class Schedule:
    """What the ledger remembers of a window to notice changes: its times and status."""

    start: str
    end: str
    repeat: str | None
    exceptions: tuple[str, ...]
    status: str

    @classmethod
    def of(cls, window: Window) -> Schedule:
        return cls(window.start.isoformat(), window.end.isoformat(), window.repeat,
                   tuple(e.isoformat() for e in window.exceptions), window.status)

    def to_json(self) -> str:
        return json.dumps([self.start, self.end, self.repeat, list(self.exceptions), self.status])

    @classmethod
    def from_json(cls, text: str) -> Schedule:
        start, end, repeat, exceptions, status = json.loads(text)
        return cls(start, end, repeat, tuple(exceptions), status)

    def times(self) -> tuple[datetime, datetime]:
        return datetime.fromisoformat(self.start), datetime.fromisoformat(self.end)

    @property
    def timing(self) -> tuple[str, str, str | None, tuple[str, ...]]:
        return self.start, self.end, self.repeat, self.exceptions

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Revision:
    """What the feed remembers of one window between renders."""

    window_id: str
    fingerprint: str
    sequence: int
    created: datetime
    last_modified: datetime


@dataclass(frozen=True)
class Peer:
    """One replica as its heartbeat row says: its name, config hash, version, start and last beat."""

    node: str
    config_hash: str
    version: str
    started: datetime
    last_seen: datetime


@dataclass(frozen=True)
class History:
    """Everything a ledger holds, for ``ledger copy``: decisions with when they were decided,
    deliveries with when they were created and last updated (claims are not copied), confirmations."""

    revisions: tuple[Revision, ...]
    schedules: dict[str, Schedule]
    meta: dict[str, str]
    decisions: tuple[tuple[Decision, datetime], ...]
    deliveries: tuple[tuple[Delivery, datetime, datetime], ...]
    silences: tuple[SilenceAction, ...] = ()
    acknowledgements: tuple[Acknowledgement, ...] = ()


@dataclass(frozen=True)
class SilenceAction:
    """One change made (or tried) to a silence in an Alertmanager: ``action`` is create, update or
    expire; ``error`` says why it failed, if it did."""

    at: datetime
    target: str  # the Alertmanager's URL
    window_id: str
    occurrence: str
    action: str
    silence_id: str | None
    starts: datetime | None
    ends: datetime | None
    error: str | None = None

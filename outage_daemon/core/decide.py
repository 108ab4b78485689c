"""What to send now, what to skip and why. Pure: the plan, what the ledger knows and ``now`` come in.

Countdown reminders (from the planner) and lifecycle notices (from comparing the config with the
schedules the ledger last saw) both become :class:`Send` items with a stable key.

Rules (DESIGN §4):

- A reminder is sent late only within ``late_limit``, and only the newest due one per window
  occurrence; the others are skipped with a reason.
- A ``before_*`` reminder is never sent once its milestone has passed ("stops in 1 day" after the
  stop is wrong); ``at_stop`` is never sent once the window is over.
- First start on an empty ledger: every window in the config is taken as already known, so no
  announcements are sent for them (they were announced by whatever was used before). Reminders
  follow the same catch-up rule as after any downtime.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from outage_daemon.core.model import Config, Occurrence, Window
from outage_daemon.core.planner import KINDS, Reminder
from outage_daemon.core.timerules import UTC, Offset, add_absolute

NOTICE_KINDS = ("announced", "rescheduled", "cancelled")


@dataclass(frozen=True)
class Send:
    """One thing to tell a window's audiences: a countdown reminder or a lifecycle notice."""

    key: str
    kind: str  # one of planner.KINDS or NOTICE_KINDS
    window: Window
    due: datetime
    expires: datetime  # after this, a delivery not yet made is no longer worth making
    occurrence: Occurrence | None = None
    offset: Offset | None = None
    previous: Schedule | None = None  # for "rescheduled": the times before the change


@dataclass(frozen=True)
class Skip:
    key: str
    window_id: str
    kind: str
    due: datetime
    reason: str


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


def expiry(reminder: Reminder, late_limit: Offset) -> datetime:
    """Given a reminder, return the instant after which it is no longer true or timely."""
    late = add_absolute(reminder.due, late_limit.approx)
    if reminder.kind.startswith("before_"):
        return min(reminder.milestone, late)
    if reminder.kind == "at_stop":
        return min(reminder.occurrence.end, late)
    return late


def _why_not(reminder: Reminder, now: datetime, late_limit: Offset) -> str | None:
    if reminder.kind.startswith("before_") and now >= reminder.milestone:
        return "its milestone has passed"
    if reminder.kind == "at_stop" and now >= reminder.occurrence.end:
        return "the window is already over"
    if now - reminder.due > late_limit.approx:
        return f"more than late_limit ({late_limit.text}) late"
    return None


def decide(candidates: Iterable[Reminder], decided: set[str], now: datetime) -> tuple[list[Send], list[Skip]]:
    """Given reminders due by ``now``, the keys the ledger has already decided, and ``now``, return
    what to send and what to skip (with the reason)."""
    groups: dict[tuple[str, str], list[Reminder]] = {}
    for r in candidates:
        if r.key not in decided and r.due <= now:
            groups.setdefault((r.window.id, r.occurrence.key), []).append(r)
    send: list[Send] = []
    skip: list[Skip] = []
    for group in groups.values():
        rules = group[0].window.notify
        assert rules is not None  # noqa: S101 - the planner plans nothing for notify: false
        ok = []
        for r in group:
            reason = _why_not(r, now, rules.late_limit)
            if reason:
                skip.append(Skip(r.key, r.window.id, r.kind, r.due, reason))
            else:
                ok.append(r)
        ok.sort(key=lambda r: (r.due, KINDS.index(r.kind)))
        for r in ok[:-1]:
            skip.append(Skip(r.key, r.window.id, r.kind, r.due, f"superseded by the newer {ok[-1].kind}"))
        if ok:
            newest = ok[-1]
            send.append(Send(newest.key, newest.kind, newest.window, newest.due,
                             expiry(newest, rules.late_limit), newest.occurrence, newest.offset))
    send.sort(key=lambda s: (s.due, s.key))
    return send, skip


def _live(window: Window, now: datetime) -> bool:
    last = window.last_end()
    return last is None or last > now


def changes(config: Config, known: Mapping[str, Schedule], now: datetime) -> list[Send]:
    """Given the config, the schedules the ledger last saw and ``now``, return lifecycle notices.

    A window not seen before is announced, one whose times changed is rescheduled (with the old
    times), one newly cancelled is cancelled. Windows already over say nothing; nor do windows
    with ``notify: false`` or ``on_change: false``.
    """
    out = []
    for window in config.windows:
        rules = window.notify
        if rules is None or not rules.on_change or not _live(window, now):
            continue
        current, before = Schedule.of(window), known.get(window.id)
        kind = None
        if window.status == "cancelled":
            if before is not None and before.status != "cancelled":
                kind = "cancelled"
        elif before is None:
            kind = "announced"
        elif before.status == "cancelled" or before.timing != current.timing:
            kind = "rescheduled" if before.status != "cancelled" else "announced"
        if kind is None:
            continue
        expires = window.last_end() or add_absolute(now, timedelta(days=1))
        out.append(Send(f"{window.id}/notice/{kind}/{current.digest}", kind, window, now,
                        max(expires, add_absolute(now, timedelta(hours=1))).astimezone(UTC),
                        previous=before if kind == "rescheduled" else None))
    return out

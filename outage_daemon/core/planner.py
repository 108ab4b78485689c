"""The planner: which countdown reminders fall due, and when. Pure: ``now`` is a parameter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from outage_daemon.core.acks import escalation_due
from outage_daemon.core.kinds import Kind
from outage_daemon.core.model import Config, Escalation, Notify, Occurrence, Window
from outage_daemon.core.timerules import UTC, Offset, before


@dataclass(frozen=True)
class Reminder:
    """One countdown reminder of one window occurrence; ``due`` is aware, in the window's zone."""

    window: Window
    occurrence: Occurrence
    kind: Kind
    offset: Offset | None
    due: datetime

    @property
    def key(self) -> str:
        """Return the stable key: window id, occurrence start (UTC), kind, offset (canonical)."""
        offset = self.offset.canonical if self.offset is not None else ""
        return f"{self.window.id}/{self.occurrence.key}/{self.kind}/{offset}"

    @property
    def milestone(self) -> datetime:
        """Return the stop (for ``*_stop`` kinds) or the restore this reminder counts down to."""
        return self.kind.milestone(self.occurrence)

    @property
    def audiences(self) -> tuple[str, ...]:
        return self.window.audiences


@dataclass(frozen=True)
class Escalating(Reminder):
    """An ``escalate:`` rule's look at one occurrence: told to the rule's audiences, keyed by the rule."""

    rule: Escalation

    @property
    def key(self) -> str:
        """Return the stable key: window id, occurrence start (UTC), ``escalated``, the rule as written."""
        return f"{self.window.id}/{self.occurrence.key}/{self.kind}/{self.rule.text.replace(' ', '-')}"

    @property
    def audiences(self) -> tuple[str, ...]:
        return self.rule.to


def escalations_of(config: Config, window: Window, occurrence: Occurrence) -> list[Escalating]:
    """Given an occurrence of a window some of whose audiences acknowledge, return its escalations."""
    return [Escalating(window, occurrence, Kind.ESCALATED, rule.offset, escalation_due(rule, occurrence), rule)
            for rule in config.escalate]


def _asking(config: Config, window: Window) -> bool:
    """Return whether one of the window's audiences acknowledges (so that escalations apply)."""
    return bool(config.escalate) and any(config.audiences[a].acknowledge for a in window.audiences
                                         if a in config.audiences)


QUIET = timedelta(minutes=15)  # a stop message this close before a restore message is merged into it
RESTORE_SIDE = (Kind.BEFORE_RESTORE, Kind.AT_RESTORE)


def merged(reminders: list[Reminder]) -> list[Reminder]:
    """Given one occurrence's reminders in due order, return those sent: a stop-side one (``before_stop``,
    ``at_stop``) due less than :data:`QUIET` before the first restore-side one is not sent (the later
    one carries the newer truth). Offsets written for one milestone are kept as written."""
    first = next((r for r in reminders if r.kind in RESTORE_SIDE), None)
    if first is None:
        return reminders
    cut = first.due.astimezone(UTC) - QUIET  # real time, not wall time
    return [r for r in reminders if r.kind in RESTORE_SIDE or r.due.astimezone(UTC) <= cut]


def reminders_of(window: Window, occurrence: Occurrence, rules: Notify) -> list[Reminder]:
    """Given an occurrence and its rules, return the reminders sent, in due order.

    A ``before_restore`` reminder that would fall at or before the stop is dropped (see
    :func:`dropped`); a stop message just before a restore message is merged into it (:func:`merged`).
    """
    out = [Reminder(window, occurrence, Kind.BEFORE_STOP, o, before(occurrence.start, o))
           for o in rules.before_stop]
    if rules.at_stop:
        out.append(Reminder(window, occurrence, Kind.AT_STOP, None, occurrence.start))
    for o in rules.before_restore:
        due = before(occurrence.end, o)
        if due > occurrence.start:
            out.append(Reminder(window, occurrence, Kind.BEFORE_RESTORE, o, due))
    if rules.at_restore:
        out.append(Reminder(window, occurrence, Kind.AT_RESTORE, None, occurrence.end))
    # in UTC: within one zone, datetimes compare by wall time, which misorders a fall-back night
    return merged(sorted(out, key=lambda r: (r.due.astimezone(UTC), r.kind.order)))


def dropped(window: Window) -> list[Offset]:
    """Given a window, return its ``before_restore`` offsets that fall at or before its (first) stop."""
    if window.notify is None:
        return []
    return [o for o in window.notify.before_restore if before(window.end, o) <= window.start]


def _lead(rules: Notify) -> timedelta:
    """Return how long before a stop its earliest reminder can fall (with a day of DST slack)."""
    longest = max((o.approx for o in rules.before_stop), default=timedelta(0))
    return longest + timedelta(days=1)


def plan(config: Config, now: datetime, until: datetime) -> list[Reminder]:
    """Given the config and an aware interval, return the reminders due in ``[now, until)``.

    Cancelled windows and windows with ``notify: false`` have none. Escalations are planned like
    reminders, for windows whose audiences acknowledge. Sorted by due time.
    """
    out: list[Reminder] = []
    escalation_lead = max((r.offset.approx for r in config.escalate if r.offset), default=timedelta(0))
    for window in config.windows:
        if window.status == "cancelled" or window.notify is None:
            continue
        asking = _asking(config, window)
        lead = max(_lead(window.notify), escalation_lead + timedelta(days=1)) if asking else _lead(window.notify)
        for occurrence in window.occurrences(now, until + lead, limit=None):  # all: the span bounds it
            out.extend(r for r in reminders_of(window, occurrence, window.notify)
                       if now <= r.due < until)
            if asking:
                out.extend(r for r in escalations_of(config, window, occurrence) if now <= r.due < until)
    out.sort(key=lambda r: (r.due.astimezone(UTC), r.window.id, r.kind.order))
    return out


def next_reminder(config: Config, now: datetime, reach: timedelta = timedelta(days=732)) -> Reminder | None:
    """Given the config and ``now``, return the first reminder due after ``now`` within ``reach``
    (None if there is none): spans that double from two hours, so a near reminder is found cheaply."""
    span = timedelta(hours=2)
    lo = now + timedelta(microseconds=1)
    while True:
        until = min(now + span, now + reach)
        found = plan(config, lo, until)
        if found:
            return found[0]
        if until >= now + reach:
            return None
        lo, span = until, span * 2

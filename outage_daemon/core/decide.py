"""What to send now, what to skip and why. Pure: the plan, what the ledger knows and ``now`` come in.

Countdown reminders (from the planner) and lifecycle notices (from comparing the config with the
schedules the ledger last saw) both become :class:`Notification` items with a stable key.

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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from outage_daemon.core.kinds import Kind
from outage_daemon.core.model import Config, Occurrence, Window
from outage_daemon.core.planner import Reminder
from outage_daemon.core.records import Decision, Schedule
from outage_daemon.core.timerules import UTC, Offset, add_absolute


@dataclass(frozen=True)
class Notification:
    """One thing to tell a window's audiences: a countdown reminder or a lifecycle notice."""

    key: str
    kind: Kind
    window: Window
    due: datetime
    expires: datetime  # after this, a delivery not yet made is no longer worth making
    occurrence: Occurrence | None = None
    offset: Offset | None = None
    previous: Schedule | None = None  # for "rescheduled": the times before the change
    ack_url: str = ""  # the one recipient's confirmation link, when rendered for one who acknowledges
    audiences: tuple[str, ...] = ()  # who is told, when not the window's audiences (an escalation)
    missing: tuple[str, ...] = ()  # for an escalation: who has not acknowledged

    def decision(self) -> Decision:
        """Return the ledger's record of the decision to send this."""
        return Decision(self.key, self.window.id, self.kind, self.due)



def expiry(reminder: Reminder, late_limit: Offset, slack: timedelta = timedelta(0)) -> datetime:
    """Given a reminder (and how long the daemon's own failed passes held it up), return the instant
    after which it is no longer true or timely."""
    late = add_absolute(reminder.due, late_limit.approx + slack)
    true_until = reminder.kind.true_until(reminder.occurrence)
    return late if true_until is None else min(true_until, late)


def _why_not(reminder: Reminder, now: datetime, late_limit: Offset, late_at: datetime) -> str | None:
    true_until = reminder.kind.true_until(reminder.occurrence)
    if true_until is not None and now >= true_until:
        return "its milestone has passed" if reminder.kind.counts_down else "the window is already over"
    if late_at - reminder.due > late_limit.approx:
        return f"more than late_limit ({late_limit.text}) late"
    return None


def decide(candidates: Iterable[Reminder], decided: set[str], now: datetime,
           late_at: datetime | None = None) -> tuple[list[Notification], list[Decision]]:
    """Given reminders due by ``now``, the keys the ledger has already decided, ``now`` and, after
    failed passes, when the first of them ran (``late_at``: lateness is measured then, so the
    daemon's own failure never turns into a "too late" skip; truth is measured now), return what to
    send and what to skip (with the reason)."""
    late_at = min(late_at or now, now)
    groups: dict[tuple[str, str, str], list[Reminder]] = {}
    for r in candidates:
        if r.key not in decided and r.due <= now:  # an escalation is no reminder: it supersedes none
            alone = r.key if r.kind is Kind.ESCALATED else ""
            groups.setdefault((r.window.id, r.occurrence.key, alone), []).append(r)
    send: list[Notification] = []
    skip: list[Decision] = []
    for group in groups.values():
        rules = group[0].window.notify
        assert rules is not None  # noqa: S101 - the planner plans nothing for notify: false
        ok = []
        for r in group:
            reason = _why_not(r, now, rules.late_limit, late_at)
            if reason:
                skip.append(Decision(r.key, r.window.id, r.kind, r.due, reason))
            else:
                ok.append(r)
        ok.sort(key=lambda r: (r.due.astimezone(UTC), r.kind.order))  # real time: a fall-back hour repeats
        for r in ok[:-1]:
            skip.append(Decision(r.key, r.window.id, r.kind, r.due, f"superseded by the newer {ok[-1].kind}"))
        if ok:
            newest = ok[-1]
            send.append(Notification(newest.key, newest.kind, newest.window, newest.due,
                                     expiry(newest, rules.late_limit, now - late_at), newest.occurrence,
                                     newest.offset, audiences=newest.audiences))
    send.sort(key=lambda s: (s.due.astimezone(UTC), s.key))
    return send, skip


def _live(window: Window, now: datetime) -> bool:
    last = window.last_end()
    return last is None or last > now


def changes(config: Config, known: Mapping[str, Schedule], now: datetime) -> list[Notification]:
    """Given the config, the schedules the ledger last saw and ``now``, return lifecycle notices.

    A window not seen before is announced, one whose times or status (confirmed ↔ tentative) changed
    is rescheduled (with the old schedule), one newly cancelled is cancelled. Windows already over
    say nothing; nor do windows with ``notify: false`` or ``on_change: false``.
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
                kind = Kind.CANCELLED
        elif before is None:
            kind = Kind.ANNOUNCED
        elif before.status == "cancelled" or before.timing != current.timing or before.status != current.status:
            kind = Kind.RESCHEDULED if before.status != "cancelled" else Kind.ANNOUNCED
        if kind is None:
            continue
        expires = window.last_end() or add_absolute(now, timedelta(days=1))
        out.append(Notification(f"{window.id}/notice/{kind}/{current.digest}", kind, window, now,
                                max(expires, add_absolute(now, timedelta(hours=1))).astimezone(UTC),
                                previous=before if kind is Kind.RESCHEDULED else None))
    return out

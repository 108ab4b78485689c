"""What a notification is about: the four countdown reminders and the lifecycle notices. Pure.

Each kind carries its properties, so callers ask the kind instead of testing its name.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from outage_daemon.core.model import Occurrence


class Kind(str, Enum):
    """A notification kind; its value is the name in keys, the ledger, JSON and templates."""

    BEFORE_STOP = "before_stop"
    AT_STOP = "at_stop"
    BEFORE_RESTORE = "before_restore"
    AT_RESTORE = "at_restore"
    ANNOUNCED = "announced"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"
    TEST = "test"
    PUSH = "push"  # a write into a pushed calendar (``calendars:``), not a message
    ESCALATED = "escalated"  # who has not acknowledged a window occurrence, to another audience

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @property
    def is_reminder(self) -> bool:
        """Return True for the countdown reminders the planner makes."""
        return self in REMINDERS

    @property
    def counts_down(self) -> bool:
        """Return True for reminders at an offset before a milestone (``before_*``)."""
        return self in (Kind.BEFORE_STOP, Kind.BEFORE_RESTORE)

    @property
    def order(self) -> int:
        """Return the rank among reminders due at the same instant (stop before restore)."""
        return REMINDERS.index(self) if self in REMINDERS else len(REMINDERS)

    def milestone(self, occurrence: Occurrence) -> datetime:
        """Given an occurrence, return the stop or the restore this kind counts down to."""
        return occurrence.start if self in (Kind.BEFORE_STOP, Kind.AT_STOP) else occurrence.end

    def true_until(self, occurrence: Occurrence) -> datetime | None:
        """Given an occurrence, return when this reminder stops being true ("stops in 1 day" after
        the stop; "down now" and "not yet confirmed" after the end), or None when it stays true."""
        if self.counts_down:
            return self.milestone(occurrence)
        if self in (Kind.AT_STOP, Kind.ESCALATED):
            return occurrence.end
        return None

    @property
    def invite(self) -> str | None:
        """Return the iTIP method an email of this kind carries (REQUEST, CANCEL), or None."""
        return INVITES.get(self)


REMINDERS = (Kind.BEFORE_STOP, Kind.AT_STOP, Kind.BEFORE_RESTORE, Kind.AT_RESTORE)
NOTICES = (Kind.ANNOUNCED, Kind.RESCHEDULED, Kind.CANCELLED)
INVITES = {Kind.ANNOUNCED: "REQUEST", Kind.RESCHEDULED: "REQUEST", Kind.CANCELLED: "CANCEL"}

"""What a reading is made of: windows, the statements of them, lone stops and restores, and the state
of a reading in progress. Pure data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

from .segment import Sentence


@dataclass(frozen=True)
class FoundWindow:
    """A window the notice states: ``end`` is exclusive; ``all_day`` windows start and end at midnight;
    ``sources`` are the sentences that state it, as written; ``system`` the system it is for; ``repeat``
    the RFC 5545 rule of a recurring one (``FREQ=WEEKLY;BYDAY=SU``)."""

    start: datetime
    end: datetime
    all_day: bool
    sources: tuple[str, ...]
    system: str | None = None
    repeat: str | None = None


@dataclass(frozen=True)
class Draft:
    """A day the notice names for a window whose time is not understood: the operator completes it."""

    day: date
    system: str | None
    source: str  # the sentence, as written
    unread: str  # what was not understood ("22h00", "晚上")


@dataclass
class Reading:
    """What a notice states: its system, its windows in the order stated, warnings for a reader, and
    drafts of windows whose times were not understood."""

    system: str | None
    windows: list[FoundWindow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    drafts: list[Draft] = field(default_factory=list)


@dataclass
class Stated:
    """One statement of a window, with what the contradiction check needs to know about it."""

    start: datetime
    end: datetime
    all_day: bool
    sentence: Sentence
    role: str  # window | new (after 改为/rescheduled to) | old | cancelled
    system: str | None
    relative: tuple[str, ...] = ()
    repeat: str | None = None  # a weekly rule's RRULE


@dataclass(frozen=True)
class Moment:
    """A stop or restore stated alone ("预计于…恢复", "End: …"), or a length ("Expected duration: 60 minutes")."""

    kind: str  # start | end | length
    sentence: Sentence
    at: datetime | None = None
    length: timedelta | None = None
    timed: bool = True  # the notice gives a time of day, not only a day


@dataclass
class State:
    tz: tzinfo
    system: str | None
    stated: list[Stated] = field(default_factory=list)
    moments: list[Moment] = field(default_factory=list)
    title: int = -1  # index of the sentence that is the notice's title
    old_days: set[date] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)
    last_outage: bool = False  # the sentence before spoke of an outage ("Start:" and "End:" lines follow it)
    full: bool = False  # as many windows read as a notice may state
    drafts: list[Draft] = field(default_factory=list)


@dataclass
class Merged:
    window: FoundWindow
    stated: list[Stated]

"""What a Google calendar (``kind: google``) should hold for one window: the feed's VEVENT, with a
repeat Google cannot hold written as its occurrences. Pure.

Google's ``recurrence`` takes a rule of ``DAILY`` to ``YEARLY`` without ``BYHOUR``, ``BYMINUTE``,
``BYSECOND``, ``BYYEARDAY`` or ``BYWEEKNO`` (:func:`held`). Any other repeat is written as the
project's own occurrences (a DST-gap instance where the feed places it, ``except:`` left out,
``UNTIL`` as RFC 5545 reads it) that end from ``calendar.keep_cancelled`` before the write on and
start within :data:`HORIZON` after it, at most :data:`MOST`: the first as the event's start, the
others as RDATEs (in UTC: unambiguous in a DST fold). Once half of what such a write held ahead
has passed, the event is written again from then (:func:`refresh`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from icalendar import Calendar

from outage_daemon.core.model import Config, Occurrence, Window
from outage_daemon.core.timerules import UTC, add_absolute, is_ambiguous, rule_parts

HELD_PARTS = {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "WKST"}
HELD_FREQ = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}
HORIZON = timedelta(days=366)  # how far ahead an expanded repeat's occurrences are written
MOST = 500  # occurrences of one expanded repeat written at most
BEYOND = timedelta(days=366 * 30)  # how far past the horizon the next occurrence is looked for
_DUE = "%Y%m%dT%H%MZ"


def held(window: Window) -> bool:
    """Given a window, return whether Google holds it as the feed writes it: a one-off, or a repeat
    whose rule Google's ``recurrence`` takes."""
    if window.repeat is None:
        return True
    parts = rule_parts(window.repeat)
    return parts.get("FREQ") in HELD_FREQ and set(parts) <= HELD_PARTS


def written(window: Window, config: Config, now: datetime) -> list[Occurrence]:
    """Given a repeat Google cannot hold and ``now``, return the occurrences its event holds: those
    not ended by ``now`` that start within :data:`HORIZON` (the next one beyond it when none does),
    then as many of those ended since ``keep_cancelled`` before ``now`` as fit in :data:`MOST`."""
    hi = add_absolute(now, HORIZON)
    ahead = [o for o in window.occurrences(now, hi, MOST) if o.end > now][:MOST]
    if not ahead:
        ahead = [o for o in window.occurrences(now, add_absolute(hi, BEYOND), 1) if o.end > now]
    lo = add_absolute(now, -config.calendar.keep_cancelled.approx)
    ended = [o for o in window.occurrences(lo, now) if o.end <= now]
    room = MOST - len(ahead)
    return (ended[max(len(ended) - room, 0):] if room > 0 else []) + ahead


def expand(ical: bytes, window: Window, config: Config, now: datetime) -> bytes:
    """Given a window's calendar object (the feed's VEVENT) and ``now``, return what its Google event
    is made from: the same object when Google holds the window, else with its RRULE and EXDATEs
    replaced by the :func:`written` occurrences (DTSTART and DTEND the first's, RDATEs the others)."""
    if held(window):
        return ical
    cal = Calendar.from_ical(ical)
    ev = next(iter(cal.walk("VEVENT")))
    occurrences = written(window, config, now) or [Occurrence(window.id, window.start, window.end)]
    for name in ("RRULE", "EXDATE", "RDATE", "DTSTART", "DTEND"):
        ev.pop(name, None)
    first, rest = occurrences[0], occurrences[1:]
    if window.all_day:
        ev.add("dtstart", first.start.date())
        ev.add("dtend", first.end.date())
        if rest:
            ev.add("rdate", [o.start.date() for o in rest])
    else:
        ev.add("dtstart", first.start.astimezone(UTC) if is_ambiguous(first.start) else first.start)
        ev.add("dtend", first.end.astimezone(UTC) if is_ambiguous(first.end) else first.end)
        if rest:
            ev.add("rdate", [o.start.astimezone(UTC) for o in rest])
    out: bytes = cal.to_ical()
    return out


def refresh(window: Window, config: Config, now: datetime, previous: str = "") -> str:
    """Given a window, ``now`` and the refresh mark of the event's last write of this revision ('' for
    none), return what makes its event due to be written again although the window did not change: for
    an expanded repeat whose written occurrences stop short of its end, the moment (UTC) half of what
    they hold ahead of ``now`` has passed, ``previous`` itself until that moment; otherwise ''."""
    if held(window):
        return ""
    if previous:
        try:
            if now < datetime.strptime(previous, _DUE).replace(tzinfo=UTC):
                return previous
        except ValueError:
            pass  # another kind's mark (the calendar's kind changed): write afresh
    ahead = [o for o in written(window, config, now) if o.end > now]
    last = window.last_end()
    if not ahead or (len(ahead) < MOST and last is not None and last <= add_absolute(now, HORIZON)):
        return ""  # every occurrence to come is written
    due = max(now + (ahead[-1].start - now) / 2, ahead[0].end)
    return f"{due.astimezone(UTC):{_DUE}}"

"""What a Microsoft 365 calendar (``kind: graph``) should hold for one window, as Graph events. Pure.

Graph has no iCalendar import for an app, and its ``patternedRecurrence`` cannot hold every RRULE
(BYHOUR, BYSETPOS lists, a rule's DST-gap instances, EXDATEs of instances it computes differently),
so every window is written as plain events, one per occurrence: a one-off window as one, a repeat
as its occurrences that end from ``keep_cancelled`` before the write on and start within
:data:`HORIZON` after it, at most :data:`MOST` (written again before those run out, or each month
for a repeat that goes on past the horizon: :func:`refresh`). Each event carries the window's UID
and its occurrence in single-value extended properties (how the writer finds them again after a
crash, never making a second), and the generation and SEQUENCE it was written at (so a write that
already landed is not made again).

Outlook shows no STATUS:CANCELLED for an organizer's event without attendees, so a cancelled
window's events keep their place with the subject marked as the feed's SUMMARY marks it
(``[Cancelled] …``, ``【已取消】…``) and show the time as free, as every pushed event does.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from outage_daemon.core.model import CalendarTarget, Config, Occurrence, Window
from outage_daemon.core.records import Revision
from outage_daemon.core.timerules import UTC, add_absolute
from outage_daemon.formats.ical import describe, uid
from outage_daemon.formats.text import summary

_NAMES = "{00020329-0000-0000-c000-000000000046}"  # PS_PUBLIC_STRINGS: named properties any app may set
UID_PROPERTY = f"String {_NAMES} Name outage-daemon-uid"
OCCURRENCE_PROPERTY = f"String {_NAMES} Name outage-daemon-occurrence"
VERSION_PROPERTY = f"String {_NAMES} Name outage-daemon-version"
HORIZON = timedelta(days=366)  # how far ahead a repeat's occurrences are written
MOST = 100  # occurrences of one repeat written at most
PAST = 25  # of which ended ones at most, while coming ones fill the rest
ONCE = "once"  # the occurrence key of a one-off window's event


def occurrences(window: Window, config: Config, now: datetime) -> list[tuple[str, Occurrence]]:
    """Given a window and ``now``, return the occurrences its events stand for, each with its key: a
    one-off window's single one (key :data:`ONCE`), or a repeat's within the horizon."""
    if window.rule is None:
        return [(ONCE, Occurrence(window.id, window.start, window.end))]
    return [(o.key, o) for o in _written(window, config.calendar.keep_cancelled.approx, now)]


def _written(window: Window, keep: timedelta, now: datetime) -> list[Occurrence]:
    """A repeat's occurrences written at ``now``: ending from ``keep`` before on, starting within the
    horizon, at most :data:`MOST`, of which at most :data:`PAST` ended ones while coming ones fill the
    rest (an hourly repeat's last month would leave none of the next hours)."""
    coming = window.occurrences(now, add_absolute(now, HORIZON), 3 * MOST)[:MOST]  # limit: from a day before
    past = [o for o in window.occurrences(add_absolute(now, -keep), now) if o.end < now]
    room = max(MOST - len(coming), min(len(past), PAST))
    return (past[len(past) - room:] if room else []) + coming[:MOST - room]


def refresh(window: Window, config: Config, target: CalendarTarget, now: datetime) -> str:
    """Given a window and a pushed calendar, return what makes its events due to be written again
    although the window did not change: for a graph calendar and a repeat whose written occurrences
    stop short (at :data:`MOST`) of its end or the horizon, ``now`` to the longest of a month, a day
    or an hour that is at most half as long as they reach ahead (topped up before they run out); for
    one that goes on past the horizon, the month of ``now``; otherwise ''. Reckoned once an hour
    (every pass asks)."""
    if target.kind != "graph" or window.rule is None:
        return ""
    hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return _refresh(window, config.calendar.keep_cancelled.approx, hour)


@lru_cache(maxsize=1024)
def _refresh(window: Window, keep: timedelta, now: datetime) -> str:
    hi = add_absolute(now, HORIZON)
    written = _written(window, keep, now)
    last = written[-1] if written else None
    if last is not None and any(o.start > last.start for o in window.occurrences(last.end, hi, 3 * MOST)):
        reach = last.start - now  # they stop short: topped up when a step that fits twice in it is over
        step = "%Y-%m" if reach >= timedelta(days=62) else "%Y-%m-%d" if reach >= timedelta(days=2) else "%Y-%m-%dT%H"
        return now.strftime(step)
    ends = window.last_end()
    return f"{now:%Y-%m}" if ends is None or ends > hi else ""


def _when(moment: datetime, window: Window) -> dict[str, str]:
    """A Graph dateTimeTimeZone: UTC for a timed event (unambiguous in a DST fold or gap), the local
    midnight in the window's zone (its IANA name) for an all-day one: Outlook shows it on those
    dates wherever its reader is, where UTC midnights would cover two days east or west of it."""
    if window.all_day:
        return {"dateTime": f"{moment.date().isoformat()}T00:00:00", "timeZone": window.tz.key}
    return {"dateTime": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


def event(window: Window, config: Config, key: str, occurrence: Occurrence, version: str,
          event_uid: str | None = None) -> dict[str, Any]:
    """Given a window, one of its occurrences and the version written, return the Graph event."""
    minutes = [int(a.approx.total_seconds() // 60) for a in config.calendar.alarms]
    return {
        "subject": summary(window, config.language),
        "body": {"contentType": "text", "content": describe(window, config)},
        "start": _when(occurrence.start, window),
        "end": _when(occurrence.end, window),
        "isAllDay": window.all_day,
        "showAs": "free",  # an outage does not make the calendar's owner busy (the feed's TRANSP)
        "isReminderOn": bool(minutes),
        **({"reminderMinutesBeforeStart": max(minutes)} if minutes else {}),  # Graph holds one reminder
        "singleValueExtendedProperties": [
            {"id": UID_PROPERTY, "value": event_uid or uid(window, config)},
            {"id": OCCURRENCE_PROPERTY, "value": key},
            {"id": VERSION_PROPERTY, "value": version},
        ],
    }


def version(generation: int, sequence: int) -> str:
    """Given a write's generation and SEQUENCE, return the version its events carry."""
    return f"{generation}:{sequence}"


def document(window: Window, config: Config, revision: Revision, now: datetime, generation: int = 0) -> bytes:
    """Given a window and its revision, return the Graph events of its occurrences by key, as JSON."""
    written = version(generation, revision.sequence)
    return json.dumps({key: event(window, config, key, o, written) for key, o in occurrences(window, config, now)},
                      ensure_ascii=False, sort_keys=True).encode()


def test_document(window: Window, config: Config, now: datetime) -> tuple[str, bytes]:
    """Given a window and ``now``, return the UID and Graph event of a test event (``send-test
    --calendar``): the window's first occurrence under a UID of its own, its subject marked as a test."""
    test_uid = f"outage-daemon-test-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{window.id}@{config.calendar.domain}"
    found = occurrences(window, config, now)[:1] or [(ONCE, Occurrence(window.id, window.start, window.end))]
    key, first = found[0]
    body = event(window, config, key, first, version(0, 0), test_uid)
    body["subject"] = f"[Test] {body['subject']}"
    return test_uid, json.dumps({key: body}, ensure_ascii=False).encode()


def transaction_id(event_uid: str, key: str, written: str) -> str:
    """Given an event's UID, occurrence and the version written, return the ``transactionId`` of its
    create: the same for a retried create (Graph then makes no second event), another for a later
    version (an event deleted in Outlook meanwhile is made again, not taken for the deleted one)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"outage-daemon:{event_uid}:{key}:{written}"))

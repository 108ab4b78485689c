"""Read a feed with three independent parsers and lint its wire format (shared by tests)."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone

import icalendar
import vobject
from ical.calendar_stream import IcsCalendarStream

UTC = timezone.utc
Key = tuple[str, object, object]


def as_utc(value: object) -> object:
    """Given a parsed DTSTART/DTEND value, return it in UTC (a date stays a date); fail on a floating time."""
    if isinstance(value, datetime):
        assert value.tzinfo is not None, f"floating time {value}"
        return value.astimezone(UTC)
    assert isinstance(value, date)
    return value


def parse_three(data: bytes) -> list[Key]:
    """Return (UID, start, end) per event, asserting that icalendar, ical and vobject agree."""
    text = data.decode("utf-8")
    one = sorted((str(e["UID"]), as_utc(e.decoded("DTSTART")), as_utc(e.decoded("DTEND")))
                 for e in icalendar.Calendar.from_ical(text).walk("VEVENT"))
    two = sorted((e.uid, as_utc(e.dtstart), as_utc(e.dtend))
                 for e in IcsCalendarStream.calendar_from_ics(text).events)
    three = sorted((e.uid.value, as_utc(e.dtstart.value), as_utc(e.dtend.value))
                   for e in vobject.readOne(text, validate=True).vevent_list)
    assert one == two == three, (one, two, three)
    return one


def lint(data: bytes) -> None:
    """Assert the wire format: strict UTF-8, CRLF only, lines of at most 75 octets, no T24,
    VTIMEZONE blocks without RDATE, durations typed."""
    data.decode("utf-8", errors="strict")
    assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b"")
    assert b"\r" not in data.replace(b"\r\n", b"")
    for line in data.split(b"\r\n"):
        assert len(line) <= 75, line
        assert not re.search(rb"[\x00-\x08\x0b-\x1f\x7f]", line), line
    unfolded = data.replace(b"\r\n ", b"")
    assert not re.search(rb"T24\d{4}", unfolded)
    assert b"REFRESH-INTERVAL;VALUE=DURATION:P" in unfolded
    assert re.search(rb"\r\nX-PUBLISHED-TTL:P[T0-9DHMSW]+\r\n", unfolded)
    for block in re.findall(rb"BEGIN:VTIMEZONE\r\n(.*?)END:VTIMEZONE", unfolded, re.S):
        assert b"RDATE" not in block
        standard, daylight = block.count(b"BEGIN:STANDARD"), block.count(b"BEGIN:DAYLIGHT")
        assert standard >= 1 and daylight <= standard
        if daylight:
            assert block.count(b"RRULE:FREQ=YEARLY") == standard + daylight
    tzids = set(re.findall(rb";TZID=([^:;]+)", unfolded))
    defined = set(re.findall(rb"\r\nTZID:([^\r]+)", unfolded))
    assert tzids <= defined, (tzids, defined)
    assert len(defined) == unfolded.count(b"BEGIN:VTIMEZONE")

"""Time rules: parse times and durations, place them in a zone, apply offsets, expand repeats.

Pure: no clock, no I/O. Every aware datetime here carries a ``zoneinfo.ZoneInfo`` (or UTC).
Python adds a timedelta to an aware datetime in *wall-clock* terms, so absolute arithmetic always
goes through UTC (:func:`add_absolute`), and calendar arithmetic through the naive local time
(:func:`shift_days`).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from functools import cache, cached_property
from itertools import islice
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from dateutil.rrule import rrule, rrulebase, rrulestr

UTC = timezone.utc


class TimeError(ValueError):
    """A time, duration, zone or rule that our rules refuse; the message says why."""


# --- zones -------------------------------------------------------------------------------------

_ZONE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)*$")


def zone(name: str) -> ZoneInfo:
    """Given an IANA zone name, return its ZoneInfo; raise TimeError if the tz database lacks it."""
    if not _ZONE_NAME.match(name) or len(name) > 64:
        raise TimeError(f"unknown time zone {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise TimeError(f"unknown time zone {name!r}") from exc


@cache
def zone_names() -> list[str]:
    """Return the IANA zone names the tz database knows, sorted (for "did you mean" hints)."""
    return sorted(available_timezones())


# --- durations ---------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Offset:
    """A duration: ``days`` are calendar days in the window's zone, ``seconds`` are absolute."""

    days: int
    seconds: int
    text: str  # as written

    @cached_property
    def canonical(self) -> str:
        """Return a normal form (``1w``, ``1d``, ``1h30m``) so that ``PT15M`` and ``15m`` match."""
        out = []
        weeks, days = divmod(self.days, 7)
        hours, rest = divmod(self.seconds, 3600)
        minutes, seconds = divmod(rest, 60)
        for value, unit in ((weeks, "w"), (days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")):
            if value:
                out.append(f"{value}{unit}")
        return "".join(out) or "0s"

    @property
    def approx(self) -> timedelta:
        """Return the duration with a day counted as 24 hours (for ordering and bounds only)."""
        return timedelta(days=self.days, seconds=self.seconds)


_SHORT = re.compile(
    r"^(?:(?P<w>\d+)\s*w)?\s*(?:(?P<d>\d+)\s*d)?\s*(?:(?P<h>\d+)\s*h)?\s*"
    r"(?:(?P<m>\d+)\s*m)?\s*(?:(?P<s>\d+)\s*s)?$"
)
_ISO = re.compile(
    r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?$"
)
_MAX_DAYS = 3660


def parse_duration(text: str) -> Offset:
    """Given ``90s``, ``15m``, ``2h``, ``1d``, ``1w``, ``1h30m`` or ISO 8601 ``PT15M``, return it.

    Raise TimeError for anything else (months and years are refused: their length varies).
    """
    raw = text.strip()
    upper = raw.upper()
    if upper.startswith("P"):
        if "Y" in upper or "M" in upper.split("T")[0]:
            raise TimeError(f"bad duration {text!r}: months and years vary in length, use days")
        match = _ISO.match(upper)
    else:
        match = _SHORT.match(raw.lower())
    if match is None or not any(match.groupdict().values()):
        raise TimeError(f"bad duration {text!r}: use e.g. 90s, 15m, 2h, 1d, 1w, 1h30m or PT15M")
    parts = {k: int(v) if v else 0 for k, v in match.groupdict().items()}
    days = parts["w"] * 7 + parts["d"]
    seconds = parts["h"] * 3600 + parts["m"] * 60 + parts["s"]
    if days + seconds // 86400 > _MAX_DAYS:
        raise TimeError(f"bad duration {text!r}: longer than ten years")
    return Offset(days, seconds, raw)


# --- points in time ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Written:
    """A time as written in the config, before it is placed in a zone.

    Exactly one shape: ``day`` alone (a date, all-day), ``local`` (naive wall-clock time), or
    ``fixed`` (aware, from an explicit offset or ``Z``).
    """

    text: str
    day: date | None = None
    local: datetime | None = None
    fixed: datetime | None = None
    end_of_day: bool = False  # written 24:00: ``local`` is the next midnight, whenever the day ends

    @property
    def is_date(self) -> bool:
        return self.day is not None


_WHEN = re.compile(
    r"^(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:(?:[Tt]|\s+)(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?"
    r"\s*(?P<off>[Zz]|[+-]\d{2}(?::?\d{2})?)?)?$"
)


def parse_when(text: str) -> Written:
    """Given ``2023-10-15 22:00``, ``2023-10-15T22:00+08:00``, ``…Z`` or ``2023-10-15``, return it.

    ``24:00`` means midnight at the end of that day. Raise TimeError for anything else.
    """
    match = _WHEN.match(text.strip())
    if match is None:
        raise TimeError(
            f"bad time {text!r}: use YYYY-MM-DD HH:MM, with an optional offset (+08:00, Z), "
            "or YYYY-MM-DD for an all-day window"
        )
    g = match.groupdict()
    try:
        day = date(int(g["y"]), int(g["mo"]), int(g["d"]))
    except ValueError as exc:
        raise TimeError(f"bad time {text!r}: {exc}") from exc
    if not FIRST_DAY <= day <= LAST_DAY:
        raise TimeError(f"bad time {text!r}: dates from {FIRST_DAY:%Y-%m-%d} to {LAST_DAY:%Y-%m-%d} are "
                        "supported (reminders, feeds and time zones need room around them)")
    if g["h"] is None:
        return Written(text, day=day)
    hour, minute, second = int(g["h"]), int(g["mi"]), int(g["s"] or 0)
    extra = timedelta(0)
    if hour == 24 and minute == 0 and second == 0:
        hour, extra = 0, timedelta(days=1)
    try:
        naive = datetime.combine(day, time(hour, minute, second)) + extra
    except (ValueError, OverflowError) as exc:
        raise TimeError(f"bad time {text!r}: {exc}") from exc
    if g["off"] is None:
        return Written(text, local=naive, end_of_day=bool(extra))
    return Written(text, fixed=naive.replace(tzinfo=_fixed_zone(g["off"], text)))


def _fixed_zone(off: str, text: str) -> tzinfo:
    if off in ("Z", "z"):
        return UTC
    sign = -1 if off[0] == "-" else 1
    digits = off[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 18 or minutes > 59:
        raise TimeError(f"bad time {text!r}: offset {off} out of range")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def localize(naive: datetime, tz: ZoneInfo) -> datetime:
    """Given a wall-clock time in ``tz``, return it aware; raise TimeError in a DST gap or overlap."""
    early = naive.replace(tzinfo=tz, fold=0)
    late = naive.replace(tzinfo=tz, fold=1)
    if early.utcoffset() == late.utcoffset():
        return early
    if early.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
        raise TimeError(
            f"{naive:%Y-%m-%d %H:%M} does not exist in {tz.key} (the clocks skip it for DST)"
        )
    raise TimeError(
        f"{naive:%Y-%m-%d %H:%M} happens twice in {tz.key} (DST ends): "
        f"write the offset, {_offset_text(early)} or {_offset_text(late)}"
    )


def resolve(naive: datetime, tz: ZoneInfo) -> datetime:
    """Given a wall-clock time, return it aware as RFC 5545 does: a gap moves later, an overlap
    takes the first occurrence."""
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC).astimezone(tz)


def place(written: Written, tz: ZoneInfo) -> datetime:
    """Given a written time, return it aware in ``tz`` (a date means local midnight).

    ``24:00`` is the end of its day, which exists even when the next day begins in a DST gap (the
    clocks jump from 24:00 to 01:00) or repeats its first hour (then it is the first 00:00).
    """
    if written.fixed is not None:
        return written.fixed.astimezone(tz)
    if written.local is not None and written.end_of_day:
        return resolve(written.local, tz)
    if written.local is not None:
        return localize(written.local, tz)
    day = written.day or date.min
    return resolve(datetime.combine(day, time()), tz)


def _offset_text(dt: datetime) -> str:
    off = dt.utcoffset() or timedelta(0)
    sign = "-" if off < timedelta(0) else "+"
    minutes = abs(int(off.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


# --- arithmetic --------------------------------------------------------------------------------


def add_absolute(dt: datetime, delta: timedelta) -> datetime:
    """Given an aware time, return it moved by ``delta`` of elapsed time, in the same zone."""
    tz = dt.tzinfo
    return (dt.astimezone(UTC) + delta).astimezone(tz)


def shift_days(dt: datetime, days: int) -> datetime:
    """Given an aware time in a ZoneInfo zone, return the same wall-clock time ``days`` later."""
    tz = dt.tzinfo
    if not isinstance(tz, ZoneInfo):
        return dt + timedelta(days=days)
    return resolve(dt.replace(tzinfo=None) + timedelta(days=days), tz)


def before(milestone: datetime, offset: Offset) -> datetime:
    """Given a milestone and an offset, return when "offset before the milestone" is.

    Days and weeks are calendar days in the milestone's zone ("1d before 09:00" is 09:00 the day
    before, across DST); hours, minutes and seconds are absolute.
    """
    return add_absolute(shift_days(milestone, -offset.days), -timedelta(seconds=offset.seconds))


# --- repeats -----------------------------------------------------------------------------------

_RRULE_KEYS = frozenset((
    "FREQ", "UNTIL", "COUNT", "INTERVAL", "BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY", "BYMONTHDAY",
    "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS", "WKST",
))


def rule_parts(text: str) -> dict[str, str]:
    """Given an RRULE value (with or without ``RRULE:``), return its parts by upper-case name.

    Raise TimeError unless it is one line of ``NAME=VALUE`` parts of an RRULE, with FREQ and
    not both UNTIL and COUNT.
    """
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    if not body or "\n" in body or "\r" in body:
        raise TimeError("bad repeat rule: write one RRULE, e.g. FREQ=WEEKLY;BYDAY=SU")
    parts: dict[str, str] = {}
    for part in body.split(";"):
        key, sep, value = part.partition("=")
        if not sep or not value or key.upper() not in _RRULE_KEYS:
            raise TimeError(f"bad repeat rule {text!r}: {part!r} is not NAME=VALUE of an RRULE")
        parts[key.upper()] = value
    if "FREQ" not in parts:
        raise TimeError(f"bad repeat rule {text!r}: FREQ= is required")
    if "UNTIL" in parts and "COUNT" in parts:
        raise TimeError(f"bad repeat rule {text!r}: UNTIL and COUNT exclude each other")
    return parts


def _until_parts(value: str) -> tuple[datetime, bool]:
    """Given an RRULE's UNTIL value, return it naive (a date alone as midnight) and whether it ends
    with ``Z``; raise TimeError for anything else."""
    digits = value.strip().upper()
    match = re.fullmatch(r"(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z?))?", digits)
    if match is None:
        raise TimeError(f"bad UNTIL {value!r}: use YYYYMMDD, YYYYMMDDTHHMMSS (local) or YYYYMMDDTHHMMSSZ (UTC)")
    y, mo, d, h, mi, sec, z = match.groups()
    try:
        day = date(int(y), int(mo), int(d))
        if h is None:
            return datetime.combine(day, time()), False
        return datetime.combine(day, time(int(h), int(mi), int(sec))), z == "Z"
    except ValueError as exc:
        raise TimeError(f"bad UNTIL {value!r}: {exc}") from exc


def until_instant(value: str, tz: ZoneInfo) -> datetime:
    """Given a timed window's RRULE UNTIL value, return the last instant a start may reach, in UTC.

    ``…Z`` is UTC, as RFC 5545 writes it; a time without ``Z`` is local wall time in ``tz`` (placed
    as RFC 5545 places a start: a gap moves later, an overlap takes the first). A date alone keeps
    that whole day: 23:59:59 local.
    """
    naive, utc = _until_parts(value)
    if utc:
        return naive.replace(tzinfo=UTC)
    if len(value.strip()) == 8:
        naive = naive.replace(hour=23, minute=59, second=59)
    return resolve(naive, tz).astimezone(UTC)


def until_day(value: str, tz: ZoneInfo) -> date:
    """Given an all-day window's UNTIL value, return the last day an occurrence may fall on."""
    naive, utc = _until_parts(value)
    return naive.replace(tzinfo=UTC).astimezone(tz).date() if utc else naive.date()


class Repeat(rrulebase):
    """A repeat's naive local instances as RFC 5545 reads them in a zone (RFC 5545 3.8.5.3, 3.3.10).

    dateutil compares UNTIL with each instance's local wall time and counts every instance it
    generates; RFC 5545 compares UNTIL with the instance's start (02:30 in a DST gap starts at
    03:30, after an UNTIL of 03:00), and an instance that a gap moves onto another one is a
    duplicate, kept once and counted once. ``generated`` is the rule without UNTIL or COUNT
    (bounded a day past UNTIL); ``tz`` None compares naive times (all-day windows).
    """

    distinct: ClassVar[bool] = True  # False: keep an instance that starts with the one before (tests model readers)

    def __init__(self, generated: rrule, tz: ZoneInfo | None, until: datetime | None, times: int | None) -> None:
        super().__init__(cache=False)
        self.generated, self.tz, self.until, self.times = generated, tz, until, times
        self._collides: bool | None = None

    def place(self, naive: datetime) -> datetime:
        """Given an instance, return when it starts (UTC), or itself when the repeat is all-day."""
        return naive if self.tz is None else naive.replace(tzinfo=self.tz, fold=0).astimezone(UTC)  # resolve's instant

    def _iter(self) -> Iterator[datetime]:
        recent: deque[tuple[datetime, datetime]] = deque()  # (instance, start) of the last two days
        starts: set[datetime] = set()
        left = self.times
        for naive in self.generated:
            if left is not None and left <= 0:
                return
            at = self.place(naive)
            if self.until is not None and at > self.until:
                if at > self.until + timedelta(days=2):  # a gap moves a start by less than a day
                    return
                continue
            if self.distinct and at in starts:
                continue
            while recent and recent[0][0] < naive - timedelta(days=2):  # a gap moves a start less
                starts.discard(recent.popleft()[1])
            recent.append((naive, at))
            starts.add(at)
            yield naive
            left = None if left is None else left - 1

    def collides(self) -> bool:
        """Return whether COUNT counts a different set than a reader that counts every generated
        instance would (a gap moved one instance onto another); computed once."""
        if self.times is None or self.tz is None:
            return False
        if self._collides is None:
            raw = list(islice(self.generated, self.times))
            self._collides = len({self.place(n) for n in raw}) != len(raw)
        return self._collides


FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9998, 12, 31)
MAX_OCCURRENCES = 100_000  # of one repeat rule: its expansion (checks, last end) stays well under a second


# The shortest length of each FREQ's period, for an upper bound on a simple rule's instances.
_SHORTEST = {"YEARLY": timedelta(days=365), "MONTHLY": timedelta(days=28), "WEEKLY": timedelta(weeks=1),
             "DAILY": timedelta(days=1), "HOURLY": timedelta(hours=1), "MINUTELY": timedelta(minutes=1),
             "SECONDLY": timedelta(seconds=1)}


def _at_most(parts: dict[str, str], dtstart: datetime) -> int | None:
    """Given a rule's parts (UNTIL naive local) and first start, return an upper bound on its
    instances when FREQ, INTERVAL, UNTIL, WKST and a weekly BYDAY are all it has, else None."""
    freq, interval = parts.get("FREQ", ""), parts.get("INTERVAL", "1")
    weekly_days = freq == "WEEKLY" and "BYDAY" in parts
    if set(parts) - {"FREQ", "INTERVAL", "UNTIL", "WKST", *(["BYDAY"] if weekly_days else [])} \
            or freq not in _SHORTEST or not (interval.isascii() and interval.isdigit() and int(interval) > 0):
        return None
    try:
        last = datetime.fromisoformat(parts["UNTIL"])  # parse_rrule wrote it naive, local
    except ValueError:
        return None
    per_period = len(set(parts["BYDAY"].split(","))) if weekly_days else 1  # each day: once a period at most
    return (max(last - dtstart, timedelta(0)) // (_SHORTEST[freq] * int(interval)) + 1) * per_period


def _more_than_max(rule: rrulebase) -> bool:
    """Return whether the rule has more than MAX_OCCURRENCES instances."""
    return next(islice(rule, MAX_OCCURRENCES, None), None) is not None


def _bounded(rule: Repeat, parts: dict[str, str], text: str, dtstart: datetime) -> None:
    """Raise TimeError when the rule has more than MAX_OCCURRENCES occurrences (COUNT or UNTIL)."""
    count = parts.get("COUNT", "")
    if count.isascii() and count.isdigit() and int(count) > MAX_OCCURRENCES:
        raise TimeError(f"bad repeat rule {text!r}: COUNT={int(count):,} is more than {MAX_OCCURRENCES:,} "
                        "occurrences; split the window or repeat less often")
    # A simple rule's count has an upper bound without expanding it (most windows); others are
    # counted on the rule without UNTIL (a day past it), without placing each instance in its
    # zone; only a rule near the limit is counted as RFC 5545 reads it.
    if "UNTIL" not in parts or (_at_most(parts, dtstart) or MAX_OCCURRENCES + 1) <= MAX_OCCURRENCES:
        return
    if _more_than_max(rule.generated) and _more_than_max(rule):
        raise TimeError(f"bad repeat rule {text!r}: more than {MAX_OCCURRENCES:,} occurrences before UNTIL; "
                        "split the window or repeat less often")


def parse_rrule(text: str, dtstart: datetime, tz: ZoneInfo, all_day: bool = False) -> Repeat:
    """Given an RFC 5545 RRULE value, the naive local first start and its zone, return the repeat.

    UNTIL is read as :func:`until_instant` says (``Z`` is UTC, else local wall time). Raise
    TimeError for anything dateutil refuses or that is not a single RRULE.
    """
    parts = rule_parts(text)
    until: datetime | None = None
    count = parts.pop("COUNT", None)
    if "UNTIL" in parts:
        value = parts["UNTIL"]
        if all_day:  # whole days: compared as local dates, as readers compare VALUE=DATE
            parts["UNTIL"] = f"{until_day(value, tz):%Y%m%d}T000000"
        else:  # generate a day past it; :class:`Repeat` compares each start with the instant
            until = until_instant(value, tz)
            parts["UNTIL"] = f"{until.astimezone(tz).replace(tzinfo=None) + timedelta(days=1):%Y%m%dT%H%M%S}"
    body = ";".join(f"{key}={value}" for key, value in parts.items())
    try:
        generated = rrulestr(body, dtstart=dtstart)
        if count is not None and not (count.isascii() and count.isdigit()):
            raise ValueError(f"COUNT={count} is not a number")
        next(iter(generated), None)  # dateutil validates some parts lazily
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise TimeError(f"bad repeat rule {text!r}: {exc}") from exc
    if not isinstance(generated, rrule):
        raise TimeError(f"bad repeat rule {text!r}: one RRULE only")
    if count is not None:
        parts["COUNT"] = count
    rule = Repeat(generated, None if all_day else tz, until, int(count) if count is not None else None)
    _bounded(rule, parts, text, dtstart)
    return rule


def instances_between(
    rule: rrulebase, tz: ZoneInfo, lo: datetime, hi: datetime, limit: int | None = 10_000
) -> Iterator[tuple[datetime, datetime]]:
    """Given a rule over naive local starts, yield (naive instance, aware start) in ``[lo, hi]``,
    at most ``limit`` (None: all of them).

    The aware start is placed as RFC 5545 does (:func:`resolve`); the naive instance is what
    ``except:`` entries and EXDATEs name (a 02:30 in a DST gap starts at 03:30).
    """
    lo_local = lo.astimezone(tz).replace(tzinfo=None) - timedelta(days=1)
    hi_local = hi.astimezone(tz).replace(tzinfo=None) + timedelta(days=1)
    count = 0
    for naive in rule.xafter(lo_local, inc=True):
        if naive > hi_local or (limit is not None and count >= limit):
            return
        start = resolve(naive, tz)
        if lo <= start <= hi:
            count += 1
            yield naive, start


def occurrences_between(
    rule: rrulebase, tz: ZoneInfo, lo: datetime, hi: datetime, limit: int = 10_000
) -> Iterator[datetime]:
    """Given a rule over naive local starts, yield aware starts in ``[lo, hi]`` (aware bounds).

    Each occurrence keeps its wall-clock time across DST (a weekly 02:00 stays at 02:00 local).
    """
    for _, start in instances_between(rule, tz, lo, hi, limit):
        yield start


def is_ambiguous(dt: datetime) -> bool:
    """Given an aware time in a ZoneInfo zone, return whether its wall-clock time happens twice."""
    naive, tz = dt.replace(tzinfo=None), dt.tzinfo
    early, late = naive.replace(tzinfo=tz, fold=0), naive.replace(tzinfo=tz, fold=1)
    return early.utcoffset() != late.utcoffset() and late.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive

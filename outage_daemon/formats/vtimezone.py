"""VTIMEZONE in the shape Outlook understands, derived from the current tz database. Pure.

For the years a feed covers, find the zone's transitions, and describe each run of years that
follow one yearly pattern as one STANDARD and one DAYLIGHT block with
``RRULE:FREQ=YEARLY;BYMONTH=m;BYDAY=nSU`` (no RDATE lists). A zone without DST in those years gets
one STANDARD alone. :func:`transitions` is also what the tests compare the result against.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from dateutil.rrule import YEARLY, rrule, weekday
from icalendar import Timezone, TimezoneDaylight, TimezoneStandard, vRecur

from outage_daemon.core.timerules import UTC

_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class Transition:
    """A change of UTC offset: ``at`` in UTC, the offsets before and after, the new name."""

    at: datetime
    before: timedelta
    after: timedelta
    name: str
    dst: bool

    @property
    def local(self) -> datetime:
        """Return the naive wall-clock time of the change, in the offset before it."""
        return (self.at + self.before).replace(tzinfo=None)


def transitions(tz: ZoneInfo, first_year: int, last_year: int) -> list[Transition]:
    """Given a zone and a span of years, return every change of UTC offset in them, in order."""
    out = []
    step = timedelta(hours=6)
    t = datetime(first_year, 1, 1, tzinfo=UTC) - timedelta(days=1)
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC) + timedelta(days=1)
    prev = t.astimezone(tz).utcoffset()
    while t < end:
        nxt = t + step
        off = nxt.astimezone(tz).utcoffset()
        if off != prev:
            lo, hi = t, nxt  # bisect to the second
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                if mid.astimezone(tz).utcoffset() == prev:
                    lo = mid
                else:
                    hi = mid
            at = hi.replace(microsecond=0)
            local = at.astimezone(tz)
            if first_year <= at.year <= last_year and prev is not None and off is not None:
                # DAYLIGHT is the side the clocks go forward to, as clients expect; tzdata's own
                # flag is negative in some zones (Dublin's winter is its "DST").
                out.append(Transition(at, prev, off, local.tzname() or "", off > prev))
            prev = off
        t = nxt
    return out


def _byday(local: datetime) -> list[str]:
    """Given a transition's local time, return the BYDAY forms that name its day (2SU, -1SU)."""
    day = _DAYS[local.weekday()]
    nth = (local.day - 1) // 7 + 1
    forms = [f"{nth}{day}"]
    if (local + timedelta(days=7)).month != local.month:
        forms.append(f"-1{day}")
    return forms


@dataclass(frozen=True)
class _Rule:
    dst: bool
    month: int
    byday: str
    clock: tuple[int, int, int]
    before: timedelta
    after: timedelta
    name: str


def _rules_of(year: list[Transition], byday_choice: dict[int, str]) -> tuple[_Rule, ...]:
    return tuple(
        _Rule(t.dst, t.local.month, byday_choice[i], (t.local.hour, t.local.minute, t.local.second),
              t.before, t.after, t.name)
        for i, t in enumerate(year)
    )


@dataclass(frozen=True)
class _Era:
    years: tuple[int, ...]
    rules: tuple[_Rule, ...]  # empty: a fixed offset
    firsts: tuple[Transition, ...]
    lasts: tuple[Transition, ...]


def _eras(tz: ZoneInfo, first_year: int, last_year: int) -> list[_Era]:
    """Group the years into runs that share one yearly pattern of (at most two) transitions."""
    found = transitions(tz, first_year, last_year)
    by_year: dict[int, list[Transition]] = {y: [] for y in range(first_year, last_year + 1)}
    for t in found:
        by_year[t.local.year].append(t)
    eras: list[_Era] = []
    for year in range(first_year, last_year + 1):
        these = by_year[year]
        options = [_byday(t.local) for t in these]
        if len(these) > 2:
            raise ValueError(f"{tz.key} changes offset {len(these)} times in {year}")
        previous = eras[-1] if eras else None
        # Prefer the BYDAY form the previous year used, so that runs stay together.
        choice = {}
        for i, forms in enumerate(options):
            wanted = previous.rules[i].byday if previous and i < len(previous.rules) else None
            choice[i] = wanted if wanted in forms else forms[-1]
        rules = _rules_of(these, choice)
        if previous is not None and previous.rules == rules and (rules or not these):
            eras[-1] = _Era((*previous.years, year), rules, previous.firsts,
                            tuple(these) or previous.lasts)
        else:
            eras.append(_Era((year,), rules, tuple(these), tuple(these)))
    return eras


def _first_instance(rule: _Rule, year: int) -> datetime:
    """Given a yearly rule, return its naive local instant in ``year`` (DTSTART must be one)."""
    n, day = int(rule.byday[:-2]), _DAYS.index(rule.byday[-2:])
    pattern = rrule(YEARLY, bymonth=rule.month, byweekday=weekday(day)(n),
                    dtstart=datetime(year, 1, 1, *rule.clock))  # noqa: DTZ001 - local wall time
    found: datetime = pattern[0]
    return found


def _observance(daylight: bool, dtstart: datetime, before: timedelta, after: timedelta, name: str,
                recur: dict[str, object] | None = None) -> TimezoneStandard | TimezoneDaylight:
    sub = TimezoneDaylight() if daylight else TimezoneStandard()
    sub.add("dtstart", dtstart)
    if recur is not None:
        sub.add("rrule", vRecur(recur))
    sub.add("tzoffsetfrom", before)
    sub.add("tzoffsetto", after)
    sub.add("tzname", name)
    return sub


@lru_cache(maxsize=256)
def vtimezone(key: str, first_year: int, last_year: int) -> Timezone:
    """Given a zone name and the years a feed covers, return its VTIMEZONE component."""
    tz = ZoneInfo(key)
    comp = Timezone()
    comp.add("tzid", key)
    eras = _eras(tz, first_year, last_year)
    epoch = datetime(1970, 1, 1)  # noqa: DTZ001 - VTIMEZONE onsets are local wall times
    for index, era in enumerate(eras):
        last = index == len(eras) - 1
        name = datetime(era.years[0], 1, 1, tzinfo=UTC).astimezone(tz).tzname() or key
        if not era.rules:  # a fixed offset; the first era starts in 1970, before any feed date
            start = datetime(era.years[0], 1, 1, tzinfo=UTC).astimezone(tz)
            offset = start.utcoffset() or timedelta(0)
            before = era.lasts[-1].after if era.lasts else offset
            begins = epoch if index == 0 else datetime(era.years[0], 1, 1)  # noqa: DTZ001 - local
            comp.add_component(_observance(False, begins, before, offset, name))
            continue
        once = len(era.years) == 1 and not last  # a one-off change, not a yearly pattern
        if index == 0 and once:  # something must hold before the first onset
            held = era.firsts[0].before
            comp.add_component(_observance(False, epoch, held, held, name))
        for rule, first, final in zip(era.rules, era.firsts, era.lasts, strict=True):
            recur: dict[str, object] | None = None
            if not once:
                recur = {"FREQ": "YEARLY", "BYMONTH": rule.month, "BYDAY": rule.byday}
                if not last:
                    # A day after the last onset: readers that compare UNTIL with the local
                    # DTSTART would otherwise drop that onset; the next one is a year away.
                    recur["UNTIL"] = final.at.astimezone(UTC) + timedelta(days=1)
            dtstart = _first_instance(rule, 1970) if index == 0 and not once else first.local
            comp.add_component(_observance(rule.dst, dtstart, rule.before, rule.after, rule.name, recur))
    return comp

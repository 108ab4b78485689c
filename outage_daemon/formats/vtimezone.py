"""VTIMEZONE in the shape Outlook understands, derived from the current tz database. Pure.

For the years a feed covers, find the zone's transitions, and describe each run of years that
follow one yearly pattern as one STANDARD and one DAYLIGHT block with
``RRULE:FREQ=YEARLY;BYMONTH=m;BYDAY=nSU`` (no RDATE lists), or, for rules like "Fri>=23" that no
nth weekday names, ``BYMONTHDAY=23,…,29;BYDAY=FR``. A year that follows no pattern (Morocco's
Ramadan changes, up to three a year) gets one block per change, each a DTSTART alone. A zone
without DST in those years gets one STANDARD alone. :func:`transitions` is also what the tests
compare the result against.
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


_AHEAD = 4
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # Feb: every year has its 28


@dataclass(frozen=True)
class _Form:
    """How a yearly rule names a day of its month: ``2SU``, ``-1SU``, or ``SU`` on one of seven
    consecutive ``monthdays`` (``BYMONTHDAY=23,…,29;BYDAY=FR``, as libical and Google write
    "Fri>=23")."""

    byday: str
    monthdays: tuple[int, ...] = ()


def _forms(local: datetime) -> list[_Form]:
    """Given a transition's local time, return every form that names its day, Outlook's first."""
    day = _DAYS[local.weekday()]
    out = []
    if (local + timedelta(days=7)).month != local.month:
        out.append(_Form(f"-1{day}"))  # "last Sunday" holds in every year; a 5th Sunday does not
    nth = (local.day - 1) // 7 + 1
    if nth < 5:
        out.append(_Form(f"{nth}{day}"))
    last_first = _MONTH_DAYS[local.month - 1] - 6
    for first in range(max(1, local.day - 6), min(local.day, last_first) + 1):
        if (first - 1) % 7:  # 1-7, 8-14, … are the nth forms above
            out.append(_Form(day, tuple(range(first, first + 7))))
    return out


@dataclass(frozen=True)
class _Rule:
    dst: bool
    month: int
    form: _Form
    clock: tuple[int, int, int]
    before: timedelta
    after: timedelta
    name: str


def _rule(t: Transition, form: _Form) -> _Rule:
    local = t.local
    return _Rule(t.dst, local.month, form, (local.hour, local.minute, local.second), t.before, t.after, t.name)


@dataclass(frozen=True)
class _Era:
    years: tuple[int, ...]
    rules: tuple[_Rule, ...]  # empty: a fixed offset
    firsts: tuple[Transition, ...]
    lasts: tuple[Transition, ...]


def _run(by_year: dict[int, list[Transition]], year: int, index: int, form: _Form) -> int:
    """Return for how many years from ``year`` the ``index``-th transition follows ``form``."""
    want = _rule(by_year[year][index], form)
    count = 0
    while year + count in by_year:
        these = by_year[year + count]
        if len(these) != len(by_year[year]) or form not in _forms(these[index].local) or \
                _rule(these[index], form) != want:
            break
        count += 1
    return count


def _eras(tz: ZoneInfo, first_year: int, last_year: int) -> list[_Era]:
    """Group the years into runs that share one yearly pattern of transitions, choosing for each
    transition the day form that holds longest; a year no pattern spans is an era of its own."""
    # The runs look a few years past the feed, so that the pattern written on (the last era has
    # no UNTIL) is the one the zone keeps, not one that merely fits the covered years.
    by_year: dict[int, list[Transition]] = {y: [] for y in range(first_year, last_year + _AHEAD + 1)}
    for t in transitions(tz, first_year, last_year + _AHEAD):
        by_year[t.local.year].append(t)
    eras: list[_Era] = []
    year = first_year
    while year <= last_year:
        these = by_year[year]
        span, forms = last_year - year + 1, []
        for index, t in enumerate(these):
            runs = [(_run(by_year, year, index, form), -rank, form) for rank, form in enumerate(_forms(t.local))]
            run, _, best = max(runs, key=lambda r: r[:2])  # the longest run; Outlook's nth form on a tie
            forms.append(best)
            span = min(span, run)
        if not these:  # a fixed offset, as long as nothing changes
            span = 1
            while year + span <= last_year and not by_year[year + span]:
                span += 1
        rules = tuple(_rule(t, f) for t, f in zip(these, forms, strict=True))
        span = min(span, last_year - year + 1)
        era = _Era(tuple(range(year, year + span)), rules, tuple(these), tuple(by_year[year + span - 1]))
        if span > 1 and not _reproduces(era, by_year):  # never expected: then each year on its own
            era = _Era((year,), rules, tuple(these), tuple(these))
        eras.append(era)
        year += len(era.years)
    return eras


def _pattern(rule: _Rule, year: int) -> rrule:
    """Given a yearly rule, return it as a dateutil rule from January 1st of ``year``."""
    n, day = (int(rule.form.byday[:-2] or 0), _DAYS.index(rule.form.byday[-2:]))
    return rrule(YEARLY, bymonth=rule.month, byweekday=weekday(day)(n) if n else weekday(day),
                 bymonthday=rule.form.monthdays or None,
                 dtstart=datetime(year, 1, 1, *rule.clock))  # noqa: DTZ001 - local wall time


def _first_instance(rule: _Rule, year: int) -> datetime:
    """Given a yearly rule, return its naive local instant in ``year`` (DTSTART must be one)."""
    found: datetime = _pattern(rule, year)[0]
    return found


def _reproduces(era: _Era, by_year: dict[int, list[Transition]]) -> bool:
    """Return whether the era's yearly rules give exactly its transitions, year by year."""
    for index, rule in enumerate(era.rules):
        want = [by_year[y][index].local for y in era.years]
        pattern = _pattern(rule, era.years[0])
        got = pattern.between(datetime(era.years[0], 1, 1), datetime(era.years[-1] + 1, 1, 1))  # noqa: DTZ001
        if got != want:
            return False
    return True


def _recur(rule: _Rule) -> dict[str, object]:
    recur: dict[str, object] = {"FREQ": "YEARLY", "BYMONTH": rule.month, "BYDAY": rule.form.byday}
    if rule.form.monthdays:
        recur["BYMONTHDAY"] = list(rule.form.monthdays)
    return recur


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
        # A one-off change, not a yearly pattern (also a year changing more than twice: Casablanca)
        once = (len(era.years) == 1 and not last) or len(era.rules) > 2
        if index == 0 and once:  # something must hold before the first onset
            held = era.firsts[0].before
            comp.add_component(_observance(False, epoch, held, held, name))
        for rule, first, final in zip(era.rules, era.firsts, era.lasts, strict=True):
            recur: dict[str, object] | None = None
            if not once:
                recur = _recur(rule)
                if not last:
                    # A day after the last onset: readers that compare UNTIL with the local
                    # DTSTART would otherwise drop that onset; the next one is a year away.
                    recur["UNTIL"] = final.at.astimezone(UTC) + timedelta(days=1)
            dtstart = _first_instance(rule, 1970) if index == 0 and not once else first.local
            comp.add_component(_observance(rule.dst, dtstart, rule.before, rule.after, rule.name, recur))
    return comp

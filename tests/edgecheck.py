"""Occurrences of a feed as each independent reader expands them, and as the planner and preview do.

Every occurrence is ``(uid, start, end)``: UTC datetimes for timed events, dates for all-day ones.
Readers: icalendar (with dateutil's rrule on what it parsed), Home Assistant's ``ical`` (its own
timeline), vobject (its rruleset, with EXDATEs), and Thunderbird's ical.js in node when `.tools/` has it.
Known deviations from RFC 5545 are in :data:`DEVIATIONS` (times) and :data:`PLACEMENTS` (which
instances), by reader, with the RFC section and the reason.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import icalendar
import vobject
from dateutil.rrule import rrulestr
from feedcheck import as_utc
from ical.calendar_stream import IcsCalendarStream

from outage_daemon import cli
from outage_daemon.core.model import Config, Window
from outage_daemon.core.revisions import revise_all
from outage_daemon.core.timerules import Repeat, add_absolute, instances_between, is_ambiguous, resolve
from outage_daemon.formats import ical as feed

UTC = timezone.utc
Occ = tuple[str, object, object]
Span = tuple[datetime, datetime]


def render(config: Config, now: datetime) -> bytes:
    """Return the main feed of a config, as ``render`` writes it."""
    return feed.render(config, revise_all(config, {}, now), now)


def _inside(start: object, span: Span) -> bool:
    """Whether an occurrence starts in ``[lo, hi)`` (a date: whether that day is in the span's days)."""
    lo, hi = span
    if isinstance(start, datetime):
        return lo <= start < hi
    assert isinstance(start, date)
    return lo.date() <= start < hi.date()


def _expand(start: object, end: object, rule: str | None, exdates: set[object], span: Span) -> list[Span]:
    """Expand with dateutil's rrule from an aware (or date) DTSTART, as RFC 5545 describes."""
    if rule is None:
        return [(start, end)]  # type: ignore[list-item]
    if isinstance(start, datetime):
        length = end.astimezone(UTC) - start.astimezone(UTC)  # type: ignore[attr-defined]
        starts = rrulestr(rule, dtstart=start, cache=False)
        out = []
        for s in starts.xafter(span[0] - timedelta(days=2), inc=True):
            if s.astimezone(UTC) >= span[1] + timedelta(days=2):
                break
            if s.astimezone(UTC) not in exdates:
                out.append((s, s.astimezone(UTC) + length))
        return out
    assert isinstance(start, date) and isinstance(end, date)
    days = end - start
    first = datetime.combine(start, datetime.min.time())
    out = []
    for s in rrulestr(rule, dtstart=first, cache=False):
        if s.date() >= span[1].date() + timedelta(days=2):
            break
        if s.date() not in exdates:
            out.append((s.date(), s.date() + days))  # type: ignore[arg-type]
    return out


def by_icalendar(data: bytes, span: Span) -> set[Occ]:
    """icalendar parses; dateutil expands its RRULE from the aware DTSTART it read."""
    out: set[Occ] = set()
    for ev in icalendar.Calendar.from_ical(data.decode()).walk("VEVENT"):
        start, end = ev.decoded("DTSTART"), ev.decoded("DTEND")
        rule = ev["RRULE"].to_ical().decode() if "RRULE" in ev else None
        exdates: set[object] = set()
        raw = ev.get("EXDATE", [])
        for prop in raw if isinstance(raw, list) else [raw]:
            exdates.update(as_utc(d.dt) for d in prop.dts)
        for s, e in _expand(start, end, rule, exdates, span):
            if _inside(as_utc(s), span):
                out.add((str(ev["UID"]), as_utc(s), as_utc(e)))
    return out


def by_ical(data: bytes, span: Span) -> set[Occ]:
    """Home Assistant's ``ical``: its own timeline (recurrence, EXDATE, VTIMEZONE)."""
    cal = IcsCalendarStream.calendar_from_ics(data.decode())
    out: set[Occ] = set()
    for ev in cal.timeline_tz(UTC).overlapping(span[0] - timedelta(days=2), span[1] + timedelta(days=2)):
        s, e = as_utc(ev.start), as_utc(ev.end)
        if _inside(s, span):
            out.add((str(ev.uid), s, e))
    return out


def by_vobject(data: bytes, span: Span) -> set[Occ]:
    """vobject: its rruleset (RRULE and EXDATE) from the VTIMEZONE it built.

    vobject keeps the first VTIMEZONE it read for a TZID for the whole process (a global map), so
    a later feed's block for other years would be ignored: forget them before each read.
    """
    vars(vobject.icalendar)["__tzidMap"].clear()
    out: set[Occ] = set()
    for ev in vobject.readOne(data.decode()).vevent_list:
        start, end = ev.dtstart.value, ev.dtend.value
        rules = ev.getrruleset(addRDate=True)
        if rules is None:
            pairs = [(start, end)]
        elif isinstance(start, datetime):
            length = end.astimezone(UTC) - start.astimezone(UTC)
            pairs = []
            for s in rules:
                if s.astimezone(UTC) >= span[1] + timedelta(days=2):
                    break
                pairs.append((s, s.astimezone(UTC) + length))
        else:
            days = end - start
            pairs = []
            for s in rules:
                if s.date() >= span[1].date() + timedelta(days=2):
                    break
                pairs.append((s.date(), s.date() + days))
        for s, e in pairs:
            if _inside(as_utc(s), span):
                out.add((str(ev.uid.value), as_utc(s), as_utc(e)))
    return out


ICALJS = Path(__file__).parent.parent / ".tools" / "node_modules" / "ical.js"


def _read_json(command: list[str], data: bytes, span: Span) -> set[Occ]:
    """Run a reader in its own process: the feed on stdin, the span as arguments, JSON rows out."""
    done = subprocess.run([*command, span[0].isoformat(), span[1].isoformat()], input=data,
                          capture_output=True, check=True, timeout=120)
    out: set[Occ] = set()
    for uid, start, end in json.loads(done.stdout):
        s, e = ((date.fromisoformat(start), date.fromisoformat(end)) if len(start) == 10 else
                (datetime.fromisoformat(start).astimezone(UTC), datetime.fromisoformat(end).astimezone(UTC)))
        if _inside(s, span):
            out.add((uid, s, e))
    return out


def by_icaljs(data: bytes, span: Span) -> set[Occ]:
    """Thunderbird's ical.js (node, tests/icaljs_read.mjs): its own expansion and VTIMEZONE reading."""
    return _read_json(["node", str(Path(__file__).parent / "icaljs_read.mjs")], data, span)


READERS: dict[str, Callable[[bytes, Span], set[Occ]]] = {
    "icalendar+dateutil": by_icalendar, "ical": by_ical, "vobject": by_vobject,
}
if ICALJS.is_dir() and shutil.which("node"):  # `make test` installs it where npm is (.ci/run installs npm)
    READERS["ical.js"] = by_icaljs


def _ical_nominal(w: Window, naive: datetime, start: datetime) -> Span:
    """ical adds DTEND - DTSTART (subtracted as Python does within one zone: wall-clock) to the
    rule's local time; RFC 5545 3.8.5.3 gives every instance the exact duration."""
    span = w.length if is_ambiguous(w.end) else w.local_span
    return start, resolve(naive + span, w.tz)


def _vobject_gap(w: Window, naive: datetime, start: datetime) -> Span:
    """vobject places a local time in a DST gap with the offset after the change (02:30 EST→EDT is
    06:30Z); RFC 5545 3.3.5 uses the offset before it (07:30Z, shown as 03:30)."""
    if start.replace(tzinfo=None) != naive:  # the rule's time does not exist: resolve moved it
        start = naive.replace(tzinfo=w.tz, fold=1)
    return start, add_absolute(start, w.length)


class _AfterGap(Repeat):
    """vobject's instances: placed as :func:`_vobject_gap` places them, so an instance in a gap does
    not meet the next one (RFC 5545 3.8.5.3 keeps one of two instances that start together) and
    UNTIL is compared with that placement."""

    def place(self, naive: datetime) -> datetime:
        assert self.tz is not None
        at = resolve(naive, self.tz)
        return (naive.replace(tzinfo=self.tz, fold=1) if at.replace(tzinfo=None) != naive else at).astimezone(UTC)


class _EveryInstance(Repeat):
    """Home Assistant's ``ical`` keeps both of two instances that a DST gap moves onto one instant
    (RFC 5545 3.8.5.3: duplicates count once)."""

    distinct = False


class _SecondOffset(Repeat):
    """ical.js places every local time with the offset after a change: in a DST gap,
    02:30 EST→EDT is 06:30Z (RFC 5545 3.3.5: 07:30Z); in a repeated hour, the second 01:30 (RFC
    5545 3.3.5: the first). Instances that a gap would merge stay apart for it."""

    def place(self, naive: datetime) -> datetime:
        return naive.replace(tzinfo=self.tz, fold=1).astimezone(UTC)


def _as_read(w: Window, reader: str) -> Repeat:
    """The window's repeat as ``reader`` generates it from the feed (which writes UNTIL, not COUNT,
    when a gap makes two instances one: :meth:`Repeat.collides`)."""
    rule = w.rule
    assert rule is not None
    kind = PLACEMENTS.get(reader)
    if kind is None:
        return rule
    until, times = rule.until, rule.times
    if rule.collides():
        until, times = rule.place(list(rule)[-1]), None
    return kind(rule.generated, rule.tz, until, times)


def _wall_after(w: Window, naive: datetime, start: datetime) -> Span:
    """ical.js starts an instance at its local time with the offset after a change (see
    :class:`_SecondOffset`) and ends it DTEND - DTSTART (elapsed) later in *wall-clock* time;
    RFC 5545 3.8.5.3 gives every instance the exact duration."""
    return (naive.replace(tzinfo=w.tz, fold=1), (naive + w.length).replace(tzinfo=w.tz, fold=1))


# Reader -> (name, reason): how it deviates from RFC 5545, modelled so the test still compares.
DEVIATIONS: dict[str, Callable[[Window, datetime, datetime], Span]] = {
    "ical": _ical_nominal,
    "vobject": _vobject_gap,
    "ical.js": _wall_after,
}
# Reader -> how it generates instances, where that differs from RFC 5545 (and so from :class:`Repeat`).
PLACEMENTS: dict[str, type[Repeat]] = {"vobject": _AfterGap, "ical": _EveryInstance, "ical.js": _SecondOffset}


def by_planner(config: Config, span: Span, reader: str | None = None) -> set[Occ]:
    """The model's occurrences starting in the span, with the feed's UID; with ``reader``, as that
    reader's known deviation (:data:`DEVIATIONS`) would place them."""
    out: set[Occ] = set()
    deviate = DEVIATIONS.get(reader or "")
    for w in config.windows:
        if deviate is not None and w.rule is not None and not w.all_day:
            reach = max(w.length, w.local_span) + timedelta(days=1)
            for naive, start in instances_between(_as_read(w, reader or ""), w.tz, span[0] - reach, span[1], None):
                s, e = deviate(w, naive, start)
                if naive not in w.excluded and _inside(s.astimezone(UTC), span):
                    out.add((f"{w.id}@{config.calendar.domain}", s.astimezone(UTC), e.astimezone(UTC)))
            continue
        for o in w.occurrences(span[0], span[1], limit=None):
            s, e = (o.start.date(), o.end.date()) if w.all_day else (o.start.astimezone(UTC), o.end.astimezone(UTC))
            if _inside(s, span):
                out.add((f"{w.id}@{config.calendar.domain}", s, e))
    return out


def by_preview(path: Path, span: Span) -> dict[str, set[tuple[str, datetime]]]:
    """``preview --json`` from the span's start to its end: at_stop and at_restore due times (UTC)."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = cli.main(["preview", "-c", str(path), "--now", span[0].isoformat(), "--until",
                         span[1].isoformat(), "--json"])
    assert code == 0
    out: dict[str, set[tuple[str, datetime]]] = {"at_stop": set(), "at_restore": set()}
    for item in json.loads(buffer.getvalue()):
        if item["kind"] in out:
            out[item["kind"]].add((item["window"], datetime.fromisoformat(item["due"]).astimezone(UTC)))
    return out


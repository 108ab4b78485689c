"""Occurrences of a feed as each independent reader expands them, and as the planner and preview do.

Every occurrence is ``(uid, start, end)``: UTC datetimes for timed events, dates for all-day ones.
Readers: icalendar (with dateutil's rrule on what it parsed), Home Assistant's ``ical`` (its own
timeline), vobject (its rruleset, with EXDATEs), Thunderbird's ical.js in node when `.tools/` has it, and
Evolution's libical through Debian's python3-gi when installed (:data:`MISSING` says why one is absent).
Known deviations from RFC 5545 are in :data:`DEVIATIONS` (times), :data:`PLACEMENTS` (which
instances) and :data:`KEEPS_EXCEPTED` (EXDATEs not matched), by reader, with the RFC section and the reason.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import io
import json
import shutil
import subprocess
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import vobject
from dateutil.rrule import DAILY, rrulestr
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


def _occurrences(rows: list[list[str]], span: Span) -> set[Occ]:
    """Read a reader's JSON rows ``[uid, start, end]`` (ISO times, or dates) into occurrences in the span."""
    out: set[Occ] = set()
    for uid, start, end in rows:
        s, e = ((date.fromisoformat(start), date.fromisoformat(end)) if len(start) == 10 else
                (datetime.fromisoformat(start).astimezone(UTC), datetime.fromisoformat(end).astimezone(UTC)))
        if _inside(s, span):
            out.add((uid, s, e))
    return out


def _read_json(command: list[str], data: bytes, span: Span) -> set[Occ]:
    """Run a reader in its own process: the feed on stdin, the span as arguments, JSON rows out."""
    done = subprocess.run([*command, span[0].isoformat(), span[1].isoformat()], input=data,
                          capture_output=True, check=True, timeout=120)
    return _occurrences(json.loads(done.stdout), span)


def by_icaljs(data: bytes, span: Span) -> set[Occ]:
    """Thunderbird's ical.js (node, tests/icaljs_read.mjs): its own expansion and VTIMEZONE reading."""
    return _read_json(["node", str(Path(__file__).parent / "icaljs_read.mjs")], data, span)


# Evolution's libical, through GObject introspection: Debian's python3-gi and gir1.2-ical-3.0 (.ci/run
# installs them) work with Debian's own Python, not the virtualenv's.
SYSTEM_PYTHON = "/usr/bin/python3"
LIBICAL_READ = Path(__file__).parent / "libical_read.py"


@functools.cache
def _libical() -> subprocess.Popen[str]:
    """Start one libical reader for the whole test process (a few hundred feeds: one start, not one each)."""
    proc = subprocess.Popen([SYSTEM_PYTHON, str(LIBICAL_READ)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, encoding="utf-8")
    atexit.register(_stop, proc)
    return proc


def _stop(proc: subprocess.Popen[str]) -> None:
    """Close the reader's stdin (it ends when stdin does) and wait for it."""
    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait(timeout=10)


def by_libical(data: bytes, span: Span) -> set[Occ]:
    """Evolution's libical (tests/libical_read.py): ``icalcomponent_foreach_recurrence`` with the feed's
    VTIMEZONEs, RRULE and EXDATE."""
    proc = _libical()
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps({"feed": data.decode(), "lo": span[0].isoformat(), "hi": span[1].isoformat()}) + "\n")
    proc.stdin.flush()
    line = proc.stdout.readline()
    assert line, f"the libical reader ended (exit status {proc.poll()})"
    return _occurrences(json.loads(line), span)


def _libical_missing() -> str | None:
    """Given this machine, return why libical cannot read here, or None when it can."""
    if not Path(SYSTEM_PYTHON).is_file():
        return f"libical is read through {SYSTEM_PYTHON} (Debian's python3-gi), which is missing"
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import gi; gi.require_version('ICalGLib', '3.0')"],
                           capture_output=True, check=False, timeout=60)
    if probe.returncode != 0:
        return "libical's introspection data is missing: apt-get install gir1.2-ical-3.0 python3-gi"
    return None


READERS: dict[str, Callable[[bytes, Span], set[Occ]]] = {
    "icalendar+dateutil": by_icalendar, "ical": by_ical, "vobject": by_vobject,
}
# Reader -> why it cannot run on this machine (tests that need it skip with the reason).
MISSING: dict[str, str] = {}
if ICALJS.is_dir() and shutil.which("node"):  # `make test` installs it where npm is (.ci/run installs npm)
    READERS["ical.js"] = by_icaljs
else:
    MISSING["ical.js"] = "ical.js needs node and `make test` (it installs ical.js in .tools/ with npm)"
if (_why := _libical_missing()) is None:
    READERS["libical"] = by_libical
else:
    MISSING["libical"] = _why


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
    not meet the next one, but may meet the one *before* it (02:45 in Casablanca's gap is placed on
    01:45's instant); UNTIL is compared with that placement. Two that meet stay two, each matched
    by its own EXDATE (dateutil compares times of one zone by their wall clock), so an EXDATE that
    names one keeps the other (RFC 5545 3.8.5.3: they are one instance, and excepted together)."""

    distinct = False

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
    5545 3.3.5: the first). Instances that a gap would merge stay apart for it; two that its own
    placement puts on one instant (a gap's 23:45 on the 22:45 before it) are both counted by COUNT
    (RFC 5545 3.8.5.3: one instance, counted once)."""

    distinct = False

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


def _in_gap(naive: datetime, tz: ZoneInfo) -> bool:
    """Whether a local time does not exist in a zone (a DST gap)."""
    return resolve(naive, tz).replace(tzinfo=None) != naive


# libical's placement around this gap is not understood: the 02:30 in the gap takes the offset
# after it (every other gap: the offset before, as RFC 5545 3.3.5 says), and the *two* weekly
# instances after it keep the moved wall time (elsewhere: one). Seen with the feed's VTIMEZONE for
# Africa/Casablanca 2031 (the Ramadan change back on 26 January); modelled for that gap alone.
_LIBICAL_UNEXPLAINED = {("Africa/Casablanca", date(2031, 1, 26))}


def _after_gap_instance(rule: Repeat, naive: datetime) -> datetime | None:
    """The rule's earlier instance at the same time of day whose wall time libical carries into
    ``naive``: in a DST gap, at most a month back, with no other instance at that time between
    (one, for :data:`_LIBICAL_UNEXPLAINED`); daily and coarser repeats only (an hourly one steps
    from the moved time and comes back in place)."""
    assert rule.tz is not None
    if rule.generated._freq > DAILY:  # dateutil keeps FREQ there: HOURLY and finer are larger
        return None
    for days in range(1, 32):
        earlier = naive - timedelta(days=days)
        if _in_gap(earlier, rule.tz):
            between = [n for n in rule.generated.between(earlier, naive, inc=False) if n.time() == naive.time()]
            allowed = 1 if (str(rule.tz), earlier.date()) in _LIBICAL_UNEXPLAINED else 0
            return earlier if len(between) <= allowed and rule.generated.between(earlier, earlier, inc=True) else None
    return None


def _libical_start(rule: Repeat, naive: datetime) -> datetime:
    """libical places a local time in a repeated hour as the *second* one (RFC 5545 3.3.5: the
    first); and the instance after a gap-shifted one at the same time of day keeps the wall time
    the gap moved its predecessor to (its recurrence iterator carries the normalised 03:30 into the
    next step; RFC 5545 3.3.10: each instance is the rule's own local time)."""
    assert rule.tz is not None
    before = _after_gap_instance(rule, naive)
    if before is not None:  # the offset before that gap: 02:30 -05:00 is the moved 03:30 -04:00
        offset = before.replace(tzinfo=rule.tz, fold=0).utcoffset()
        assert offset is not None
        return (naive - offset).replace(tzinfo=UTC)
    start = resolve(naive, rule.tz)
    if is_ambiguous(start) or ((str(rule.tz), naive.date()) in _LIBICAL_UNEXPLAINED and _in_gap(naive, rule.tz)):
        return naive.replace(tzinfo=rule.tz, fold=1).astimezone(UTC)  # the second; in that gap, the offset after
    return start.astimezone(UTC)


class _LibicalRepeat(Repeat):
    """libical's instances, placed as :func:`_libical_start` places them (UNTIL is compared with
    that placement)."""

    def place(self, naive: datetime) -> datetime:
        return _libical_start(self, naive)


def _libical_place(w: Window, naive: datetime, start: datetime) -> Span:
    """libical's start for an instance (:func:`_libical_start`), lasting the window's length."""
    assert w.rule is not None
    start = _libical_start(w.rule, naive)
    return start, add_absolute(start, w.length)


def _libical_keeps(w: Window, naive: datetime) -> bool:
    """libical does not match an EXDATE to an instance in a DST gap (its EXDATE names the rule's
    02:30; libical compares it with the normalised 03:30). RFC 5545 3.8.5.1: the EXDATE names the
    instance, so it is removed."""
    return _in_gap(naive, w.tz)


# Reader -> (name, reason): how it deviates from RFC 5545, modelled so the test still compares.
DEVIATIONS: dict[str, Callable[[Window, datetime, datetime], Span]] = {
    "ical": _ical_nominal,
    "vobject": _vobject_gap,
    "ical.js": _wall_after,
    "libical": _libical_place,
}
# Reader -> how it generates instances, where that differs from RFC 5545 (and so from :class:`Repeat`).
PLACEMENTS: dict[str, type[Repeat]] = {"vobject": _AfterGap, "ical": _EveryInstance, "ical.js": _SecondOffset,
                                        "libical": _LibicalRepeat}
# Readers that compare times by their instant: of two instances their placement puts on one instant
# they show the first generated (ical.js: its wall-clock ends differ), and an EXDATE placed there
# removes both; COUNT still counts both (see :class:`_SecondOffset`). RFC 5545 3.8.5.3: one instance.
BY_INSTANT = {"ical.js"}
# Reader -> whether it keeps an excepted instance (an EXDATE it does not match), against RFC 5545 3.8.5.1.
KEEPS_EXCEPTED: dict[str, Callable[[Window, datetime], bool]] = {"libical": _libical_keeps}


def by_planner(config: Config, span: Span, reader: str | None = None) -> set[Occ]:
    """The model's occurrences starting in the span, with the feed's UID; with ``reader``, as that
    reader's known deviation (:data:`DEVIATIONS`) would place them."""
    out: set[Occ] = set()
    deviate = DEVIATIONS.get(reader or "")
    for w in config.windows:
        if deviate is not None and w.rule is not None and not w.all_day:
            reach = max(w.length, w.local_span) + timedelta(days=1)
            by_instant, starts = reader in BY_INSTANT, set()
            gone = {deviate(w, x, resolve(x, w.tz))[0].astimezone(UTC) for x in w.excluded} if by_instant else set()
            for naive, start in instances_between(_as_read(w, reader or ""), w.tz, span[0] - reach, span[1], None):
                s, e = deviate(w, naive, start)
                at = s.astimezone(UTC)
                if by_instant and (at in gone or at in starts):
                    continue
                if not by_instant and naive in w.excluded and not KEEPS_EXCEPTED.get(reader or "", lambda *_: False)(
                        w, naive):
                    continue
                starts.add(at)
                if _inside(at, span):
                    out.add((f"{w.id}@{config.calendar.domain}", at, e.astimezone(UTC)))
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


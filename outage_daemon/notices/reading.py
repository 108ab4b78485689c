"""Read a notice's text and return the windows it states, with warnings. Pure: the zone, the year and
the dates relative days refer to are parameters; nothing here reads a clock or a file."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta, tzinfo

from . import cues, ranges, systems
from .contradictions import contradictions
from .merging import merge
from .model import FoundWindow, Moment, Reading, State
from .points import DAY_KINDS, Context, Point, group, resolve
from .recurring import weekly
from .segment import MAX_SENTENCE, Sentence, split
from .stamps import is_stamp, publication_date
from .statements import add_lone, add_nightly, add_range, unhedged, weekday_warning
from .text import Prepared, prepare
from .tokens import Token, tokens

__all__ = ["FoundWindow", "Reading", "read"]
MAX_TEXT = 200_000  # characters read of one notice (about a hundred pages): bounds the time a notice takes


def _is_outage(s: Sentence, following: Sentence | None) -> bool:
    """Whether the sentence speaks of an outage: itself, its headings or table header, or the next sentence
    ("…。此段时间内暂停受理")."""
    if cues.OUTAGE.search(s.text) or cues.OUTAGE.search(s.context) or cues.OUTAGE.search(s.whole):
        return True
    return following is not None and bool(cues.FOLLOWS.match(following.text)) \
        and bool(cues.OUTAGE.search(following.text))


def _points(s: Sentence, toks: list[Token], ctx: Context) -> tuple[list[Point], list[tuple[int, int]], set[int]]:
    """Group and resolve the sentence's points; return them, the (start, end) index pairs of its ranges
    and the indexes of days written after a range of times."""
    pts = group(s.text, toks, s.row)
    structure = ranges.pairs(s.text, toks, pts, s.row)
    ends = {j: i for i, j in structure}
    fallback, relative = ctx.bare_day, None
    for k, point in enumerate(pts):
        resolve(point, ctx, pts[ends[k]] if k in ends else None, fallback, k in ends)
        if point.day is not None and point.has_day():
            fallback, relative = point.day, point.relative
        elif point.relative is None and point.day is not None and point.day == fallback:
            point.relative = relative  # "Tomorrow between 06:00 and 06:15": read as tomorrow's
    trailing: set[int] = set()
    for i, j in structure:
        if not pts[i].has_day() and pts[j].day is not None and _day_written_last(pts[j]):
            resolve(pts[i], ctx, None, pts[j].day, False)  # "9 p.m. to 11:30 p.m. CST on September 21"
            pts[j].dated = False  # the day is the range's: "22:00–02:00 UTC on March 2" ends the next day
        after = pts[j + 1] if j + 1 < len(pts) else None
        if not pts[i].has_day() and after is not None and after.has_day() and after.kind("time") is None \
                and ranges.trailing(s.text, pts[j], after):
            resolve(pts[i], ctx, None, after.day, False)
            resolve(pts[j], ctx, pts[i], after.day, True)
            trailing.add(j + 1)
    lone_day = len(pts) == 1 and pts[0].has_day() and pts[0].clock is None
    ctx.bare_day = pts[0].day if lone_day and pts else None
    return pts, structure, trailing


def _day_written_last(point: Point) -> bool:
    """Whether the point writes its day after its time ("03:00 UTC, Sunday, April 14")."""
    kinds = [t.kind for t in point.tokens]
    named = DAY_KINDS - {"nextday", "sameday"}  # "5am the following morning" names no day of its own
    return "time" in kinds and any(k in named for k in kinds[kinds.index("time"):])


def _moved(text: str, pts: list[Point], pair: tuple[int, int]) -> bool:
    """Whether a range of days is a reschedule's old and new day ("moved from August 17 to August 24")."""
    a, b = pts[pair[0]], pts[pair[1]]
    return a.clock is None and b.clock is None and bool(re.search(
        r"(?:moved|rescheduled|postponed|changed|推迟|改期|调整|顺延|延期)\s*(?:from|从|由)\s*$",
        text[max(0, a.start - 24):a.start], re.IGNORECASE))


def _sentence(state: State, s: Sentence, following: Sentence | None, ctx: Context) -> None:
    """Read one sentence into the state: its ranges, its lone stops and restores, and a length it states
    ("2024-03-02 22:00 UTC, expected duration 2 hours") after them."""
    toks = tokens(s.text)
    pts, structure, trailing = _points(s, toks, ctx)
    outage = _is_outage(s, following) or (state.last_outage and (s.row or bool(cues.LABEL.match(s.text))))
    state.last_outage = outage
    stated = len(state.stated)
    if pts and outage and not is_stamp(s, pts):
        _windows(state, s, toks, pts, structure, trailing, ctx)
    part = cues.PART_OF_MONTH.search(s.text) if outage and len(state.stated) == stated else None
    if part and not cues.NOT_A_WINDOW.search(s.text):
        state.warnings.append(f"{part.group(0)!r} is part of a month, not a day: no window; "
                              f"write it by hand once the day is known: {s.source!r}")
    length = cues.DURATION.search(s.text)
    if length and len(pts) < 2 and not cues.HEDGED.search(s.text):
        state.moments.append(Moment("length", s, length=timedelta(minutes=cues.duration_minutes(length))))


def _windows(state: State, s: Sentence, toks: list[Token], pts: list[Point], structure: list[tuple[int, int]],
             trailing: set[int], ctx: Context) -> None:
    """Read the windows of a sentence about an outage."""
    for point in pts:
        warning = weekday_warning(point, s.text)
        if warning:
            state.warnings.append(warning)
    change = unhedged(cues.CHANGE, s.text)
    used = set(trailing)
    for pair in [p for p in structure if _moved(s.text, pts, p)]:
        structure.remove(pair)
        used.update(pair)
        old = pts[pair[0]].day
        if old is not None:
            state.old_days.add(old)
        ctx.bare_day = pts[pair[1]].day
    k = 0
    while k < len(structure):
        pair = structure[k]
        if k + 1 < len(structure) and ranges.nightly(s.text, pts, pair, structure[k + 1]):
            add_nightly(state, s, toks, pts, pair, structure[k + 1])
            used.update((*pair, *structure[k + 1]))
            k += 2
            continue
        if k + 1 < len(structure) and ranges.days_then_times(pts, pair, structure[k + 1]) and change is None \
                and not cues.NOT_A_WINDOW.search(s.text):
            # "On 14-16 May, … 01:00-04:30": each day, or from the first to the last? Neither is invented.
            state.warnings.append(f"a range of days and a range of times, not said to be each day: no window; "
                                  f"write it by hand: {s.source!r}")
            used.update((*pair, *structure[k + 1]))
            k += 2
            continue
        add_range(state, s, toks, pts, pair, change)
        used.update(pair)
        if weekly(s.text, pts, pair[0]):  # "自2024年7月起": the day the rule begins is no stop of its own
            used.update(i for i in range(pair[0]) if pts[i].clock is None)
        if not pts[pair[0]].dated and pair[0] > 0 and pts[pair[0] - 1].day == pts[pair[0]].day:
            used.add(pair[0] - 1)  # "March 2, 2024 from 9 pm to 11 pm": the date belongs to this range
        used.update(ranges.listed_days(s.text, pts, pair[0]))
        k += 1
    add_lone(state, s, toks, pts, used, change)


def _as_written(prepared: Prepared, name: str | None) -> str | None:
    """Return a name found in the normalised text as the notice writes it (traditional characters kept)."""
    at = prepared.text.find(name) if name else -1
    return prepared.original(at, at + len(name)) if name and at >= 0 else name


def read(text: str, tz: tzinfo, default_year: int, system: str | None = None, *, published: date | None = None,
         today: date | None = None, dated: date | None = None) -> Reading:
    """Given a notice's text, the zone of its unzoned times and the year to assume where it names none,
    return the windows it states (each once) and warnings. Relative days (明晚, next Monday) are read
    against the notice's own date (a stamp in the text, else ``dated``, e.g. an email's Date header),
    else ``published``, else ``today``."""
    long = len(text) > MAX_TEXT
    prepared = prepare(text[:MAX_TEXT])
    title, sentences = split(prepared)
    system = system or systems.of_title(title)
    own = publication_date(sentences, default_year, email=dated is not None) or dated
    reference, label = ((own, "the notice's own date") if own else (published, "the publication date given")
                        if published else (today, "today's date"))
    ctx = Context(reference.year if reference else default_year, reference)
    titled = len(sentences) > 1 and title.startswith(sentences[0].text) and not re.search(r"[。！？!?]$", title)
    state = State(tz, system, title=0 if titled else -1)
    for index, sentence in enumerate(sentences):
        _sentence(state, sentence, sentences[index + 1] if index + 1 < len(sentences) else None, ctx)
    if long:
        state.warnings.append(f"the notice is longer than {MAX_TEXT:,} characters: only the first {MAX_TEXT:,} "
                              "are read")
    if any(s.cut for s in sentences):
        state.warnings.append(f"a sentence longer than {MAX_SENTENCE} characters was read in parts: check the "
                              "windows it states")
    merged = merge(state)
    for m in merged:
        m.window = replace(m.window, system=_as_written(prepared, m.window.system))
    reading = Reading(_as_written(prepared, system), [m.window for m in merged],
                      contradictions(merged, state) + state.warnings, state.drafts)
    relative = sorted({r for m in merged for s in m.stated for r in s.relative})
    if relative and reference is not None:
        reading.warnings.append(f"relative days read against {label}, {reference:%Y-%m-%d}: {', '.join(relative)}")
    return reading

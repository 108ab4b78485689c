"""Read a notice's text and return the windows it states, with warnings. Pure: the zone, the year and
the dates relative days refer to are parameters; nothing here reads a clock or a file."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, tzinfo

from . import cues, ranges, systems
from .points import DAY_KINDS, Context, Point, group, resolve
from .segment import Sentence, split
from .text import Prepared, prepare
from .tokens import Token, tokens
from .zones import zone_of

_STAMP = re.compile(r"发布时间|发布日期|发布于|发文日期|印发日期|更新时间|日期\s*[:：]|\b(?:posted|published|updated|"
                    r"date|sent|issued)\b\s*(?:on)?\s*[:：]?", re.IGNORECASE)
_LABEL_GAP = re.compile(r"^[\s:：]*(?:at|on|于|在|为|is)?[\s:：]*$", re.IGNORECASE)
_STOP_AFTER = re.compile(r"停机|暂停|中断|停止|maintenance|downtime|outage|offline|unavailable", re.IGNORECASE)
_FUTURE = re.compile(r"将|计划|定于|拟于|will|scheduled|plan", re.IGNORECASE)
_EN_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Window:
    """A window the notice states: ``end`` is exclusive; ``all_day`` windows start and end at midnight;
    ``sources`` are the sentences that state it, as written; ``system`` the system it is for."""

    start: datetime
    end: datetime
    all_day: bool
    sources: tuple[str, ...]
    system: str | None = None


@dataclass
class Reading:
    """What a notice states: its system, its windows in the order stated, and warnings for a reader."""

    system: str | None
    windows: list[Window] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


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


@dataclass(frozen=True)
class Moment:
    """A stop or restore stated alone ("预计于…恢复", "End: …"), or a length ("Expected duration: 60 minutes")."""

    kind: str  # start | end | length
    sentence: Sentence
    at: datetime | None = None
    length: timedelta | None = None
    timed: bool = True  # the notice gives a time of day, not only a day


@dataclass
class _State:
    tz: tzinfo
    system: str | None
    stated: list[Stated] = field(default_factory=list)
    moments: list[Moment] = field(default_factory=list)
    title: int = -1  # index of the sentence that is the notice's title
    old_days: set[date] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)
    last_outage: bool = False  # the sentence before spoke of an outage ("Start:" and "End:" lines follow it)


def _weekday_warning(point: Point, sentence: str) -> str | None:
    """Return a warning when the point's weekday is not its date's (in English for English names)."""
    if point.weekday is None or point.day is None or not point.dated or point.weekday == point.day.weekday():
        return None
    names = "一二三四五六日"
    actual, said = point.day.weekday(), point.weekday
    chinese = f"{point.day:%Y-%m-%d} is a 周{names[actual]}, the notice says 周{names[said]}"
    english = any(t.groups.get("ewd") or t.groups.get("dname") for t in point.tokens)
    if english:
        return (f"weekday does not match the date: {point.day:%Y-%m-%d} is a {_EN_NAMES[actual]}, the notice says "
                f"{_EN_NAMES[said]} ({chinese}): {sentence!r}")
    return f"weekday does not match the date: {chinese}: {sentence!r}"


def _deadline(sentence: str, point: Point) -> bool:
    """A point that is a deadline ("请于…前", "before March 1") is not the edge of a window."""
    return bool(cues.DEADLINE_AFTER.match(sentence[point.end:]) or cues.DEADLINE_BEFORE.search(sentence[:point.start]))


def _unhedged(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    """Return the first match of pattern whose clause is not conditional ("如有取消", "if cancelled")."""
    for match in pattern.finditer(text):
        if not re.search(r"如|若|if\b|whether|unless", cues.clause(text, match.start(), match.end()), re.IGNORECASE):
            return match
    return None


def _zone(s: Sentence, toks: list[Token], a: Point, b: Point, tz: tzinfo) -> tuple[tzinfo, tzinfo]:
    """Return the zones of a range's start and end: written with the point, at the end of the range,
    next to or earlier in the sentence, in the headings above, else the default."""
    own_a, own_b = _own_zone(a), _own_zone(b)
    at_end = own_b or ranges.zone_near(s.text, toks, b, after_only=True)
    start = own_a or at_end or ranges.zone_near(s.text, toks, a) or ranges.zone_before(s.text, toks, a.start)
    if start is None:
        start = ranges.zone_before(s.context, tokens(s.context), len(s.context))
    start = start or tz
    return start, at_end or start


def _own_zone(point: Point) -> tzinfo | None:
    """Return the zone written as part of the point, if any."""
    token = point.kind("zone")
    return zone_of(token) if token is not None else None


def _role(s: Sentence, a: Point, b: Point, change: re.Match[str] | None) -> str:
    """Return what a range of the sentence is: window, new, old, cancelled or past."""
    clause = cues.clause(s.text, a.start, b.end)
    if change is not None and a.start >= change.start():
        return "old" if cues.OLD.search(s.text[change.end():a.start]) else "new"
    if cues.OLD.search(s.text[max(0, a.start - 24):a.start]) or (change is None and cues.OLD.search(clause)):
        return "old"
    if change is not None:
        return "old"
    if _unhedged(cues.CANCEL, s.text):
        return "cancelled"
    if cues.PAST.search(clause) or cues.PAST.search(cues.following(s.text, b.end)):
        return "past"
    if not _FUTURE.search(s.text) and cues.PAST.search(s.text[:a.start]):
        return "past"
    return "window"


def _is_outage(s: Sentence, following: Sentence | None) -> bool:
    """Whether the sentence speaks of an outage: itself, its headings or table header, or the next sentence
    ("…。此段时间内暂停受理")."""
    if cues.OUTAGE.search(s.text) or cues.OUTAGE.search(s.context) or cues.OUTAGE.search(s.whole):
        return True
    return following is not None and bool(cues.FOLLOWS.match(following.text)) \
        and bool(cues.OUTAGE.search(following.text))


def _is_stamp(s: Sentence, pts: list[Point]) -> bool:
    """Whether the sentence is a publication stamp: labelled, a date alone, or a date with seconds."""
    if len(pts) != 1 or pts[0].day is None or not pts[0].dated:
        return False
    if _STAMP.search(s.text[:pts[0].start]):
        return True
    rest = (s.text[:pts[0].start] + s.text[pts[0].end:]).strip(" ()（）")
    return not rest or (bool(re.search(r"\d:\d\d:\d\d", s.text)) and not cues.OUTAGE.search(s.text))


def _points(s: Sentence, toks: list[Token], ctx: Context) -> tuple[list[Point], list[tuple[int, int]], set[int]]:
    """Group and resolve the sentence's points; return them, the (start, end) index pairs of its ranges
    and the indexes of days written after a range of times."""
    pts = group(s.text, toks, s.row)
    structure = ranges.pairs(s.text, toks, pts, s.row)
    ends = {j: i for i, j in structure}
    fallback = ctx.bare_day
    for k, point in enumerate(pts):
        resolve(point, ctx, pts[ends[k]] if k in ends else None, fallback, k in ends)
        if point.day is not None and point.has_day():
            fallback = point.day
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
    return "time" in kinds and any(k in DAY_KINDS for k in kinds[kinds.index("time"):])


def _add(state: _State, s: Sentence, a: Point, b: Point, start: datetime, end: datetime, role: str) -> None:
    """Record one statement of a window; old and cancelled ones are recorded to be taken out later."""
    if end <= start:
        state.warnings.append(f"a range whose end is not after its start, left out: {s.text!r}")
        return
    system = s.row_system or systems.mentioned(s.text, a.start) or systems.mentioned(s.context, len(s.context)) \
        or state.system
    if system and state.system and re.sub(r"系统|平台|\s*(?:system|platform|service)$", "", state.system,
                                          flags=re.IGNORECASE) in (system, system + "系统"):
        system = state.system  # "网上银行" in a notice about the 网上银行系统
    relative = tuple(p.relative for p in (a, b) if p.relative)
    state.stated.append(Stated(start, end, a.clock is None and b.clock is None, s, role, system, relative))


def _range(state: _State, s: Sentence, toks: list[Token], pts: list[Point], pair: tuple[int, int],
           change: re.Match[str] | None) -> None:
    """Read one range of a sentence (and the days listed before it) into the state."""
    a, b = pts[pair[0]], pts[pair[1]]
    if a.day is None or b.day is None or _deadline(s.text, b) or _deadline(s.text, a):
        return
    if cues.NOT_A_WINDOW.search(cues.scope(s.text, a.start, b.end)):
        return
    if not cues.own_cue(s.text) and cues.OUTAGE.search(s.text) and not cues.OUTAGE.search(s.context):
        return  # "寒假期间（1月20日至2月25日），校园网每周二晚例行维护": the outage words are about something else
    role = _role(s, a, b, change)
    if role == "past":
        return
    za, zb = _zone(s, toks, a, b, state.tz)
    shift = 0
    if not b.dated and b.clock is not None and a.clock is not None and b.clock <= a.clock and b.day == a.day:
        shift = 1
        if not ranges.next_day_is_clear(a, b):
            shown = b.kind("time") or b
            written = s.text[shown.start:shown.end]
            state.warnings.append(f"read {written!r} as the next day (it is not after the start); "
                                  f"check: {s.text!r}")
    span = (b.day - a.day).days + shift
    for index in [*ranges.listed_days(s.text, pts, pair[0]), pair[0]]:
        day = pts[index].day
        if day is None:
            continue
        start = ranges.instant(day, a.clock, za, False)
        end = ranges.instant(day.fromordinal(day.toordinal() + span), b.clock, zb, True)
        _add(state, s, a, b, start, end, role)


def _nightly(state: _State, s: Sentence, toks: list[Token], pts: list[Point], days: tuple[int, int],
             times: tuple[int, int]) -> None:
    """Read "3月2日至4日每晚22:00至次日06:00": one window a night."""
    a, b, c, d = (pts[i] for i in (*days, *times))
    if a.day is None or b.day is None or c.clock is None or d.clock is None:
        return
    role = _role(s, a, d, None)
    if role == "past":
        return
    za, zb = _zone(s, toks, c, d, state.tz)
    shift = 1 if d.kind("nextday") or d.clock <= c.clock else 0
    for n in range((b.day - a.day).days + 1):
        day = a.day.fromordinal(a.day.toordinal() + n)
        end_day = day.fromordinal(day.toordinal() + shift)
        _add(state, s, c, d, ranges.instant(day, c.clock, za, False), ranges.instant(end_day, d.clock, zb, True),
             role)


def _labelled(toks: list[Token], kind: str, point: Point, text: str) -> bool:
    """Whether a cue of this kind labels the point: "End: …", "恢复时间：…", "…完成", "starting …"."""
    for t in toks:
        if t.kind != kind:
            continue
        if t.end <= point.start and _LABEL_GAP.match(text[t.end:point.start]):
            return True
        if kind == "finish" and point.end <= t.start <= point.end + 8:
            return True
        if kind == "begin" and (point.start - 8 <= t.end <= point.start or point.end <= t.start <= point.end + 4):
            return True
    return False


def _lone(state: _State, s: Sentence, toks: list[Token], pts: list[Point], used: set[int],
          change: re.Match[str] | None) -> None:
    """Read the points that are not part of a range: a stop or a restore time stated alone, or the day
    of an old or cancelled window."""
    hedged = bool(cues.HEDGED.search(s.text))
    for i, point in enumerate(pts):
        if i in used or point.day is None or _deadline(s.text, point) or s.index == state.title:
            continue
        before_change = change is not None and point.start < change.start()
        old = cues.OLD.search(s.text[max(0, point.start - 24):point.start])
        if before_change or old or _unhedged(cues.CANCEL, s.text):
            state.old_days.add(point.day)
            continue
        if hedged or change is not None or cues.NOT_A_WINDOW.search(cues.scope(s.text, point.start, point.end)):
            continue
        if point.clock is None and cues.ALL_DAY.match(s.text[point.end:]):
            _add(state, s, point, point, ranges.instant(point.day, None, state.tz, False),
                 ranges.instant(point.day, None, state.tz, True), "window")
            continue
        zone = _own_zone(point) or ranges.zone_near(s.text, toks, point) \
            or ranges.zone_before(s.text, toks, point.start) or state.tz
        if _labelled(toks, "finish", point, s.text):
            after = s.text[point.end:point.end + 8]
            restored = point.clock is None and bool(re.search(r"恢复|resum|restor|back", after, re.IGNORECASE))
            at = ranges.instant(point.day, point.clock, zone, not restored)  # "2月18日起恢复": from that day on
            state.moments.append(Moment("end", s, at, timed=point.clock is not None))
        elif _labelled(toks, "begin", point, s.text) or _STOP_AFTER.search(s.text[point.end:point.end + 16]) \
                or (point.clock is not None and cues.DURATION.search(s.text[point.end:])):
            state.moments.append(Moment("start", s, ranges.instant(point.day, point.clock, zone, False)))


def _moved(text: str, pts: list[Point], pair: tuple[int, int]) -> bool:
    """Whether a range of days is a reschedule's old and new day ("moved from August 17 to August 24")."""
    a, b = pts[pair[0]], pts[pair[1]]
    return a.clock is None and b.clock is None and bool(re.search(
        r"(?:moved|rescheduled|postponed|changed|推迟|改期|调整|顺延|延期)\s*(?:from|从|由)\s*$",
        text[max(0, a.start - 24):a.start], re.IGNORECASE))


def _sentence(state: _State, s: Sentence, following: Sentence | None, ctx: Context) -> None:
    """Read one sentence into the state: its ranges, its lone stops and restores, and a length it states
    ("2024-03-02 22:00 UTC, expected duration 2 hours") after them."""
    toks = tokens(s.text)
    pts, structure, trailing = _points(s, toks, ctx)
    outage = _is_outage(s, following) or (state.last_outage and (s.row or bool(cues.LABEL.match(s.text))))
    state.last_outage = outage
    if pts and outage and not _is_stamp(s, pts):
        _windows(state, s, toks, pts, structure, trailing, ctx)
    length = cues.DURATION.search(s.text)
    if length and len(pts) < 2 and not cues.HEDGED.search(s.text):
        state.moments.append(Moment("length", s, length=timedelta(minutes=cues.duration_minutes(length))))


def _windows(state: _State, s: Sentence, toks: list[Token], pts: list[Point], structure: list[tuple[int, int]],
             trailing: set[int], ctx: Context) -> None:
    """Read the windows of a sentence about an outage."""
    for point in pts:
        warning = _weekday_warning(point, s.text)
        if warning:
            state.warnings.append(warning)
    change = _unhedged(cues.CHANGE, s.text)
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
            _nightly(state, s, toks, pts, pair, structure[k + 1])
            used.update((*pair, *structure[k + 1]))
            k += 2
            continue
        _range(state, s, toks, pts, pair, change)
        used.update(pair)
        if not pts[pair[0]].dated and pair[0] > 0 and pts[pair[0] - 1].day == pts[pair[0]].day:
            used.add(pair[0] - 1)  # "March 2, 2024 from 9 pm to 11 pm": the date belongs to this range
        used.update(ranges.listed_days(s.text, pts, pair[0]))
        k += 1
    _lone(state, s, toks, pts, used, change)


@dataclass
class _Merged:
    window: Window
    stated: list[Stated]


def _merge(state: _State) -> list[_Merged]:
    """One window per distinct (start, end), old and cancelled ones taken out; a lone stop or restore
    sentence that matches a window's start or end joins it; a lone stop then a lone restore pair up."""
    gone = {(s.start, s.end) for s in state.stated if s.role in ("old", "cancelled")}
    out: list[_Merged] = []
    for stated in state.stated:
        if stated.role in ("old", "cancelled") or (stated.start, stated.end) in gone:
            continue
        if stated.role == "window" and stated.start.astimezone(state.tz).date() in state.old_days:
            continue
        same = next((m for m in out if (m.window.start, m.window.end) == (stated.start, stated.end)), None)
        if same is None:
            out.append(_Merged(Window(stated.start, stated.end, stated.all_day, (stated.sentence.source,),
                                      stated.system), [stated]))
        else:
            _join(same, stated)
    _pair_moments(state, out)
    return out


def _join(merged: _Merged, stated: Stated) -> None:
    """Add another statement of the same window."""
    kept = merged.window
    sources = kept.sources if stated.sentence.source in kept.sources else (*kept.sources, stated.sentence.source)
    merged.window = Window(kept.start, kept.end, kept.all_day and stated.all_day, sources, kept.system)
    merged.stated.append(stated)


def _pair_moments(state: _State, out: list[_Merged]) -> None:
    """Join lone stop and restore moments to the windows they match, or pair them into windows (a stop
    and a later restore, or a stop and a length stated after it)."""
    pending: Moment | None = None
    for moment in state.moments:
        if moment.kind == "length":
            if pending is not None and pending.at is not None and moment.length is not None:
                _pair(state, out, pending, pending.at + moment.length, moment.sentence)
                pending = None
            continue
        match = next((m for m in out if (m.window.start if moment.kind == "start" else m.window.end) == moment.at),
                     None)
        if match is not None:
            kept = match.window
            if moment.sentence.source not in kept.sources:
                match.window = replace(kept, sources=(*kept.sources, moment.sentence.source))
        elif moment.kind == "start":
            pending = moment
        elif pending is not None and pending.at is not None and moment.at is not None and pending.at < moment.at:
            _pair(state, out, pending, moment.at, moment.sentence)
            pending = None
        elif moment.timed:  # a day alone ("10月14日起恢复正常交易") after the windows is no news
            state.warnings.append(f"a restore time with no stop to pair it with: {moment.sentence.text!r}")
    if pending is not None:
        state.warnings.append(f"a stop time with no restore time: {pending.sentence.text!r}")


def _pair(state: _State, out: list[_Merged], start: Moment, end: datetime, sentence: Sentence) -> None:
    """Add the window a lone stop and its restore (or length) state."""
    assert start.at is not None  # noqa: S101 - only stops with a time are pending
    sources = tuple(dict.fromkeys((start.sentence.source, sentence.source)))
    stated = [Stated(start.at, end, False, start.sentence, "window", state.system),
              Stated(start.at, end, False, sentence, "window", state.system)]
    out.append(_Merged(Window(start.at, end, False, sources, state.system), stated))


def _distinct(a: _Merged, b: _Merged, unresolved: bool) -> bool:
    """Whether two windows of one system are evidently different events (not a contradiction)."""
    wa, wb = a.window, b.window
    if wa.start < wb.end and wb.start < wa.end:
        return False  # overlapping: one event stated two ways
    if {s.sentence.index for s in a.stated} & {s.sentence.index for s in b.stated}:
        return True  # one sentence states both ("13日、19日及27日")
    said = [s.sentence for s in a.stated + b.stated]
    if any(cues.ORDINAL.search(x.text) or cues.ORDINAL.search(x.context) for x in said):
        return True
    if unresolved and any(s.role == "new" for s in a.stated + b.stated):
        return False  # "停机时间调整为…" with no old time named: which one holds?
    sections = {x.section for x in said}
    return len(sections) == 1


def _contradictions(merged: list[_Merged], state: _State) -> list[str]:
    """Return one warning per group of windows of one system that the notice states as one event."""
    unresolved = not state.old_days and not any(s.role in ("old", "cancelled") for s in state.stated)
    groups: list[list[int]] = []
    for i in range(len(merged)):
        for j in range(i):
            if merged[i].window.system == merged[j].window.system and not _distinct(merged[i], merged[j], unresolved):
                home = next((g for g in groups if j in g), None)
                if home is None:
                    groups.append([j, i])
                elif i not in home:
                    home.append(i)
    out = []
    for members in groups:
        listed = "; ".join(f"({n}) {_span(merged[i].window)} from {merged[i].window.sources[0]!r}"
                           for n, i in enumerate(sorted(members), 1))
        out.append(f"the notice gives {len(members)} different schedules for "
                   f"{merged[members[0]].window.system or 'the system'}: {listed}")
    return out


def _span(window: Window) -> str:
    """Return a window's span for a warning."""
    if window.all_day:
        last = window.end.fromordinal(window.end.toordinal() - 1)
        return f"{window.start:%Y-%m-%d} to {last:%Y-%m-%d} (all day)"
    return f"{window.start:%Y-%m-%d %H:%M} to {window.end:%Y-%m-%d %H:%M}"


def _as_written(prepared: Prepared, name: str | None) -> str | None:
    """Return a name found in the normalised text as the notice writes it (traditional characters kept)."""
    at = prepared.text.find(name) if name else -1
    return prepared.original(at, at + len(name)) if name and at >= 0 else name


def _stamp(sentences: list[Sentence], year: int) -> date | None:
    """Return the notice's own publication date: the first labelled stamp, else the last date standing alone."""
    labelled: list[date] = []
    alone: list[date] = []
    for s in sentences:
        toks = tokens(s.text)
        pts = group(s.text, toks, s.row)
        dated = pts[0].kind("date") if len(pts) == 1 else None
        if dated is None or not dated.groups.get("y"):
            continue
        point = resolve(pts[0], Context(year, None), None, None, False)
        if point.day is not None and _is_stamp(s, [point]):
            (labelled if _STAMP.search(s.text[:point.start]) else alone).append(point.day)
    return labelled[0] if labelled else (alone[-1] if alone else None)


def read(text: str, tz: tzinfo, default_year: int, system: str | None = None, *, published: date | None = None,
         today: date | None = None, dated: date | None = None) -> Reading:
    """Given a notice's text, the zone of its unzoned times and the year to assume where it names none,
    return the windows it states (each once) and warnings. Relative days (明晚, next Monday) are read
    against the notice's own date (a stamp in the text, else ``dated``, e.g. an email's Date header),
    else ``published``, else ``today``."""
    prepared = prepare(text)
    title, sentences = split(prepared)
    system = system or systems.of_title(title)
    own = _stamp(sentences, default_year) or dated
    reference, label = ((own, "the notice's own date") if own else (published, "the publication date given")
                        if published else (today, "today's date"))
    ctx = Context(reference.year if reference else default_year, reference)
    titled = len(sentences) > 1 and title.startswith(sentences[0].text) and not re.search(r"[。！？!?]$", title)
    state = _State(tz, system, title=0 if titled else -1)
    for index, sentence in enumerate(sentences):
        _sentence(state, sentence, sentences[index + 1] if index + 1 < len(sentences) else None, ctx)
    merged = _merge(state)
    for m in merged:
        m.window = replace(m.window, system=_as_written(prepared, m.window.system))
    reading = Reading(_as_written(prepared, system), [m.window for m in merged],
                      _contradictions(merged, state) + state.warnings)
    relative = sorted({r for m in merged for s in m.stated for r in s.relative})
    if relative and reference is not None:
        reading.warnings.append(f"relative days read against {label}, {reference:%Y-%m-%d}: {', '.join(relative)}")
    return reading

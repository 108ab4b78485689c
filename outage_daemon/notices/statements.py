"""A sentence's ranges and lone points read into statements of windows: their zone, their role (a window,
the new or old one of a reschedule, a cancelled one, history) and their system. Pure."""

from __future__ import annotations

import re
from datetime import datetime, tzinfo

from . import cues, ranges, systems
from .model import Draft, Moment, State, Stated
from .points import Point
from .recurring import weekly
from .segment import Sentence
from .tokens import Token, tokens
from .zones import zone_of

_LABEL_GAP = re.compile(r"^[\s:：]*(?:at|on|于|在|为|is)?[\s:：]*$", re.IGNORECASE)
_STOP_AFTER = re.compile(r"停机|暂停|中断|停止|maintenance|downtime|outage|offline|unavailable", re.IGNORECASE)
_FUTURE = re.compile(r"将|计划|定于|拟于|will|scheduled|plan", re.IGNORECASE)
MAX_STATED = 1000  # statements of windows read from one notice
_EN_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def weekday_warning(point: Point, sentence: str) -> str | None:
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


def unread_time(sentence: str, points: list[Point]) -> str | None:
    """Return the first text of the sentence that states a time of day but was not read as one (part of
    a point with a clock), if any: "22h00", "二十三时起", "每晚", "25:00"."""
    read = [(p.start, p.end) for p in points if p.clock is not None]
    for match in cues.TIME_LIKE.finditer(sentence):
        if not any(start < match.end() and match.start() < end for start, end in read):
            return match.group(0)
    return None


def _unread_warning(state: State, s: Sentence, point: Point, unread: str) -> None:
    """Warn that a day was read but its time was not, so no window is printed."""
    day = f"{point.day:%Y-%m-%d}" if point.day is not None else "a day"
    if any(w.endswith(f"write it by hand: {s.source!r}") for w in state.warnings):
        return  # one warning a sentence
    if point.day is not None:
        system = s.row_system or systems.mentioned(s.text, point.start) or state.system
        state.drafts.append(Draft(point.day, system, s.source, unread))
    state.warnings.append(f"{day} is read but not its time ({unread!r} is not understood), so no window "
                          f"is printed; write it by hand: {s.source!r}")


def deadline(sentence: str, point: Point) -> bool:
    """A point that is a deadline ("请于…前", "before March 1") is not the edge of a window."""
    return bool(cues.DEADLINE_AFTER.match(sentence[point.end:]) or cues.DEADLINE_BEFORE.search(sentence[:point.start]))


def unhedged(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    """Return the first match of pattern whose clause is not conditional ("如有取消", "if cancelled")."""
    for match in pattern.finditer(text):
        if not re.search(r"如|若|if\b|whether|unless", cues.clause(text, match.start(), match.end()), re.IGNORECASE):
            return match
    return None


def _zone(s: Sentence, toks: list[Token], pts: list[Point], a: Point, b: Point, tz: tzinfo) -> tuple[tzinfo, tzinfo]:
    """Return the zones of a range's start and end: written with the point, at the end of the range,
    next to or earlier in the sentence, in the headings above, else the default."""
    own_a, own_b = own_zone(a), own_zone(b)
    at_end = own_b or ranges.zone_near(s.text, toks, b, after_only=True, others=pts)
    start = own_a or at_end or ranges.zone_near(s.text, toks, a) or ranges.zone_before(s.text, toks, a.start)
    if start is None:
        start = ranges.zone_before(s.context, tokens(s.context), len(s.context))
    start = start or tz
    return start, at_end or start


def own_zone(point: Point) -> tzinfo | None:
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
    if unhedged(cues.CANCEL, s.text):
        return "cancelled"
    if cues.PAST.search(clause) or cues.PAST.search(cues.following(s.text, b.end)):
        return "past"
    if not _FUTURE.search(s.text) and cues.PAST.search(s.text[:a.start]):
        return "past"
    return "window"


def _add(state: State, s: Sentence, a: Point, b: Point, start: datetime, end: datetime, role: str,
         repeat: str | None = None) -> None:
    """Record one statement of a window; old and cancelled ones are recorded to be taken out later."""
    if end <= start:
        state.warnings.append(f"a range whose end is not after its start, left out: {s.text!r}")
        return
    if len(state.stated) >= MAX_STATED:  # keeps merging and the contradiction check bounded
        if not state.full:
            state.warnings.append(f"more than {MAX_STATED} windows stated: the rest, from {s.source[:80]!r}, "
                                  "are not read")
        state.full = True
        return
    system = s.row_system or systems.mentioned(s.text, a.start) or systems.mentioned(s.context, len(s.context)) \
        or state.system
    if system and state.system and re.sub(r"系统|平台|\s*(?:system|platform|service)$", "", state.system,
                                          flags=re.IGNORECASE) in (system, system + "系统"):
        system = state.system  # "网上银行" in a notice about the 网上银行系统
    relative = tuple(p.relative for p in (a, b) if p.relative)
    state.stated.append(Stated(start, end, a.clock is None and b.clock is None, s, role, system, relative, repeat))


def add_range(state: State, s: Sentence, toks: list[Token], pts: list[Point], pair: tuple[int, int],
           change: re.Match[str] | None) -> None:
    """Read one range of a sentence (and the days listed before it) into the state."""
    a, b = pts[pair[0]], pts[pair[1]]
    if a.day is None or b.day is None or deadline(s.text, b) or deadline(s.text, a):
        return
    rule = weekly(s.text, pts, pair[0])
    if cues.NOT_A_WINDOW.search(cues.scope(s.text, a.start, b.end)) and rule is None:
        return
    if not cues.own_cue(s.text) and cues.OUTAGE.search(s.text) and not cues.OUTAGE.search(s.context) \
            and rule is None:
        return  # "寒假期间（1月20日至2月25日），校园网每周二晚例行维护": the outage words are about something else
    role = _role(s, a, b, change)
    if role == "past":
        return
    unread = unread_time(s.text, pts) if a.clock is None or b.clock is None else None
    if unread and not cues.ALL_DAY.match(s.text[b.end:]):
        if role in ("window", "new"):
            _unread_warning(state, s, a, unread)
        return  # a clockless edge beside a time not understood would invent midnight
    za, zb = _zone(s, toks, pts, a, b, state.tz)
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
        _add(state, s, a, b, start, end, role, rule)


def add_nightly(state: State, s: Sentence, toks: list[Token], pts: list[Point], days: tuple[int, int],
             times: tuple[int, int]) -> None:
    """Read "3月2日至4日每晚22:00至次日06:00": one window a night."""
    a, b, c, d = (pts[i] for i in (*days, *times))
    if a.day is None or b.day is None or c.clock is None or d.clock is None:
        return
    role = _role(s, a, d, None)
    if role == "past":
        return
    za, zb = _zone(s, toks, pts, c, d, state.tz)
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


def add_lone(state: State, s: Sentence, toks: list[Token], pts: list[Point], used: set[int],
          change: re.Match[str] | None) -> None:
    """Read the points that are not part of a range: a stop or a restore time stated alone, or the day
    of an old or cancelled window."""
    hedged = bool(cues.HEDGED.search(s.text))
    for i, point in enumerate(pts):
        if i in used or point.day is None or deadline(s.text, point) or s.index == state.title:
            continue
        before_change = change is not None and point.start < change.start()
        old = cues.OLD.search(s.text[max(0, point.start - 24):point.start])
        if before_change or old or unhedged(cues.CANCEL, s.text):
            state.old_days.add(point.day)
            continue
        if hedged or change is not None or cues.NOT_A_WINDOW.search(cues.scope(s.text, point.start, point.end)):
            continue
        weekend = any(t.groups.get("wkend") for t in point.tokens) and len(pts) == 1 \
            and not cues.TIME_LIKE.search(s.whole or s.text)  # "offline this weekend", no time said
        if point.clock is None and (cues.ALL_DAY.match(s.text[point.end:]) or cues.ALL_DAY_BEFORE.search(
                s.text[:point.start]) or weekend):
            last = point.day.fromordinal(point.day.toordinal() + (1 if weekend else 0))  # a weekend: Saturday, Sunday
            _add(state, s, point, point, ranges.instant(point.day, None, state.tz, False),
                 ranges.instant(last, None, state.tz, True), "window")
            continue
        unread = unread_time(s.text, pts) if point.clock is None else None
        if unread and (_labelled(toks, "finish", point, s.text) or _labelled(toks, "begin", point, s.text)
                       or _STOP_AFTER.search(s.text[point.end:point.end + 16])):
            _unread_warning(state, s, point, unread)
            continue
        zone = own_zone(point) or ranges.zone_near(s.text, toks, point) \
            or ranges.zone_before(s.text, toks, point.start) or state.tz
        if _labelled(toks, "finish", point, s.text):
            after = s.text[point.end:point.end + 8]
            restored = point.clock is None and bool(re.search(r"恢复|resum|restor|back", after, re.IGNORECASE))
            at = ranges.instant(point.day, point.clock, zone, not restored)  # "2月18日起恢复": from that day on
            state.moments.append(Moment("end", s, at, timed=point.clock is not None))
        elif _labelled(toks, "begin", point, s.text) or _STOP_AFTER.search(s.text[point.end:point.end + 16]) \
                or (point.clock is not None and cues.DURATION.search(s.text[point.end:])):
            state.moments.append(Moment("start", s, ranges.instant(point.day, point.clock, zone, False)))

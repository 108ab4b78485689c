"""Ranges: which points of a sentence are joined as start and end, the zone each is in, and the
expansion of date lists ("13日、19日及27日的23:00至次日07:00") and nightly ranges. Pure."""

from __future__ import annotations

import re
from bisect import bisect_left
from datetime import date, datetime, time, timedelta, tzinfo

from .points import Point
from .tokens import Token
from .zones import resolve, zone_of

_LIST = re.compile(r"^\s*(?:、|,|，|和|及|以及|与|&|and|,\s*and|或)\s*$", re.IGNORECASE)
_NIGHTLY = re.compile(r"^[\s,，]*(?:每晚|每日|每天|每夜|每|each night|every night|nightly|daily|each day|every day)?"
                      r"[\s,，]*(?:from|的|,)?\s*$", re.IGNORECASE)
# The times that follow apply to each day of the range: "期间，每晚", "…unavailable from 01:00 to 04:30 each night"
_EACH_DAY = re.compile(r"每晚|每日|每天|每夜|逐日|\b(?:each|every|per) (?:night|day|evening)\b|\bnightly\b|\bdaily\b",
                       re.IGNORECASE)
_PER_DAY = re.compile(r"^[\s,，]*(?:每日|每天|每晚|每夜|each(?: day| night)?|daily|nightly|every (?:day|night))[\s,，]*"
                      r"(?:from)?\s*$", re.IGNORECASE)
_ZONE_GAP = re.compile(r"^[\s(（,]{0,3}$")
_MORNING = {"凌晨", "早上", "早晨", "清晨", "早", "上午"}
_EVENING = {"晚上", "晚间", "晚", "夜间", "夜里", "深夜", "傍晚", "下午"}


def _starting(toks: list[Token], start: int, end: int) -> list[Token]:
    """Return the tokens (sorted by start) that start between the offsets, found by bisection."""
    return toks[bisect_left(toks, start, key=lambda t: t.start):bisect_left(toks, end, key=lambda t: t.start)]


def _between(toks: list[Token], kind: str, start: int, end: int) -> bool:
    """Whether a token of this kind lies wholly between the offsets."""
    return any(t.kind == kind and t.end <= end for t in _starting(toks, start, end))


def _near(toks: list[Token], kind: str, start: int, end: int) -> bool:
    """Whether a token of this kind starts between the offsets."""
    return any(t.kind == kind for t in _starting(toks, start, end))


def linked(sentence: str, toks: list[Token], a: Point, b: Point, row: bool) -> bool:
    """Whether a and b are the start and end of one range: a connector between them, "between … and",
    "…开始 … …完成", or the next cell of a table row."""
    between = sentence[a.end:b.start]
    if a.has_day() and a.kind("time") is None and b.kind("time") is not None and not b.has_day():
        return False  # "Jun 19, 2024 - 15:20": a date, then its time
    if _between(toks, "connector", a.end, b.start) and len(between) <= 14:
        return True
    if row and "|" in between and len(between) <= 6:
        return True
    if _between(toks, "and", a.end, b.start) and len(between) <= 8 and re.search(
            r"between\s*$|介于\s*$", sentence[max(0, a.start - 10):a.start], re.IGNORECASE):
        return True
    begun = any(t.kind == "begin" and (a.start - 8 <= t.end <= a.start or a.end <= t.start <= a.end + 4)
                for t in _starting(toks, a.start - 40, a.end + 5))
    return begun and _near(toks, "finish", b.end, b.end + 16) and len(between) <= 40


def pairs(sentence: str, toks: list[Token], pts: list[Point], row: bool) -> list[tuple[int, int]]:
    """Return the (start, end) indexes of the ranges among the points, each point used once."""
    out: list[tuple[int, int]] = []
    i = 0
    while i < len(pts) - 1:
        if not linked(sentence, toks, pts[i], pts[i + 1], row):
            i += 1
            continue
        clockless = pts[i].kind("time") is None and pts[i + 1].kind("time") is not None
        if clockless and i + 2 < len(pts) and linked(sentence, toks, pts[i + 1], pts[i + 2], row):
            i += 1  # "moved from March 2 to March 9, 22:00–23:00": the range is the second
            continue
        out.append((i, i + 1))
        i += 2
    return out


def listed_days(sentence: str, pts: list[Point], first: int) -> list[int]:
    """Given the index of a range's start, return the indexes of the day-only points listed before it
    ("13日、19日及27日的23:00"), nearest last."""
    out: list[int] = []
    j = first
    if not pts[first].has_day():  # "3月23日、24日每日0:00-6:00": the times apply to each listed day
        if j == 0 or not _PER_DAY.match(sentence[pts[j - 1].end:pts[j].start]):
            return out
        j -= 1
        out.insert(0, j)
    while j > 0 and pts[j - 1].has_day() and pts[j - 1].kind("time") is None \
            and _LIST.match(sentence[pts[j - 1].end:pts[j].start]):
        j -= 1
        out.insert(0, j)
    return out


def days_then_times(pts: list[Point], days: tuple[int, int], times: tuple[int, int]) -> bool:
    """Whether a range of days (no times) is followed by a range of times (no day of its own)."""
    a, b, c = pts[days[0]], pts[days[1]], pts[times[0]]
    return times[0] == days[1] + 1 and a.clock is None and b.clock is None and not c.has_day() \
        and c.clock is not None


def nightly(sentence: str, pts: list[Point], days: tuple[int, int], times: tuple[int, int]) -> bool:
    """Whether a range of days is followed by a range of times that applies to each of them."""
    if not days_then_times(pts, days, times):
        return False
    b, c = pts[days[1]], pts[times[0]]
    gap, after = sentence[b.end:c.end], sentence[pts[times[1]].end:pts[times[1]].end + 16]
    if _NIGHTLY.match(sentence[b.end:c.start]):
        return True
    return len(gap) <= 80 and bool(_EACH_DAY.search(gap) or _EACH_DAY.search(after))


def zone_near(sentence: str, toks: list[Token], point: Point, after_only: bool = False,
              others: list[Point] | None = None) -> tzinfo | None:
    """Return the zone written right after the point (22:00 UTC), else right before it (UTC+8 22:00);
    not a zone that begins another point ("24:00（北京时间3月10日…": the restatement's)."""
    owned = [t for p in others or [] if p is not point for t in p.tokens]
    for token in toks:
        if token.kind != "zone" or zone_of(token) is None or token in owned:
            continue
        if token.start >= point.end and _ZONE_GAP.match(sentence[point.end:token.start]):
            return zone_of(token)
        if not after_only and token.end <= point.start and _ZONE_GAP.match(sentence[token.end:point.start]):
            return zone_of(token)
    return None


def zone_before(text: str, toks: list[Token], at: int) -> tzinfo | None:
    """Return the last zone named before offset ``at`` (a label's "北京时间"), if any."""
    found = [zone_of(t) for t in toks if t.kind == "zone" and t.end <= at and zone_of(t) is not None]
    return found[-1] if found else None


def next_day_is_clear(a: Point, b: Point) -> bool:
    """Whether an end earlier in the day than its start evidently means the next day (10 PM to 6 AM, 晚…凌晨)."""
    ta, tb = a.kind("time"), b.kind("time")
    if ta is not None and tb is not None and ta.groups.get("ap") and tb.groups.get("ap"):
        return True
    return (a.period in _EVENING or (a.clock is not None and a.clock[0] >= 18)) and b.period in _MORNING


def instant(day: date, clock: tuple[int, int] | None, tz: tzinfo, end: bool) -> datetime:
    """Return the moment a day and clock name in tz; without a clock, the day's start (or, as an end, the next)."""
    if clock is None:
        return resolve(datetime.combine(day + timedelta(days=1) if end else day, time()), tz)
    hour, minute = clock
    extra = timedelta(days=1) if hour == 24 else timedelta(0)
    return resolve(datetime.combine(day, time(hour % 24, minute)) + extra, tz)


_TRAILING = re.compile(r"^[\s,，(（)）]*(?:[A-Za-z\u4e00-\u9fff+\d: ]{0,30}?)[\s,，(（)）]*(?:on|of|于)?[\s,，(（]*$",
                       re.IGNORECASE)


def trailing(sentence: str, end: Point, day: Point) -> bool:
    """Whether a day written after a range of times is the range's day ("9 p.m. to 11 p.m. CST on May 4")."""
    gap = sentence[end.end:day.start]
    return len(gap) <= 30 and bool(_TRAILING.match(gap)) and not re.search(r"至|到|\bto\b|until", gap)

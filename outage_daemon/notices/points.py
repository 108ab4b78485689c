"""Points: adjacent date and time tokens read together as one moment, and their resolution to a day and clock."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta, tzinfo

from . import days
from .tokens import CN_DAYS, EN_DAYS, Token

DAY_KINDS = {"date", "monthday", "dayonly", "nextday", "sameday", "relday"}
POINT_KINDS = DAY_KINDS | {"nextyear", "weekday", "period", "time"}
_FILLER = re.compile(r"^[\s,，的在于(（)）@]*(?:on|at|of|from|T)?[\s,，的在于(（)）@]*$", re.IGNORECASE)
_ROW_FILLER = re.compile(r"^[\s,，的在于(（)）|]*$")
_AFTERNOON = {"下午", "傍晚", "晚上", "晚间", "晚", "夜间", "夜里"}  # "N点" means N+12
_LATE_NIGHT = {"深夜", "半夜"}  # 11点 is 23:00, 1点 is 01:00


@dataclass
class Point:
    """A moment as the text states it; ``day``, ``clock`` and ``zone`` are filled in by :func:`resolve`."""

    tokens: list[Token]
    start: int
    end: int
    day: date | None = None
    clock: tuple[int, int] | None = None  # hour may be 24
    weekday: int | None = None
    dated: bool = False  # the point itself names a day (not inherited)
    period: str | None = None
    zone: tzinfo | None = None
    relative: str | None = None  # "明晚 = 2024-03-02" when read against the reference date

    def kind(self, name: str) -> Token | None:
        """Return the point's token of this kind, if any."""
        return next((t for t in self.tokens if t.kind == name), None)

    def has_day(self) -> bool:
        """Whether one of the point's own tokens names a day."""
        return any(t.kind in DAY_KINDS for t in self.tokens)


@dataclass
class Context:
    """What earlier sentences established: the year, the last day named, and the reference for relative days."""

    year: int
    reference: date | None
    day: date | None = None
    explicit_year: bool = False
    bare_day: date | None = None  # the day of the sentence before, when it named only a day


def group(sentence: str, toks: list[Token], row: bool = False) -> list[Point]:
    """Group adjacent point tokens (only filler between them, one day each) into points; a zone
    written next to a point ("22:00 UTC", "UTC+8 2024-11-02") belongs to it."""
    filler = _ROW_FILLER if row else _FILLER
    out: list[Point] = []
    pending: Token | None = None
    for n, token in enumerate(toks):
        last = out[-1] if out else None
        adjacent = last is not None and bool(filler.match(sentence[last.end:token.start]))
        if token.kind == "zone":
            after = toks[n + 1] if n + 1 < len(toks) else None
            opens = after is not None and after.kind in POINT_KINDS and re.search(r"[(（]", sentence[
                last.end:token.start] if last else "") and bool(filler.match(sentence[token.end:after.start]))
            if last is not None and adjacent and last.kind("zone") is None and not opens:
                last.tokens.append(token)
                last.end = token.end
            else:
                pending = token
            continue
        if token.kind not in POINT_KINDS:
            continue
        if last is not None and token.kind in ("date", "monthday") and [t.kind for t in last.tokens] == ["relday"] \
                and re.match(r"^\s*[(（]\s*$", sentence[last.end:token.start]):
            last.tokens = [token]  # "明天（3月20日）": the date says which day
            last.end = token.end
            continue
        if last is not None and adjacent and not any(t.kind == token.kind for t in last.tokens) \
                and not (token.kind in DAY_KINDS and last.has_day()):
            last.tokens.append(token)
            last.end = token.end
            continue
        point = Point([token], token.start, token.end)
        if pending is not None and filler.match(sentence[pending.end:token.start]):
            point.tokens.insert(0, pending)
            point.start = pending.start
        pending = None
        out.append(point)
    return out


def clock(token: Token, period: str | None, end: bool) -> tuple[int, int] | None:
    """Given a time token, the period word that governs it and whether it ends a range, return
    (hour, minute); hour 24 is the midnight that ends a day. None for an impossible time."""
    g = token.groups
    if g.get("word"):
        if (g["word"] or "").lower() == "noon":
            return 12, 0
        return (24, 0) if end else (0, 0)
    hour = int(g["h"] or 0)
    minute = 30 if g.get("half") else int(g.get("mi") or 0)
    ap = (g.get("ap") or "").lower().replace(".", "")
    if ap:
        hour = hour % 12 + (12 if ap.startswith("p") else 0)
    elif period in _AFTERNOON and hour == 12:
        hour = 24 if period != "下午" else 12
    elif period in _AFTERNOON and hour < 12:
        hour += 12
    elif period == "中午" and hour < 6:
        hour += 12
    elif period in _LATE_NIGHT and 6 < hour <= 12:
        hour += 12
    if hour > 24 or minute > 59 or (hour == 24 and minute):
        return None
    return hour, minute


def _calendar_day(point: Point, ctx: Context, after: Point | None) -> date | None:
    """Return the day a date, month-day or day-only token names, the year and month from context."""
    year = ctx.year + (1 if point.kind("nextyear") else 0)
    previous = after.day if after is not None else None
    token = point.kind("date") or point.kind("monthday")
    if token is not None:
        g = token.groups
        if g.get("y"):
            return days.make(int(g["y"] or 0), days.month_of(g), int(g.get("d") or 1))
        found = days.make(year, days.month_of(g), int(g["d"] or 0))
        if found is not None and not ctx.explicit_year and ctx.reference is not None and previous is None \
                and found < ctx.reference - timedelta(days=60):
            found = days.make(year + 1, found.month, found.day)  # a notice of 20 December about 3 January
        if found is not None and previous is not None and found < previous and not point.kind("nextyear"):
            found = days.make(year + 1, found.month, found.day)  # a range across the year end
        return found
    token = point.kind("dayonly")
    base = previous or ctx.day
    if token is None or base is None:
        return None
    return days.following_month_day(base, int(token.groups["d"] or 0))


def _day(point: Point, ctx: Context, after: Point | None, fallback: date | None) -> date | None:
    """Return the point's day: named, relative, weekday-only, or inherited from the range's start."""
    base = after.day if after is not None and after.day is not None else None
    if point.kind("date") or point.kind("monthday") or point.kind("dayonly"):
        return _calendar_day(point, ctx, after)
    if point.kind("nextday"):
        anchor = base or ctx.day
        return anchor + timedelta(days=1) if anchor else None
    if point.kind("sameday"):
        return base or ctx.day
    token = point.kind("relday")
    if token is not None and ctx.reference is not None:
        found = days.relative(token, ctx.reference)
        point.relative = f"{token.text} = {found:%Y-%m-%d}"
        return found
    if point.weekday is not None and token is None:
        anchor = base or fallback
        if anchor is not None:
            return days.on_or_after(anchor, point.weekday)
        if fallback is None and ctx.reference is not None and point.clock is not None:
            found = days.on_or_after(ctx.reference, point.weekday)
            named = next(t.text.strip() for t in point.tokens if t.kind in ("weekday", "date"))
            point.relative = f"{named} = {found:%Y-%m-%d}"
            return found
    if point.kind("time") is not None or point.kind("period") is not None:
        return base or fallback
    return None


def _weekday(point: Point) -> int | None:
    """Return the weekday the point names (周六, Saturday), if any (0 is Monday)."""
    for token in point.tokens:
        if token.kind == "weekday" and token.groups.get("wd"):
            return CN_DAYS[token.groups["wd"] or "日"]
        if token.kind == "weekday" and token.groups.get("ewd"):
            return EN_DAYS[(token.groups["ewd"] or "")[:3].lower()]
        if token.kind == "date" and token.groups.get("dname"):
            return EN_DAYS[(token.groups["dname"] or "")[:3].lower()]
    return None


def resolve(point: Point, ctx: Context, after: Point | None, fallback: date | None, end: bool) -> Point:
    """Fill in the point's day, clock and period from its tokens and the context; ``after`` is the
    start of the range the point ends, ``fallback`` the day named earlier in the same sentence."""
    period_token = point.kind("period")
    rel = point.kind("relday") or point.kind("sameday")
    period = period_token.text if period_token else (days.period_of(rel.text) if rel else None)
    if period is None and after is not None and not point.has_day():
        period = after.period  # "晚上8点至10点": the end is in the evening too
    point.period = period
    point.weekday = _weekday(point)
    time_token = point.kind("time")
    if time_token is not None:
        point.clock = clock(time_token, period, end)
    point.day = _day(point, ctx, after, fallback)
    point.dated = point.has_day() or (point.day is not None and point.weekday is not None and after is None)
    if point.day is not None and point.has_day():
        ctx.day, ctx.year = point.day, point.day.year
        dated = point.kind("date")
        if (dated is not None and dated.groups.get("y")) or point.kind("nextyear"):
            ctx.explicit_year = True
    return point

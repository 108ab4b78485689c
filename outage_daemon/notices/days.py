"""Days as notices write them: calendar dates, day-only ends, and relative days (明晚, next Monday). Pure."""

from __future__ import annotations

from datetime import date, timedelta

from .tokens import CN_DAYS, EN_DAYS, MONTHS, Token

EVENING_WORDS = ("今晚", "今夜", "明晚", "明夜", "当晚", "当夜", "tonight", "night", "evening")
MORNING_WORDS = ("明早", "明晨", "次晨", "morning")


def make(year: int, month: int, day: int) -> date | None:
    """Return the date, or None when it does not exist (2月30日)."""
    try:
        return date(year, month, day)
    except ValueError:
        return None


def month_of(groups: dict[str, str | None]) -> int:
    """Given a date token's groups, return its month (a number or an English name)."""
    name = groups.get("mon")
    return MONTHS[name[:3].lower()] if name else int(groups.get("m") or 0)


def following_month_day(base: date, wanted: int) -> date | None:
    """Given the day before and a day of the month ("15日至16日"), return it in base's month, or the next."""
    found = make(base.year, base.month, wanted)
    if found is not None and found >= base:
        return found
    nxt = (base.replace(day=1) + timedelta(days=32)).replace(day=1)
    return make(nxt.year, nxt.month, wanted)


def on_or_after(base: date, weekday: int) -> date:
    """Return the first day on or after ``base`` that falls on ``weekday`` (0 is Monday)."""
    return base + timedelta(days=(weekday - base.weekday()) % 7)


def period_of(text: str) -> str | None:
    """Given a relative-day word (今晚, 明早, tomorrow night), return the period of the day it implies."""
    lowered = text.lower()
    if any(w in lowered for w in EVENING_WORDS):
        return "晚"
    if any(w in lowered for w in MORNING_WORDS):
        return "早"
    return None


def relative(token: Token, reference: date) -> date:
    """Given a relative-day token and the reference date (the notice's own date), return the day it names."""
    text = token.text.lower()
    g = token.groups
    monday = reference - timedelta(days=reference.weekday())
    if g.get("wkend"):  # "this weekend", 本周末: the Saturday of the week (the next one's for next/下)
        return monday + timedelta(days=5 + (7 if text.startswith(("next", "下")) else 0))
    if g.get("wd"):
        weeks = {"本": 0, "这": 0, "下": 1, "下下": 2}[g.get("rel") or "本"]
        return monday + timedelta(days=7 * weeks + CN_DAYS[g["wd"] or "日"])
    if g.get("ewd"):
        wanted = EN_DAYS[(g["ewd"] or "")[:3].lower()]
        if (g.get("erel") or "").lower() == "next":
            return monday + timedelta(days=7 + wanted)
        return on_or_after(reference, wanted)
    if text.startswith(("大后天", "the day after")):
        return reference + timedelta(days=3 if text.startswith("大") else 2)
    if text.startswith("后天"):
        return reference + timedelta(days=2)
    if text.startswith(("明", "tomorrow")):
        return reference + timedelta(days=1)
    return reference

"""Recurring windows: a weekly rule stated from a first day on ("自2024年7月起，每周日凌晨2:00至4:00",
"Starting 6 July 2024 … every Saturday from 22:00 to 23:00") as an RFC 5545 rule. Pure."""

from __future__ import annotations

import re

from .points import Point

_RULE = re.compile(r"每(?:个)?(?:周|星期|礼拜)(?P<cn>[一二三四五六日天])|"
                   r"\bevery\s+(?P<en>Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\b", re.IGNORECASE)
_FROM_BEFORE = re.compile(r"(?:自|从|\b(?:starting|beginning|effective|commencing|from|as of)(?:\s+on)?)\s*$",
                          re.IGNORECASE)
_FROM_AFTER = re.compile(r"^\s*(?:份)?\s*(?:起|开始|以后|之后|onwards|on ?wards)", re.IGNORECASE)
_BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_CN = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_EN = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


def weekly(sentence: str, pts: list[Point], start: int) -> str | None:
    """Given a sentence, its points and the index of a range's start, return the weekly rule the range
    repeats by ("FREQ=WEEKLY;BYDAY=SU"): the start names the rule's weekday and a day before it is
    written as where the rule begins ("自…起", "starting …"); None otherwise."""
    rule = _RULE.search(sentence)
    point = pts[start]
    if rule is None or point.weekday is None or point.has_day():
        return None
    named = rule.group("cn") or ""
    weekday = _CN[named] if named else _EN[(rule.group("en") or "")[:3].lower()]
    if weekday != point.weekday:
        return None
    begins = any(p.has_day() and p.clock is None and p.end <= point.start
                 and (_FROM_BEFORE.search(sentence[:p.start]) or _FROM_AFTER.match(sentence[p.end:])) for p in pts)
    return f"FREQ=WEEKLY;BYDAY={_BYDAY[weekday]}" if begins else None

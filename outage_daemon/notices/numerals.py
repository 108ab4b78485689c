"""Chinese numerals in dates and times (二〇二四年三月九日二十三时) rewritten as digits. Pure."""

from __future__ import annotations

import re

DIGITS = {"零": 0, "〇": 0, "○": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
          "八": 8, "九": 9}
_RUN = re.compile(r"[零〇○一二两三四五六七八九十]+(?=\s*(?:年|月|日|号|时|点|分))")
# a day, hour or minute word only counts after something that makes it a date or a time
_BEFORE_DAY = re.compile(r"(?:月|至|到|、|和|及|~|-|—)\s*$")
_BEFORE_CLOCK = re.compile(r"(?:[日号天晨早午晚夜间里深半至到~—-]|时|点|\s)\s*$")


def value(text: str) -> int | None:
    """Given a Chinese numeral up to 九十九 (十, 十一, 二十三, 两), return its value; None if malformed."""
    if "十" not in text:
        return DIGITS[text] if len(text) == 1 and text in DIGITS else None
    tens, _, ones = text.partition("十")
    if len(tens) > 1 or len(ones) > 1 or (tens and tens not in DIGITS) or (ones and ones not in DIGITS):
        return None
    return (DIGITS[tens] if tens else 1) * 10 + (DIGITS[ones] if ones else 0)


def _year(text: str) -> str | None:
    """Given a four-numeral year (二〇二四), return its digits; None otherwise."""
    if len(text) == 4 and "十" not in text:
        return "".join(str(DIGITS[c]) for c in text)
    return None


def _replacement(text: str, run: str, start: int) -> str | None:
    """Given the text, a numeral run at ``start`` and what follows it, return its digits or None."""
    after = text[start + len(run):].lstrip()[:1]
    before = text[:start]
    if after == "年":
        return _year(run)
    if after in "日号" and not (_BEFORE_DAY.search(before) or not before.strip()):
        return None
    if after in "时点" and not (_BEFORE_CLOCK.search(before) or not before.strip()):
        return None
    if after == "分" and not re.search(r"[时点]\s*$", before):
        return None
    number = value(run)
    return None if number is None else str(number)


def digits(text: str) -> tuple[str, list[int]]:
    """Given text, return it with date and time numerals as digits, and for each output character
    the index of the input character it came from."""
    out: list[str] = []
    origin: list[int] = []
    last = 0
    for match in _RUN.finditer(text):
        new = _replacement(text, match.group(0), match.start())
        if new is None:
            continue
        out.append(text[last:match.start()])
        origin.extend(range(last, match.start()))
        out.append(new)
        origin.extend([match.start()] * (len(new) - 1) + [match.end() - 1])
        last = match.end()
    out.append(text[last:])
    origin.extend(range(last, len(text)))
    return "".join(out), origin

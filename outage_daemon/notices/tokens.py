"""The tokenizer: named patterns for dates, days, times, zones, connectors and cue words. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass

MONTHS = {m: i + 1 for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}
EN_DAYS = {d: i for i, d in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))}
CN_DAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}

_MONTH = (r"(?P<mon>Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
          r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?")
_DAYNAME = r"(?:(?P<dname>Mon|Tues?|Wed(?:nes)?|Thu(?:rs?)?|Fri|Sat(?:ur)?|Sun)(?:day)?\.?,?\s+)?"
_YEAR = r"(?:,?\s+(?P<y>(?:19|20)\d\d))?"
_EN_WEEKDAY = r"(?P<ewd>Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day"
_CN_WEEKDAY = r"(?:周|星期|礼拜)(?P<wd>[一二三四五六日天])"
_ZONE_WORDS = (r"China Standard Time|Beijing Time|"
               r"(?:Eastern|Pacific|Central|Mountain)(?: Standard| Daylight)? Time|"
               r"Central European(?: Summer)? Time|British Summer Time|Greenwich Mean Time|"
               r"Coordinated Universal Time|Singapore Time|Japan Standard Time|Hong Kong Time|"
               r"ET|EST|EDT|PT|PST|PDT|CT|CDT|MT|MST|MDT|CET|CEST|BST|JST|SGT|HKT|AEST|AEDT")

# One named pattern per kind of token. Where matches overlap, the longest (then the earliest listed) wins.
_PATTERNS = [
    ("date", r"(?<!\d)(?P<y>(?:19|20)\d\d)\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*"
             r"(?:[日号]|(?=[-–~]\s*\d{1,2}\s*[日号]))"),
    ("date", r"(?<![\d.])(?P<y>(?:19|20)\d\d)[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?![\d.])"),
    # "2024年7月起": the first of the month
    ("date", r"(?<!\d)(?P<y>(?:19|20)\d\d)\s*年\s*(?P<m>\d{1,2})\s*月(?=\s*份?\s*(?:起|开始|以后))"),
    ("date", r"\b" + _DAYNAME + _MONTH + r"\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?"
             r"(?:\s*[-–]\s*(?P<d2>\d{1,2})(?:st|nd|rd|th)?)?" + _YEAR + r"(?![\d:])"),
    ("date", r"\b" + _DAYNAME + r"(?P<d>\d{1,2})(?:st|nd|rd|th)?"
             r"(?:\s*(?:[-–]|\bto\b|\bthrough\b|\bthru\b)\s*(?P<d2>\d{1,2})(?:st|nd|rd|th)?)?"
             r"\s+(?:of\s+)?" + _MONTH + _YEAR + r"(?![\d:])"),
    ("numdate", r"(?<![\d/.])(?P<na>\d{1,2})/(?P<nb>\d{1,2})/(?P<y>(?:19|20)\d\d)(?![\d/])"),
    # "Tuesday, 6/11", "on 6/11": US month-first without a year, only after a weekday or "on"
    ("numdate", r"\b(?:(?P<dname>Mon|Tues?|Wed(?:nes)?|Thu(?:rs?)?|Fri|Sat(?:ur)?|Sun)(?:day)?\.?,?\s+|on\s+)"
                r"(?P<na>1[0-2]|0?[1-9])/(?P<nb>[12]\d|3[01]|0?[1-9])(?![\d/])"),
    ("monthday", r"(?<![\d.])(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*(?:[日号]|(?=[-–~]\s*\d{1,2}\s*[日号]))"),
    ("dayonly", r"(?<![\d月.年/])(?P<d>\d{1,2})\s*[日号]"),
    ("nextyear", r"次年|翌年|第二年|明年"),
    ("nextday", r"次日|第二天|翌日|隔天|次晨|the\s+(?:next|following)\s+(?:day|morning)|next\s+(?:day|morning)"),
    ("sameday", r"当日|当天|同日|当晚|当夜|the\s+same\s+(?:day|night|evening)|that\s+(?:night|evening)"),
    ("relday", r"(?P<wkend>(?:本|这个?|下个?)周末|\b(?:this|next|the coming|coming)\s+weekend\b)|"
               r"大后天|后天|今天|今日|今晚|今夜|明天|明日|明早|明晨|明晚|明夜|"
               r"(?P<rel>本|这|下下|下)(?:个)?" + _CN_WEEKDAY + "|"
               r"\b(?:the\s+day\s+after\s+tomorrow|today|tonight|tomorrow(?:\s+(?:morning|night|evening))?)\b|"
               r"\b(?P<erel>this|next|coming)\s+" + _EN_WEEKDAY + r"\b"),
    ("weekday", r"[(（]?\s*" + _CN_WEEKDAY + r"\s*[)）]?"),
    ("weekday", r"\b" + _EN_WEEKDAY + r"\b"),
    ("period", r"凌晨|早上|早晨|清晨|上午|中午|午间|下午|傍晚|晚上|晚间|夜间|夜里|深夜|半夜|晚|早"),
    ("time", r"(?<![\d.:])(?P<h>\d{1,2})[:：](?P<mi>\d{2})(?::\d{2})?(?:\s*(?P<ap>[ap]\.?m\.?)(?![a-z]))?(?![\d:])"),
    ("time", r"(?<![\d.:])(?P<h>\d{1,2})\s*(?P<ap>[ap]\.?m\.?)(?![a-z])"),
    ("time", r"(?<![\d.:])(?P<h>1[0-2]|0?[1-9])(?P<mi>[0-5]\d)\s*(?P<ap>[ap]\.?m\.?)(?![a-z])"),
    ("time", r"(?<![\d.:])(?P<h>[01]\d|2[0-4])(?P<mi>[0-5]\d)\s*(?:hrs?\b|hours\b|h\b|(?=\s*(?:UTC|GMT|Z\b)))"),
    ("time", r"(?<![\d.:])(?P<h>\d{1,2})\s*[点时](?:\s*(?P<half>半)|\s*(?P<mi>\d{1,2})\s*分|(?P<zheng>整))?"),
    ("time", r"\b(?P<word>noon|midnight)\b"),
    ("time", r"(?<![\d.:x×])(?P<h>[01]?\d|2[0-3])\s?[hH](?:(?P<mi>[0-5]\d)|(?![A-Za-z\d]))"),  # 22h00, 8h
    ("dottime", r"(?<![\d.:])(?P<h>[01]?\d|2[0-4])\.(?P<mi>[0-5]\d)(?:\s*(?P<ap>[ap]\.?m\.?)(?![a-z]))?(?!\.?\d)"),
    ("zone", r"\b(?:UTC|GMT)\s*(?P<sign>[+-])\s*(?P<oh>\d{1,2})(?::?(?P<om>\d{2}))?(?!\d)"),
    ("zone", r"(?<=:\d\d:\d\d)(?P<sign>[+-])(?P<oh>\d{2}):?(?P<om>\d{2})(?!\d)"),
    ("zone", r"\b(?P<utc>UTC|GMT)\b|(?<=\d)(?P<zulu>Z)\b"),
    ("zone", r"(?<![A-Za-z])(?P<name>" + _ZONE_WORDS + r")(?![A-Za-z0-9])"),
    ("zone", r"(?P<name>北京时间|中国标准时间|东八区|美国(?:东部|西部|太平洋|中部|山地)时间|美[东西中]时间|"
             r"太平洋时间|伦敦时间|英国时间|"
             r"(?:欧洲)?中欧时间|欧洲中部时间|东京时间|日本时间|新加坡时间|香港时间|悉尼时间|格林[尼威]治(?:标准)?时间|"
             r"协调世界时|世界标准时间)"),
    ("connector", r"起至|直至|直到|至|到|~|～|—+|–|-{1,2}|\b(?:to|until|till|through|thru)\b"),
    ("and", r"\band\b|和|及|与|&"),
    ("begin", r"开始时间|开始|起始|起(?!至)|\bwhen(?=\s*:)|"
              r"\bfrom\b|\bstart(?:s|ing)?\b|\bbeginning\b|\bbetween\b|\bbegins?\b"),
    ("finish", r"完成|结束时间|结束|恢复时间|恢复|(?<![停截禁防终])止(?!$)|\brestored\b|\bback\b|"
               r"\bcompleted?\b|\bends?\b|"
               r"\bresume[sd]?\b|\bfinish(?:es|ed)?\b"),
]
TOKENS: list[tuple[str, re.Pattern[str]]] = [(kind, re.compile(p, re.IGNORECASE)) for kind, p in _PATTERNS]
_CASED = {"zone"}  # "et", "pt" in running English are not zones: these match as written
TOKENS = [(k, re.compile(p.pattern) if k in _CASED else p) for k, p in TOKENS]


@dataclass(frozen=True)
class Token:
    """One match: its kind, span in the sentence, named groups and text."""

    kind: str
    start: int
    end: int
    groups: dict[str, str | None]
    text: str


def _split_range(kind: str, match: re.Match[str]) -> list[Token]:
    """Given a date match with a second day ("November 2–3"), return the date, a connector and the day;
    a numeric date (3/2/2024) as a date, month first unless the first number cannot be a month."""
    groups = match.groupdict()
    if kind == "dottime":
        return [Token("time", match.start(), match.end(), groups, match.group(0))]
    if kind == "numdate":
        first, second = groups["na"], groups["nb"]
        month, day = (second, first) if int(first or 0) > 12 else (first, second)
        found = {"y": groups.get("y"), "m": month, "d": day, "dname": groups.get("dname")}
        return [Token("date", match.start(), match.end(), found, match.group(0))]
    if not groups.get("d2"):
        return [Token(kind, match.start(), match.end(), groups, match.group(0))]
    d_end, (d2_start, d2_end) = match.end("d"), match.span("d2")
    first = dict(groups, d2=None)
    return [Token(kind, match.start(), d_end, first, match.group(0)),
            Token("connector", d_end, d2_start, {}, match.string[d_end:d2_start]),
            Token("dayonly", d2_start, max(d2_end, match.end()), {"d": groups["d2"]}, match.group("d2") or "")]


_DOT_BEFORE = re.compile(r"(?:\bfrom|\bat|\bto|\buntil|\btill|\bbetween|\band|[-–—~至到]|"
                         r"\b(?:19|20)\d\d,?|\b(?:start|end|time|begins?|ends?)\s*:)\s*$", re.IGNORECASE)
_DOT_AFTER = re.compile(r"^\s*(?:[-–—~至到]|to\b|until\b|and\b|UTC|GMT|BST|CET|CEST|hrs?\b)", re.IGNORECASE)


def _dot_time(match: re.Match[str]) -> bool:
    """Whether "22.00" is a time: with am/pm, or next to a connector or zone ("from 22.00 to 23.00 BST")."""
    text = match.string
    return bool(match.group("ap") or _DOT_BEFORE.search(text[max(0, match.start() - 12):match.start()])
                or _DOT_AFTER.match(text[match.end():]))


def tokens(sentence: str) -> list[Token]:
    """Given a sentence, return its tokens left to right; where they overlap the longest wins."""
    found: list[tuple[int, int, int, Token | list[Token]]] = []
    for rank, (kind, pattern) in enumerate(TOKENS):
        for match in pattern.finditer(sentence):
            if kind == "dottime" and not _dot_time(match):
                continue
            if match.end() > match.start():
                found.append((match.start(), -(match.end() - match.start()), rank, _split_range(kind, match)))
    found.sort(key=lambda f: (f[0], f[1], f[2]))
    out: list[Token] = []
    end = 0
    for start, negative, _, parts in found:
        if start < end:
            continue
        out.extend(parts if isinstance(parts, list) else [parts])
        end = start - negative
    return out

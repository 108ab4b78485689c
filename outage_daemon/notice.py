"""Read an outage notice written in prose (Chinese or English) and find the windows it states. Pure.

The grammar is small: a tokenizer of named patterns (dates, month-days, relative days, weekdays,
periods of the day, times, range connectors and cue words) whose adjacent tokens form *points*;
two points joined by a connector (or "…开始 … …完成") form a window. Sentences without an outage
cue are skipped, so publication stamps, office hours and deadlines do not become windows.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from outage_daemon.core.timerules import resolve

_CN_NUM = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
           "九": 9, "十": 10}
_WEEKDAY_CN = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_MONTHS = {m: i + 1 for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}
_EN_DAYS = {d: i for i, d in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))}
_MONTH = r"(?P<mon>Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|" \
         r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
_DAYNAME = r"(?:(?P<dname>Mon|Tues?|Wed(?:nes)?|Thu(?:rs)?|Fri|Sat(?:ur)?|Sun)(?:day)?\.?,?\s+)?"

# One named pattern per kind of token. Order matters only for ties (same start, same length).
TOKENS: list[tuple[str, re.Pattern[str]]] = [(kind, re.compile(pattern, re.IGNORECASE)) for kind, pattern in [
    ("date", r"(?<!\d)(?P<y>(?:19|20)\d\d)\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]?"),
    ("date", r"(?<![\d.])(?P<y>(?:19|20)\d\d)[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?![\d.])"),
    ("date", _DAYNAME + _MONTH + r"\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(?P<y>(?:19|20)\d\d))?(?![\d:])"),
    ("date", _DAYNAME + r"(?P<d>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH + r"(?:,?\s+(?P<y>(?:19|20)\d\d))?"),
    ("monthday", r"(?<![\d.])(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]"),
    ("dayonly", r"(?<![\d月.年/-])(?P<d>\d{1,2})\s*[日号]"),
    ("nextyear", r"次年|翌年|第二年|明年"),
    ("nextday", r"次日|第二天|翌日|隔天|the\s+(?:next|following)\s+day|next\s+day"),
    ("sameday", r"当日|当天|同日|the\s+same\s+day"),
    ("weekday", r"[(（]?\s*(?:周|星期|礼拜)\s*(?P<wd>[一二三四五六日天])\s*[)）]?"),
    ("period", r"凌晨|早上|早晨|清晨|上午|中午|午间|下午|傍晚|晚上|晚间|夜间|夜里|深夜|半夜|晚|早"),
    ("time", r"(?<![\d.:])(?P<h>\d{1,2})[:：](?P<mi>\d{2})(?::\d{2})?(?:\s*(?P<ap>[ap]\.?m\.?)(?![a-z]))?(?![\d:])"),
    ("time", r"(?<![\d.:])(?P<h>\d{1,2})\s*(?P<ap>[ap]\.?m\.?)(?![a-z])"),
    ("time", r"(?<![\d.:])(?P<h>\d{1,2})\s*[点时](?:\s*(?P<half>半)|\s*(?P<mi>\d{1,2})\s*分|(?P<zheng>整))?"),
    ("time", r"(?<=[凌早晨上午中下傍晚夜间里深半至到~～—-])\s*(?P<cn>[零〇一二两三四五六七八九十]{1,3})\s*点"
             r"(?:\s*(?P<half>半))?"),
    ("time", r"\b(?P<word>noon|midnight)\b"),
    ("connector", r"起至|直至|直到|至|到|~|～|—+|–|-{1,2}|\b(?:to|until|till|through|thru|and)\b"),
    ("begin", r"开始|起(?!至)|\bfrom\b|\bstarting\b|\bbeginning\b|\bbetween\b"),
    ("finish", r"完成|结束|恢复|止(?!$)|\brestored\b|\bback\b|\bcompleted?\b|\bends?\b|\bresume[sd]?\b"),
]]
_DAY_KINDS = {"date", "monthday", "dayonly", "nextday", "sameday"}
_POINT_KINDS = _DAY_KINDS | {"nextyear", "weekday", "period", "time"}
_FILLER = re.compile(r"^[\s,，、的在于(（)）]*(?:on|at|of)?[\s,，、的在于(（)）]*$", re.IGNORECASE)
_OUTAGE = re.compile(r"停机|维护|升级|暂停|中断|停止服务|停止对外|恢复|不可用|无法(?:访问|使用|登录)|割接|"
                     r"downtime|maintenance|outage|unavailable|offline|\bdown\b|restor|upgrade", re.IGNORECASE)
_NOT_A_WINDOW = re.compile(r"工作时间|营业时间|办公时间|服务时间为|每日|每天|周末及节假日|"
                           r"office hours|business hours|opening hours|every day|daily", re.IGNORECASE)
_SENTENCE = re.compile(r"[^。！？!?;；\n]+[。！？!?;；]?")
_SYSTEM = re.compile(r"^(?P<system>.{2,40}?(?:系统|平台|服务|网站|网关|中心|System|Platform|Service|Portal))")


@dataclass(frozen=True)
class Token:
    kind: str
    start: int
    end: int
    groups: dict[str, str | None]
    text: str


@dataclass
class Point:
    """A moment as the text states it; ``day``/``clock`` filled in by :func:`_resolve`."""

    tokens: list[Token]
    start: int
    end: int
    day: date | None = None
    clock: tuple[int, int] | None = None  # hour may be 24
    weekday: int | None = None
    dated: bool = False  # the point itself names a day (not inherited)
    period: str | None = None  # 晚上, 凌晨 …, own or carried over from the start of a range


@dataclass(frozen=True)
class Window:
    """A window the notice states: ``end`` is exclusive; ``all_day`` windows start and end at
    midnight. ``sources`` are the sentences that state it."""

    start: datetime
    end: datetime
    all_day: bool
    sources: tuple[str, ...]


@dataclass
class Reading:
    system: str | None
    windows: list[Window] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def normalise(text: str) -> str:
    """Given raw notice text, return it with full-width digits and punctuation made ASCII (NFKC)."""
    return unicodedata.normalize("NFKC", text).replace("\r\n", "\n").replace("\r", "\n")


def sentences(text: str) -> list[str]:
    """Given normalised text, return its sentences (split at 。！？; and line ends), trimmed."""
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]


def tokens(sentence: str) -> list[Token]:
    """Given a sentence, return its tokens left to right; the longest wins where they overlap."""
    found = []
    for kind, pattern in TOKENS:
        for match in pattern.finditer(sentence):
            if match.end() > match.start():
                found.append(Token(kind, match.start(), match.end(), match.groupdict(), match.group(0)))
    found.sort(key=lambda t: (t.start, -(t.end - t.start)))
    out: list[Token] = []
    for token in found:
        if out and token.start < out[-1].end:
            continue
        out.append(token)
    return out


def points(sentence: str, toks: list[Token]) -> list[Point]:
    """Group adjacent point tokens (only filler between them) into points."""
    out: list[Point] = []
    for token in toks:
        if token.kind not in _POINT_KINDS:
            continue
        last = out[-1] if out else None
        if last is not None and _FILLER.match(sentence[last.end:token.start]) \
                and not any(t.kind == token.kind for t in last.tokens):
            last.tokens.append(token)
            last.end = token.end
        else:
            out.append(Point([token], token.start, token.end))
    return out


_AFTERNOON = {"下午", "傍晚", "晚上", "晚间", "晚", "夜间", "夜里"}  # "N点" means N+12
_LATE_NIGHT = {"深夜", "半夜"}  # 11点 is 23:00, 1点 is 01:00


def _cn_number(text: str) -> int:
    """Given a Chinese numeral up to 二十四 (十, 十一, 二十三, 两), return its value."""
    if "十" not in text:
        return _CN_NUM.get(text, 0)
    tens, _, ones = text.partition("十")
    return (_CN_NUM.get(tens, 0) if tens else 1) * 10 + (_CN_NUM.get(ones, 0) if ones else 0)


def _hour(token: Token, period: str | None) -> tuple[int, int] | None:
    """Given a time token and the period word before it (晚上, 凌晨 …), return (hour, minute);
    hour 24 is the midnight that ends a day. None for an impossible time."""
    g = token.groups
    if g.get("word"):
        return (12, 0) if (g["word"] or "").lower() == "noon" else (24, 0)
    hour = _cn_number(g["cn"] or "") if g.get("cn") else int(g["h"] or 0)
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


@dataclass
class _Context:
    year: int
    day: date | None = None


def _resolve(point: Point, ctx: _Context, after: Point | None) -> Point:
    """Fill in the point's day and clock from its tokens and the context (earlier days and years)."""
    kinds = {t.kind: t for t in point.tokens}
    period = kinds["period"].text if "period" in kinds else None
    if period is None and after is not None and not kinds.keys() & _DAY_KINDS:
        period = after.period  # "晚上8点至10点": the end is in the evening too
    point.period = period
    day = None
    year = ctx.year
    if "nextyear" in kinds:
        year += 1
    if "date" in kinds:
        g = kinds["date"].groups
        month = _MONTHS[(g.get("mon") or "")[:3].lower()] if g.get("mon") else int(g.get("m") or 0)
        day = _date(int(g.get("y") or year), month, int(g["d"] or 0))
        if not g.get("y") and day is not None and after is not None and after.day is not None and day < after.day:
            day = _date(year + 1, day.month, day.day)  # "Dec 30, 2024 … until Jan 2": the next year
        if g.get("dname"):
            point.weekday = _EN_DAYS[(g.get("dname") or "")[:3].lower()]
    elif "monthday" in kinds:
        g = kinds["monthday"].groups
        day = _date(year, int(g["m"] or 0), int(g["d"] or 0))
        if day is not None and after is not None and after.day is not None and day < after.day \
                and "nextyear" not in kinds:
            day = _date(year + 1, day.month, day.day)  # a range across the year end
    elif "dayonly" in kinds and ((after is not None and after.day is not None) or ctx.day is not None):
        # "10月15日至16日": the month (and year) of the day before; past it, the next month.
        base = after.day if after is not None and after.day is not None else ctx.day
        assert base is not None  # noqa: S101 - checked in the condition above
        wanted = int(kinds["dayonly"].groups["d"] or 0)
        day = _date(base.year, base.month, wanted)
        if day is not None and day < base:
            nxt = (base.replace(day=1) + timedelta(days=32)).replace(day=1)
            day = _date(nxt.year, nxt.month, wanted)
    elif "nextday" in kinds:
        base = after.day if after is not None and after.day else ctx.day
        day = base + timedelta(days=1) if base else None
    elif "sameday" in kinds:
        day = after.day if after is not None and after.day else ctx.day
    point.dated = day is not None
    if day is None and after is not None and after.day is not None and "time" in kinds:
        day = after.day  # "晚上10点至凌晨6点": the end's day is the start's unless it says otherwise
    point.day = day
    if "weekday" in kinds:
        point.weekday = _WEEKDAY_CN[kinds["weekday"].groups["wd"] or "日"]
    if "time" in kinds:
        point.clock = _hour(kinds["time"], period)
    if point.day is not None:
        ctx.day = point.day
        ctx.year = point.day.year
    return point


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _instant(point: Point, tz: ZoneInfo, end: bool) -> datetime | None:
    if point.day is None:
        return None
    if point.clock is None:
        day = point.day + timedelta(days=1) if end else point.day
        return resolve(datetime.combine(day, time()), tz)
    hour, minute = point.clock
    extra = timedelta(days=1) if hour == 24 else timedelta(0)
    return resolve(datetime.combine(point.day, time(hour % 24, minute)) + extra, tz)


def _weekday_warning(point: Point, sentence: str) -> str | None:
    if point.weekday is None or point.day is None or point.weekday == point.day.weekday():
        return None
    names = "一二三四五六日"
    return (f"weekday does not match the date: {point.day:%Y-%m-%d} is a 周{names[point.day.weekday()]}, "
            f"the notice says 周{names[point.weekday]}: {sentence!r}")


def _finish_after(point: Point, toks: list[Token], kind: str, reach: int = 12) -> bool:
    return any(t.kind == kind and point.end <= t.start <= point.end + reach for t in toks)


def _begin_near(point: Point, toks: list[Token]) -> bool:
    return any(t.kind == "begin" and (point.start - 8 <= t.end <= point.start or point.end <= t.start <= point.end + 4)
               for t in toks)


def _deadline(sentence: str, point: Point) -> bool:
    """A point that is a deadline ("请于…前", "before March 1") is not the edge of a window."""
    return bool(re.match(r"\s*(?:之前|以前|前(?!后))", sentence[point.end:])
                or re.search(r"(?:请于|请在|\bbefore|\bby|no later than)\s*$", sentence[:point.start], re.I))


def read(text: str, tz: ZoneInfo, default_year: int, system: str | None = None) -> Reading:
    """Given a notice's text, its zone and the year to assume where it names none, return the
    windows it states (each once, with the sentences that state it) and warnings."""
    text = normalise(text)
    if system is None:
        first = next((line.strip() for line in text.splitlines() if line.strip()), "")
        found = _SYSTEM.match(first)
        system = found.group("system").strip() if found else None
    reading = Reading(system)
    ctx = _Context(default_year)
    starts: list[tuple[datetime, bool, str]] = []
    ranges: list[Window] = []
    for sentence in sentences(text):
        toks = tokens(sentence)
        pts = points(sentence, toks)
        if not pts:
            continue
        previous: Point | None = None
        for point in pts:
            _resolve(point, ctx, previous if previous is not None and previous.day is not None else None)
            previous = point
        if not _OUTAGE.search(sentence) or _NOT_A_WINDOW.search(sentence):
            continue
        for point in pts:
            warning = _weekday_warning(point, sentence)
            if warning:
                reading.warnings.append(warning)
        used: set[int] = set()
        for i in range(len(pts) - 1):
            a, b = pts[i], pts[i + 1]
            between = sentence[a.end:b.start]
            joined = any(t.kind == "connector" and a.end <= t.start and t.end <= b.start for t in toks) \
                and len(between) <= 12
            begun = _begin_near(a, toks) and _finish_after(b, toks, "finish", 16)
            if not (joined or begun) or a.day is None or _deadline(sentence, b):
                continue
            if b.day is None:
                continue
            if not b.dated and b.clock is not None and a.clock is not None and b.clock <= a.clock \
                    and b.day == a.day:
                b.day = a.day + timedelta(days=1)
                reading.warnings.append(f"read {sentence[b.start:b.end]!r} as the next day (it is not after "
                                        f"the start); check: {sentence!r}")
            all_day = a.clock is None and b.clock is None
            start, end = _instant(a, tz, False), _instant(b, tz, True)
            if start is None or end is None:
                continue
            if end <= start:
                reading.warnings.append(f"a range whose end is not after its start, left out: {sentence!r}")
                used.update((i, i + 1))
                continue
            ranges.append(Window(start, end, all_day, (sentence,)))
            used.update((i, i + 1))
            if not a.dated and i > 0 and pts[i - 1].day == a.day:
                used.add(i - 1)  # "March 2, 2024 from 9 pm to 11 pm": the date belongs to this range
        for i, point in enumerate(pts):
            if i in used or point.day is None or _deadline(sentence, point):
                continue
            if _finish_after(point, toks, "finish", 8):
                moment = _instant(point, tz, True) if point.clock is None else _instant(point, tz, False)
                if moment is not None:
                    starts.append((moment, False, sentence))
            elif _begin_near(point, toks) or re.search(r"停机|暂停|中断|maintenance|downtime|outage",
                                                                 sentence[point.end:point.end + 16], re.I):
                moment = _instant(point, tz, False)
                if moment is not None:
                    starts.append((moment, True, sentence))
    reading.windows = _merge(ranges, starts, reading.warnings)
    if len(reading.windows) > 1:
        listed = "; ".join(f"({n}) {_span(w)} from {w.sources[0]!r}" for n, w in enumerate(reading.windows, 1))
        reading.warnings.insert(0, f"the notice gives {len(reading.windows)} different schedules for "
                                   f"{system or 'the system'}: {listed}")
    return reading


def _merge(ranges: list[Window], moments: list[tuple[datetime, bool, str]], warnings: list[str]) -> list[Window]:
    """One window per distinct (start, end); a lone "restored at" or "stops at" sentence that
    matches a window's end or start joins it; a lone stop followed by a lone restore pairs up."""
    out: list[Window] = []
    for window in ranges:
        same = next((i for i, w in enumerate(out) if (w.start, w.end) == (window.start, window.end)), None)
        if same is None:
            out.append(window)
        else:
            kept = out[same]
            out[same] = replace(kept, all_day=kept.all_day and window.all_day,
                                sources=kept.sources + tuple(s for s in window.sources if s not in kept.sources))
    pending_start: tuple[datetime, str] | None = None
    for moment, is_start, sentence in moments:
        match = next((i for i, w in enumerate(out) if (w.start if is_start else w.end) == moment), None)
        if match is not None:
            kept = out[match]
            if sentence not in kept.sources:
                out[match] = replace(kept, sources=(*kept.sources, sentence))
        elif is_start:
            pending_start = (moment, sentence)
        elif pending_start is not None and pending_start[0] < moment:
            out.append(Window(pending_start[0], moment, False, (pending_start[1], sentence)))
            pending_start = None
        else:
            warnings.append(f"a restore time with no stop to pair it with: {sentence!r}")
    if pending_start is not None:
        warnings.append(f"a stop time with no restore time: {pending_start[1]!r}")
    return out


def _span(window: Window) -> str:
    if window.all_day:
        return f"{window.start:%Y-%m-%d} to {window.end - timedelta(days=1):%Y-%m-%d} (all day)"
    return f"{window.start:%Y-%m-%d %H:%M} to {window.end:%Y-%m-%d %H:%M}"


def slug(system: str | None, prefix: str | None) -> str:
    """Given the system name (and an optional chosen prefix), return an ASCII id prefix."""
    if prefix:
        base = prefix
    else:
        base = re.sub(r"[^a-z0-9]+", "-", unicodedata.normalize("NFKD", system or "").lower()).strip("-")
    return base[:40] or "outage"


def to_config(reading: Reading, prefix: str | None = None) -> list[dict[str, object]]:
    """Given a reading, return the ``windows:`` items that ``check`` accepts (status tentative)."""
    base = slug(reading.system, prefix)
    items: list[dict[str, object]] = []
    ids: set[str] = set()
    for window in reading.windows:
        ident = f"{base}-{window.start:%Y-%m-%d}"
        if ident in ids:
            ident = f"{ident}-{window.start:%H%M}"
        n = 2
        while ident in ids:
            ident, n = f"{base}-{window.start:%Y-%m-%d}-{n}", n + 1
        ids.add(ident)
        if window.all_day:
            start, end = f"{window.start:%Y-%m-%d}", f"{window.end - timedelta(days=1):%Y-%m-%d}"
        else:
            start, end = _with_offset(window.start), _end_text(window.end)
        items.append({"id": ident, "system": reading.system or "(set the system)", "start": start, "end": end,
                      "status": "tentative", "source": " / ".join(window.sources)[:4900]})
    return items


def _with_offset(moment: datetime) -> str:
    """Return ``2023-10-15 22:00+08:00``; a local midnight that ends a day as ``24:00`` of that day."""
    offset = moment.strftime("%z")
    offset = f"{offset[:-2]}:{offset[-2:]}"
    return f"{moment:%Y-%m-%d %H:%M}{offset}"


def _end_text(moment: datetime) -> str:
    if moment.hour == 0 and moment.minute == 0:
        day_before = moment - timedelta(days=1)
        return f"{day_before:%Y-%m-%d} 24:00{_with_offset(moment)[-6:]}"
    return _with_offset(moment)

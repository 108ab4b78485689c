"""A notice cut into sentences, each with the headings, label or table header that govern it. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .text import Prepared
from .tokens import tokens

_LEVELS = [
    (1, re.compile(r"^(?:[一二三四五六七八九十]+\s*[、.]|第[一二三四五六七八九十\d]+[章节部分条]|#+\s|[IVX]+\.\s)")),
    (2, re.compile(r"^\(\s*[一二三四五六七八九十]+\s*\)")),
    (4, re.compile(r"^\d+\.\d+(?:\.\d+)*")),
    (3, re.compile(r"^\d+\s*[.、)](?!\d)")),
    (5, re.compile(r"^\(\s*\d+\s*\)")),
]
_DATED = {"date", "monthday", "dayonly", "relday", "time", "nextday", "sameday"}
_SYSTEM_COLUMN = re.compile(r"系统|平台|业务|产品|应用|名称|服务|system|service|product|component|application|name",
                            re.IGNORECASE)
_TIME_COLUMN = re.compile(r"时间|日期|时段|开始|结束|time|date|window|start|end", re.IGNORECASE)
_ENDERS = re.compile(r"[。！？!?;；]")
_HARD = re.compile(r"[。！？!?]\s*$")
_EN_STOP = re.compile(r"\.(?=\s+[A-Z][a-z])")
_NO_STOP_BEFORE = re.compile(r"(?:\b[ap]\.m|\b(?:Mr|Dr|St|No|vs|etc|e\.g|i\.e|approx|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|"
                             r"Sept|Oct|Nov|Dec|Mon|Tue|Tues|Wed|Thu|Thur|Thurs|Fri|Sat|Sun|[A-Z]))$")
_ZONE_NEXT = re.compile(r"\s+(?:Eastern|Pacific|Central|Mountain|Beijing|China|Coordinated|Greenwich|British|Japan|"
                        r"Singapore|Hong)\b")


@dataclass(frozen=True)
class Sentence:
    """A sentence (or a table row): normalised ``text``, the raw ``source``, and what governs it."""

    text: str
    source: str
    index: int
    section: int  # index of the nearest heading above it, -1 for none
    context: str  # the headings above it (not the title) and the table header, normalised
    row_system: str | None  # a table row's system column
    row: bool
    whole: str = ""  # the full sentence when this is a part of it cut at ；
    cut: bool = False  # a part of a sentence longer than MAX_SENTENCE


@dataclass
class _Heading:
    level: int
    text: str
    line: int


def heading_level(line: str) -> int | None:
    """Given a stripped line, return its heading level (1 is the top), or None if it is not a heading."""
    if not line or len(line) > 40 or any(t.kind in _DATED for t in tokens(line)) or re.search(r"[:：]\s*\S", line):
        return None  # a label with its value ("Expected duration: 60 minutes") is not a heading
    for level, pattern in _LEVELS:
        if pattern.match(line):
            return level
    if line.endswith((":", "：")) or (len(line) <= 30 and not re.search(r"[。.!?；;，,、]", line)):
        return 6
    return None


def cells(line: str) -> list[str] | None:
    """Given a line, return its table cells (split at | or tabs), or None if it is not a table row."""
    body = line.strip().strip("|") if "|" in line else line.strip()
    parts = [c.strip() for c in re.split(r"\||\t", body)]
    return parts if len(parts) >= 2 else None


MAX_SENTENCE = 400  # characters: a longer "sentence" (a list of 1,000 dates) is read in parts, in linear time
_CLAUSE = re.compile(r"[,，、]")


def _stops(line: str) -> list[int]:
    """Return the offsets where the line's sentences end (after Chinese enders and English full stops)."""
    out = [m.end() for m in _ENDERS.finditer(line)]
    for match in _EN_STOP.finditer(line):
        if not _NO_STOP_BEFORE.search(line[max(0, match.start() - 12):match.start()]) \
                and not _ZONE_NEXT.match(line, match.end()):
            out.append(match.end())
    return [*sorted(set(out)), len(line)]


def _bounded(line: str, begin: int, stop: int) -> list[tuple[int, int, bool]]:
    """Cut a sentence longer than MAX_SENTENCE into parts at most that long, at its last comma or 、
    before the limit (else at the limit); each part says whether it was cut."""
    parts: list[tuple[int, int, bool]] = []
    while stop - begin > MAX_SENTENCE:
        limit = begin + MAX_SENTENCE
        cut = max((m.end() for m in _CLAUSE.finditer(line, begin + MAX_SENTENCE // 2, limit)), default=limit)
        parts.append((begin, cut, True))
        begin = cut
    return [*parts, (begin, stop, bool(parts))]


def _table_header(row: list[str]) -> int | None:
    """Given a table's header cells, return the index of its system column, if any."""
    return next((i for i, c in enumerate(row) if _SYSTEM_COLUMN.search(c) and not _TIME_COLUMN.search(c)), None)


@dataclass
class _Table:
    header: list[str] | None = None
    system: int | None = None


def _row(line: str, table: _Table) -> tuple[str, str | None] | None:
    """Given a table line, return its text and its system cell; None for a header or separator row."""
    row = cells(line)
    if row is None or all(re.fullmatch(r"[-:=\s]*", c) for c in row):
        return None
    if table.header is None and not any(t.kind in _DATED for t in tokens(line)):
        table.header, table.system = row, _table_header(row)
        return None
    system = row[table.system] if table.system is not None and table.system < len(row) else None
    return " | ".join(row), (system or None)


def split(prepared: Prepared) -> tuple[str, list[Sentence]]:
    """Given prepared text, return its title (first line) and its sentences in reading order."""
    title = ""
    stack: list[_Heading] = []
    table = _Table()
    out: list[Sentence] = []
    offset = 0
    for number, line in enumerate(prepared.text.split("\n")):
        start, offset = offset, offset + len(line) + 1
        stripped = line.strip()
        lead = start + len(line) - len(line.lstrip())
        raw = prepared.original(lead, lead + len(stripped)).strip()
        context = " / ".join(h.text for h in stack)
        section = stack[-1].line if stack else -1
        if not stripped:
            table = _Table()
            continue
        if cells(stripped) is not None and title:
            found = _row(stripped, table)
            if found is not None:
                where = f"{context} / {' | '.join(table.header or [])}"
                out.append(Sentence(found[0], raw, len(out), section, where, found[1], True))
            continue
        table = _Table()
        level = heading_level(stripped) if title else None
        if not title:
            title = stripped
        elif level is not None:
            while stack and stack[-1].level >= level:
                stack.pop()
            stack.append(_Heading(level, stripped, number))
            continue
        out.extend(_sentences(prepared, line, start, len(out), section, context))
    return title, out


def _sentences(prepared: Prepared, line: str, start: int, first: int, section: int, context: str) -> list[Sentence]:
    """Return the sentences of a line of prose (parts cut at ； know the whole sentence, up to a bound)."""
    parts: list[tuple[int, int, bool]] = []
    begin = 0
    for stop in _stops(line):
        if line[begin:stop].strip():
            parts.extend(_bounded(line, begin, stop))
        begin = stop
    hard = [bool(_HARD.search(line[max(b, e - 16):e])) for b, e, _ in parts]
    ends: list[int] = []  # where the hard sentence holding each part ends
    following = len(line)
    for (_, stop, _), is_hard in zip(reversed(parts), reversed(hard), strict=True):
        following = stop if is_hard else following
        ends.append(following)
    ends.reverse()
    out: list[Sentence] = []
    whole_start = 0
    for n, (begin, stop, cut) in enumerate(parts):
        if n and hard[n - 1]:
            whole_start = begin
        raw = prepared.original(start + begin, start + stop).strip()
        whole = line[whole_start:min(ends[n], whole_start + 2 * MAX_SENTENCE)].strip()
        out.append(Sentence(line[begin:stop].strip(), raw, first + len(out), section, context, None, False,
                            whole, cut))
    return out

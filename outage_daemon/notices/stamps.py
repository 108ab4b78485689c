"""The notice's own date: a publication stamp (发布时间：…, Posted: …) or a date line standing alone. Pure."""

from __future__ import annotations

import re
from datetime import date

from . import cues
from .points import Context, Point, group, resolve
from .segment import Sentence
from .tokens import tokens

_STAMP = re.compile(r"发布时间|发布日期|发布于|发文日期|印发日期|更新时间|日期\s*[:：]|\b(?:posted|published|updated|"
                    r"date|sent|issued)\b\s*(?:on)?\s*[:：]?", re.IGNORECASE)


def is_stamp(s: Sentence, pts: list[Point]) -> bool:
    """Whether the sentence is a publication stamp: labelled, a date alone, or a date with seconds."""
    if len(pts) != 1 or pts[0].day is None or not pts[0].dated:
        return False
    if _STAMP.search(s.text[:pts[0].start]):
        return True
    rest = (s.text[:pts[0].start] + s.text[pts[0].end:]).strip(" ()（）")
    return not rest or (bool(re.search(r"\d:\d\d:\d\d", s.text)) and not cues.OUTAGE.search(s.text))


# In an email, these label the headers of a quoted earlier message, not the notice's date.
_QUOTED_HEADER = re.compile(r"^\s*(?:sent|date|发送时间|时间|日期)\s*[:：]", re.IGNORECASE)


def publication_date(sentences: list[Sentence], year: int, email: bool = False) -> date | None:
    """Return the notice's own publication date: the first labelled stamp, else the last date standing
    alone; in an ``email``, a quoted message's "Sent:"/"Date:" line is not one."""
    labelled: list[date] = []
    alone: list[date] = []
    for s in sentences:
        if len(s.text) > 120:  # a stamp is a short line
            continue
        toks = tokens(s.text)
        pts = group(s.text, toks, s.row)
        dated = pts[0].kind("date") if len(pts) == 1 else None
        if dated is None or not dated.groups.get("y"):
            continue
        if email and _QUOTED_HEADER.match(s.text):
            continue
        point = resolve(pts[0], Context(year, None), None, None, False)
        if point.day is not None and is_stamp(s, [point]):
            (labelled if _STAMP.search(s.text[:point.start]) else alone).append(point.day)
    return labelled[0] if labelled else (alone[-1] if alone else None)

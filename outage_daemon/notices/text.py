"""A notice's text made comparable (NFKC, simplified characters, digits for Chinese numerals) with a map
back to the original. Pure."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from .numerals import digits
from .traditional import TABLE


@dataclass(frozen=True)
class Prepared:
    """The normalised text, and for each of its characters the index of the raw character it came from."""

    raw: str
    text: str
    origin: tuple[int, ...]

    def original(self, start: int, end: int) -> str:
        """Given a span of the normalised text, return the raw text it came from (full-width kept)."""
        if end <= start:
            return ""
        return self.raw[self.origin[start]:self.origin[end - 1] + 1]


def _char(ch: str) -> str:
    """Given one raw character, return its comparable form."""
    code = ord(ch)
    if 0x2460 <= code <= 0x2473:  # ① … ⑳: list markers, not digits glued to a date
        return f"({code - 0x245F}) "
    if ch in "\u200b\u200c\u200d\ufeff\xad":
        return ""
    return unicodedata.normalize("NFKC", ch).translate(TABLE)


def prepare(raw: str) -> Prepared:
    """Given raw notice text, return it normalised (NFKC, newlines, Chinese numerals as digits)."""
    chars: list[str] = []
    origin: list[int] = []
    for index, ch in enumerate(raw):
        if ch == "\r":
            if raw[index + 1:index + 2] == "\n":
                continue
            ch = "\n"
        form = _char(ch)
        chars.append(form)
        origin.extend([index] * len(form))
    flat = "".join(chars)
    converted, back = digits(flat)
    return Prepared(raw, converted, tuple(origin[i] for i in back))

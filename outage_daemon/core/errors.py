"""Where a config value was written, and the problems found there."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Loc:
    """A place in a config file: ``file``, 1-based ``line``, the key path (``windows[2].end``) and the
    1-based ``column`` (0 when unknown)."""

    file: str
    line: int
    path: str
    column: int = 0


@dataclass(frozen=True)
class Problem:
    """One error or warning, printed as ``FILE:LINE: path: message``; ``hint`` says how to fix it."""

    loc: Loc
    message: str
    hint: str | None = None
    quote: bool = True  # False: never show the file's lines (a file that is not a config may hold secrets)

    def __str__(self) -> str:
        if self.loc.line == 0:  # the file as a whole (unreadable, too large)
            return f"{self.loc.file}: {self.message}"
        return f"{self.loc.file}:{self.loc.line}: {self.loc.path}: {self.message}"

    def compiler(self, source: str | Sequence[str] | None, warning: bool = False) -> str:
        """Given the text of the problem's file or its lines (or None), return it compiler-style:
        ``FILE:LINE:COLUMN: path: message``, then the source line with a caret, then the hint."""
        what = f"warning: {self.message}" if warning else self.message
        if self.loc.line == 0:
            head = f"{self.loc.file}: {what}"
        else:
            column = f"{self.loc.column}:" if self.loc.column else ""
            head = f"{self.loc.file}:{self.loc.line}:{column} {self.loc.path}: {what}"
        lines = [head]
        shown = source.splitlines() if isinstance(source, str) else source or ()
        if self.quote and 0 < self.loc.line <= len(shown) and shown[self.loc.line - 1].strip():
            text = shown[self.loc.line - 1].replace("\t", " ")
            number = str(self.loc.line)
            lines.append(f" {number} | {text}")
            if self.loc.column:
                lines.append(f" {' ' * len(number)} | {caret_pad(text, self.loc.column)}^")
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)


def caret_pad(text: str, column: int) -> str:
    """Given a source line and a 1-based column, return the blanks that put a caret under that
    column in a terminal (wide CJK characters take two cells)."""
    cells = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text[: column - 1])
    return " " * cells


class ConfigError(Exception):
    """The configuration is invalid; ``problems`` holds every error found, in file order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.loc.file, p.loc.line))
        super().__init__("\n".join(map(str, self.problems)))

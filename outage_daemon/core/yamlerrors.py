"""YAML syntax errors as a person would explain them: the line that holds the mistake, and a hint.

PyYAML (and libyaml, in other words) reports where the parser gave up, which is often the line
after the mistake: a full-width colon ``：`` or a missing space after ``:`` makes a key part of a
text that runs on until the next line. :func:`explain` looks back for those mistakes and names the
common causes (an unquoted colon, a tab, an indentation that does not line up, an unclosed quote
or bracket). Pure: the file's text and the parser's marks come in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from outage_daemon.core.errors import Loc, Problem

_FULL_WIDTH_KEY = re.compile(r"^\s*(?:-\s+)?[^\s#'\"：:]+?\s*(：)")
_NO_SPACE_KEY = re.compile(r"^\s*(?:-\s+)?[A-Za-z_][A-Za-z0-9_-]*(:)[^\s:/]")
_COLON_IN_VALUE = re.compile(r"^\s*(?:-\s+)?[^\s#'\"]+:\s+[^'\"\[{].*?:(?:\s|$)")


@dataclass(frozen=True)
class Mark:
    """Where the parser was: 0-based ``line`` and ``column`` (PyYAML's marks)."""

    line: int
    column: int


def explain(file: str, text: str, problem: str, at: Mark, context: str | None = None,
            opened: Mark | None = None) -> Problem:
    """Given a file's text and a YAML parser error (its problem, where, and the context it was in,
    which ``opened`` at some place), return the problem blamed on the mistake's line, with a hint."""
    lines = text.splitlines()
    found = _look_back(file, lines, at, opened)
    if found is not None:
        return found
    line = lines[at.line] if at.line < len(lines) else ""
    here = Loc(file, at.line + 1, "(yaml)", at.column + 1)
    char = line[at.column] if at.column < len(line) else ""
    if "mapping values are not allowed" in problem:
        if _COLON_IN_VALUE.match(line):
            return Problem(here, "a value contains ': ' but is not quoted",
                           f"quote the whole value: {_quoted(line)}")
        return Problem(here, "this line is indented more than the key it belongs to",
                       "indent every key of one mapping to the same column as the keys above it")
    if "tab" in problem or char == "\t":
        return Problem(here, "a tab in the indentation", "YAML indents with spaces only: replace the tab by spaces")
    if "cannot start any token" in problem:
        return Problem(here, f"a value cannot start with {char!r}",
                       f"put the value in quotes: \"{line[at.column:].strip()}\"")
    if "expected <block end>" in problem or "did not find expected key" in problem or "'-' indicator" in problem:
        return Problem(here, "this line's indentation does not line up with the lines above",
                       _indent_hint(lines, opened))
    if "could not find expected ':'" in problem:
        return Problem(Loc(file, (opened or at).line + 1, "(yaml)", (opened or at).column + 1),
                       "a key without ':'", "write `key: value` (a colon and a space), or quote a text that runs on")
    if "end of stream" in problem and context and "quoted" in context and opened is not None:
        return Problem(Loc(file, opened.line + 1, "(yaml)", opened.column + 1), "this quote is never closed",
                       "close it at the end of the value with the same quote mark")
    if context and "flow" in context and opened is not None:
        bracket = "[" if "sequence" in context else "{"
        return Problem(here, f"{context}: the '{bracket}' at line {opened.line + 1}, column {opened.column + 1} "
                       "is never closed", f"close it with '{']' if bracket == '[' else '}'}', or quote an entry "
                       "that contains ',', ':', ']' or '}'")
    if "undefined alias" in problem:
        return Problem(here, "'*' refers to an anchor that is not defined",
                       "quote a value that starts with '*', or define the anchor with '&name' first")
    return Problem(here, " ".join(filter(None, [context, problem])) or "invalid YAML", None)


def _look_back(file: str, lines: list[str], at: Mark, opened: Mark | None) -> Problem | None:
    """Return the problem of a line at or shortly before the error that holds a full-width colon
    after a key, or a key glued to its value (``id:a``); None when there is none."""
    first = max(0, min(at.line, opened.line if opened else at.line) - 3)
    for number in range(min(at.line, len(lines) - 1), first - 1, -1):
        line = lines[number]
        wide = _FULL_WIDTH_KEY.match(line)
        if wide:
            return Problem(Loc(file, number + 1, "(yaml)", wide.start(1) + 1),
                           "a full-width colon '：' after a key",
                           "type the ASCII colon ':' and a space (switch the input method to half-width)")
        glued = _NO_SPACE_KEY.match(line)
        if glued and number < at.line:
            return Problem(Loc(file, number + 1, "(yaml)", glued.start(1) + 1),
                           "a colon without a space after it", "YAML needs a space after the colon: `key: value`")
    return None


def _indent_hint(lines: list[str], opened: Mark | None) -> str:
    """Return a hint naming where the enclosing mapping or list starts."""
    if opened is None or opened.line >= len(lines):
        return "keys of one mapping, and items of one list, start in the same column"
    return (f"the block this line belongs to starts at line {opened.line + 1}, column {opened.column + 1}: "
            "keys of one mapping, and items of one list, start in the same column")


def _quoted(line: str) -> str:
    """Given a ``key: value`` line, return it with the value in double quotes."""
    key, _, value = line.strip().partition(": ")
    escaped = value.strip().replace("\\", "\\\\").replace('"', '\\"')
    return f'{key}: "{escaped}"'

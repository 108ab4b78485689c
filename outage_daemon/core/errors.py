"""Where a config value was written, and the problems found there."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Loc:
    """A place in a config file: ``file``, 1-based ``line``, and the key path (``windows[2].end``)."""

    file: str
    line: int
    path: str


@dataclass(frozen=True)
class Problem:
    """One error or warning, printed as ``FILE:LINE: path: message``."""

    loc: Loc
    message: str

    def __str__(self) -> str:
        if self.loc.line == 0:  # the file as a whole (unreadable, too large)
            return f"{self.loc.file}: {self.message}"
        return f"{self.loc.file}:{self.loc.line}: {self.loc.path}: {self.message}"


class ConfigError(Exception):
    """The configuration is invalid; ``problems`` holds every error found, in file order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.loc.file, p.loc.line))
        super().__init__("\n".join(map(str, self.problems)))

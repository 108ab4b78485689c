"""Read a config file and its includes: safe YAML with line numbers, then the schema, then the model.

The only module of the core that touches files, and only the config's own.
"""

from __future__ import annotations

import dataclasses
import gc
import glob
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import yaml

from outage_daemon.core.config import build
from outage_daemon.core.errors import ConfigError, Loc, Problem
from outage_daemon.core.model import Config
from outage_daemon.core.schema import Item, Walk, schema, validate
from outage_daemon.core.yamlerrors import Mark, explain

try:  # the C loader is several times faster; compose-only, so still safe
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_BYTES = 64 * 1024 * 1024
_INCLUDED_KEYS = ("windows", "audiences", "webhooks")


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: a load allocates a large tree without cycles, and the
    collector's full passes over it made loading grow faster than the file (2.5 s instead of 1 s
    for 10,000 windows)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()  # the new tree joins the frozen heap: no collector pass ever walks it (see daemon.serve_feeds)
            gc.enable()


def load(path: str) -> Config:
    """Given the main config file's path, return the Config; raise ConfigError with every problem."""
    with _collector_paused():
        return _load(path)


def _load(path: str) -> Config:
    problems: list[Problem] = []
    main = _read_config(path, schema(), problems, required=True)
    included: list[Item] = []
    sources = [path]
    if main is not None:
        included, sources = _includes(main, path, problems)
    if main is None:
        raise ConfigError(problems)
    try:
        return dataclasses.replace(build(main, included, problems), digest=digest(sources))
    finally:
        _release([main, *included])


def _release(items: list[Item]) -> None:
    """Given checked files' items, free them one entry of each top-level list or mapping at a time.
    Freed whole when the load returns, the items of 10,000 windows went in one deallocation that held
    the GIL for 50-70 ms: every HTTP request waited for it."""
    for item in items:
        for child in item.value.values() if isinstance(item.value, dict) else ():
            if isinstance(child.value, dict):
                entries = list(child.value.values())
                child.value.clear()  # the entries live on in the list only: freed one by one below
                free_gradually(entries)
            elif isinstance(child.value, list):
                free_gradually(child.value)


def free_gradually(entries: list[Any]) -> None:
    """Empty ``entries`` one at a time, so that freeing a large structure lets other threads (the
    event loop) take the GIL between two of them, not only once it is all gone."""
    while entries:
        entries.pop()


def digest(paths: list[str]) -> str:
    """Given the files a config was read from (the main one first), return the SHA-256 of their
    names (relative to the main file) and contents: equal on every replica with the same files."""
    base = os.path.dirname(paths[0])
    total = hashlib.sha256()
    for name in paths:
        with open(name, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)  # as much as was read to load it
        total.update(os.path.relpath(name, base).encode() + b"\0" + len(data).to_bytes(8, "big") + data)
    return total.hexdigest()


def _includes(main: Item, path: str, problems: list[Problem]) -> tuple[list[Item], list[str]]:
    """Given the main file's items, return the checked items of the files it includes and every file
    read (the main one first): only files inside its folder unless ``include_absolute: true``; a
    file that is not a config is named in the problems, never quoted."""
    spec, included, sources = _include_spec(), [], [path]
    base = os.path.dirname(path)
    flag = main.get("include_absolute")
    anywhere = flag is not None and flag.value is True
    for pattern in main.entries("include"):
        text = str(pattern.value)
        if not text.strip():
            problems.append(Problem(pattern.loc, "an empty pattern names no file"))
            continue
        if not anywhere and (os.path.isabs(text) or ".." in text.replace("\\", "/").split("/")):
            problems.append(Problem(pattern.loc, f"{text!r} is outside the config's folder "
                                                 "(set include_absolute: true to allow it)"))
            continue
        found = sorted(glob.glob(os.path.join(base, text)))
        files = [f for f in found if os.path.isfile(f)]
        if not files and not glob.has_magic(text):
            what = "is a folder, not a file" if found else "no such file"
            problems.append(Problem(pattern.loc, f"{what}: {text!r}"))
        for name in files:
            if not anywhere and not _inside(name, base):
                problems.append(Problem(pattern.loc, f"{name} leads outside the config's folder "
                                                     "(set include_absolute: true to allow it)"))
                continue
            item = _read_config(name, spec, problems)
            if item is not None:
                included.append(item)
                sources.append(name)
    return included, sources


def _inside(name: str, base: str) -> bool:
    """Given a file and a folder, return whether the file (symbolic links followed) lies in it."""
    real, folder = os.path.realpath(name), os.path.realpath(base or ".")
    return os.path.commonpath([real, folder]) == folder


def _read_config(name: str, spec: dict[str, Any], problems: list[Problem], required: bool = False) -> Item | None:
    """Read a config file (the main one if ``required``, else an included one); if it is YAML but
    not a config (no mapping, or no key a config has), say so without quoting it: its keys or
    lines may be someone's secrets."""
    mine: list[Problem] = []
    item = read(name, spec, mine, required)
    if item is None and not mine:
        return None  # an empty file adds nothing
    if item is None:  # unreadable, not YAML, empty, or no mapping: where and why; an included file's lines never
        problems.extend(mine if required else (dataclasses.replace(p, quote=False) for p in mine))
        return None
    known = set(schema()["properties"])
    named = {k for k, v in item.value.items() if v.written} if isinstance(item.value, dict) else set()
    named |= {p.loc.path.split(".")[0].split("[")[0] for p in mine}
    if named & known or not mine:
        problems.extend(mine)
        return item
    lines = sorted({p.loc.line for p in mine if p.loc.line})
    where = f" (line {lines[0]})" if lines else ""
    problems.append(Problem(Loc(name, lines[0] if lines else 0, "(file)"),
                            f"is not a config file{where}; its content is not shown", quote=False))
    return None


def _include_spec() -> dict[str, Any]:
    top = schema()
    return {"type": "object", "properties": {k: top["properties"][k] for k in _INCLUDED_KEYS}}


def read(path: str, spec: dict[str, Any], problems: list[Problem], required: bool) -> Item | None:
    """Given a YAML file and its schema, return its checked items (None if unusable).

    Every problem found, including unreadable files and YAML syntax errors, goes to ``problems``.
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        problems.append(Problem(Loc(path, 0, "(file)"), f"cannot read: {exc.strerror or exc}"))
        return None
    if len(data) > MAX_BYTES:
        problems.append(Problem(Loc(path, 0, "(file)"), "larger than 64 MiB"))
        return None
    node = parse(path, data, problems)
    if node is None:
        if required and not any(p.loc.file == path for p in problems):
            problems.append(Problem(Loc(path, 1, "(top)"), "the file is empty"))
        return None
    walk = Walk(path)
    item = validate(node, spec, walk)
    problems.extend(walk.problems)
    return item


def parse(path: str, data: bytes, problems: list[Problem]) -> yaml.Node | None:
    """Given a file's bytes, return its single YAML document as nodes, or None (problem recorded)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        problems.append(Problem(Loc(path, line, "(file)"), "not valid UTF-8"))
        return None
    try:
        node: yaml.Node | None = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = Mark(mark.line, mark.column) if mark is not None else Mark(0, 0)
        opened = Mark(exc.context_mark.line, exc.context_mark.column) if exc.context_mark is not None else None
        problems.append(explain(path, text, exc.problem or "", at, exc.context, opened))
        return None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow: say on which line
        line = text[: exc.position].count("\n") + 1
        code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
        problems.append(Problem(Loc(path, line, "(yaml)"), f"control character U+{code:04X} is not allowed in YAML"))
        return None
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        problems.append(Problem(Loc(path, 1, "(yaml)"), f"invalid YAML: {exc}"))
        return None
    return node

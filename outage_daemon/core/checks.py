"""Warnings about a valid config: things a sysadmin most likely did not mean. Pure."""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from datetime import datetime, timedelta

from outage_daemon.core.errors import Loc, Problem
from outage_daemon.core.model import Config, Occurrence, Window
from outage_daemon.core.planner import dropped

HORIZON = timedelta(days=366)

# Letters of other scripts that look like Latin ones (the common Cyrillic and Greek homoglyphs).
_LOOKALIKE = str.maketrans("аеорсухіјѕԁԛԝАВЕКМНОРСТХІЈЅαεορτυνχιΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
                           "aeopcyxijsdqwABEKMHOPCTXIJSaeoptuvxiABEZHIKMNOPTYX")


def skeleton(name: str) -> str:
    """Given a name, return what it looks like: NFKC, look-alike letters made Latin, case folded."""
    return unicodedata.normalize("NFKC", name).translate(_LOOKALIKE).casefold()


def confusables(config: Config) -> list[Problem]:
    """Given a config, return a warning for each audience, webhook or window name that looks like
    another one but is spelled differently (``ops`` and Cyrillic ``оps``)."""
    out: list[Problem] = []
    groups = (("audience", list(config.audiences), None), ("webhook", list(config.webhooks), None),
              ("window", [w.id for w in config.windows], {w.id: _loc(w) for w in config.windows}))
    for what, names, locs in groups:
        seen: dict[str, str] = {}
        for name in names:
            other = seen.setdefault(skeleton(name), name)
            if other != name:
                loc = (locs or {}).get(name) or Loc(config.path, 0, f"{what}s")
                out.append(Problem(loc, f"{what} name {name!r} looks like {other!r} but is spelled with "
                                   f"other characters ({name!a}): use one spelling"))
    return out


def _loc(window: Window) -> Loc:
    return window.loc or Loc("?", 0, f"windows[{window.id}]")


def warnings(config: Config, now: datetime) -> list[Problem]:
    """Given a config and the present instant, return its warnings in file order.

    The builder's notes (no timezone, windows longer than check.longest_window, windows that notify
    nobody, addresses without a dotted domain), overlapping windows of one system (within a year
    from ``now``), one system with several differing schedules one of which is tentative, windows entirely in the past,
    ``before_restore`` reminders the user wrote dropped because they would fall before the stop, and ``except:``
    entries that name no occurrence.
    """
    out: list[Problem] = list(config.notes)
    live = [w for w in config.windows if w.status != "cancelled"]
    for window in config.windows:
        for offset in dropped(window) if window.notify and window.notify.restore_written else ():
            out.append(Problem(_loc(window), f"before_restore {offset.text} is not shorter than "
                               "the window: that reminder would come at or before the stop and is dropped"))
        for ex in window.unmatched():
            out.append(Problem(_loc(window), f"except {ex.isoformat(sep=' ') if isinstance(ex, datetime) else ex} "
                               "is not an occurrence of the repeat: it skips nothing (check the date "
                               "and the start time)"))
        last = window.last_end()
        if last is not None and last <= now:
            out.append(Problem(_loc(window), f"window {window.id!r} is entirely in the past "
                               f"(ended {last:%Y-%m-%d %H:%M %Z})"))

    out.extend(confusables(config))
    by_system: dict[str, list[Window]] = defaultdict(list)
    for window in live:
        by_system[window.system].append(window)
    for system, windows in by_system.items():
        out.extend(_overlaps(windows, now))
        one_off = [w for w in windows if w.rule is None]
        if len(one_off) > 1 and any(w.status == "tentative" for w in one_off):
            ids = ", ".join(f"{w.id} ({w.start:%Y-%m-%d %H:%M}–{w.end:%Y-%m-%d %H:%M}, {w.status})"
                            for w in one_off)
            out.append(Problem(_loc(one_off[0]), f"system {system!r} has {len(one_off)} differing "
                               f"schedules: {ids}; if they describe one outage, keep one and "
                               "cancel the others"))
    return sorted(out, key=lambda p: (p.loc.file, p.loc.line, p.message))


def _overlaps(windows: list[Window], now: datetime) -> list[Problem]:
    spans: list[tuple[Occurrence, Window]] = []
    for window in windows:
        lo = window.start if window.rule is None else now
        spans.extend((o, window) for o in window.occurrences(lo, now + HORIZON)[:1000])
    spans.sort(key=lambda s: s[0].start)
    reported: set[tuple[str, str]] = set()
    out = []
    latest: tuple[Occurrence, Window] | None = None
    for occurrence, window in spans:
        if latest is not None and occurrence.start < latest[0].end and latest[1].id != window.id:
            pair = (latest[1].id, window.id)
            if pair not in reported:
                reported.add(pair)
                out.append(Problem(_loc(window), f"window {window.id!r} overlaps "
                                   f"{latest[1].id!r} of the same system "
                                   f"({occurrence.start:%Y-%m-%d %H:%M})"))
        if latest is None or occurrence.end > latest[0].end:
            latest = (occurrence, window)
    return out

"""Contradictions: windows of one system that the notice states as one event, differently. Pure."""

from __future__ import annotations

from . import cues
from .model import FoundWindow, Merged, State


def _distinct(a: Merged, b: Merged, unresolved: bool) -> bool:
    """Whether two windows of one system are evidently different events (not a contradiction)."""
    wa, wb = a.window, b.window
    if wa.start < wb.end and wb.start < wa.end:
        return False  # overlapping: one event stated two ways
    if {s.sentence.index for s in a.stated} & {s.sentence.index for s in b.stated}:
        return True  # one sentence states both ("13日、19日及27日")
    said = [s.sentence for s in a.stated + b.stated]
    if any(cues.ORDINAL.search(x.text) or cues.ORDINAL.search(x.context) for x in said):
        return True
    if unresolved and any(s.role == "new" for s in a.stated + b.stated):
        return False  # "停机时间调整为…" with no old time named: which one holds?
    sections = {x.section for x in said}
    return len(sections) == 1


def contradictions(merged: list[Merged], state: State) -> list[str]:
    """Return one warning per group of windows of one system that the notice states as one event."""
    unresolved = not state.old_days and not any(s.role in ("old", "cancelled") for s in state.stated)
    groups: list[list[int]] = []
    for i in range(len(merged)):
        for j in range(i):
            if merged[i].window.system == merged[j].window.system and not _distinct(merged[i], merged[j], unresolved):
                home = next((g for g in groups if j in g), None)
                if home is None:
                    groups.append([j, i])
                elif i not in home:
                    home.append(i)
    out = []
    for members in groups:
        listed = "; ".join(f"({n}) {span(merged[i].window)} from {merged[i].window.sources[0]!r}"
                           for n, i in enumerate(sorted(members), 1))
        out.append(f"the notice gives {len(members)} different schedules for "
                   f"{merged[members[0]].window.system or 'the system'}: {listed}")
    return out


def span(window: FoundWindow) -> str:
    """Return a window's span for a warning."""
    if window.all_day:
        last = window.end.fromordinal(window.end.toordinal() - 1)
        return f"{window.start:%Y-%m-%d} to {last:%Y-%m-%d} (all day)"
    return f"{window.start:%Y-%m-%d %H:%M} to {window.end:%Y-%m-%d %H:%M}"

"""What the status page and /api/windows show: occurrences around ``now``. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from outage_daemon.core.model import Config, Window
from outage_daemon.formats.text import clean, summary

PAST = timedelta(days=30)
AHEAD = timedelta(days=120)
LIMIT = 50


@dataclass(frozen=True)
class Row:
    window: Window
    start: datetime
    end: datetime
    phase: str  # current | upcoming | past


def rows(config: Config, now: datetime) -> list[Row]:
    """Given the config and ``now``, return the occurrences to show: current ones, up to fifty
    upcoming ones (120 days), and those that ended in the last 30 days (newest first)."""
    found: list[Row] = []
    for window in config.windows:
        if window.status == "cancelled" or not config.is_public(window):
            continue
        for occ in window.occurrences(now - PAST, now + AHEAD)[:LIMIT]:
            phase = "current" if occ.start <= now < occ.end else ("upcoming" if occ.start > now else "past")
            found.append(Row(window, occ.start, occ.end, phase))
    current = sorted((r for r in found if r.phase == "current"), key=lambda r: r.end)
    upcoming = sorted((r for r in found if r.phase == "upcoming"), key=lambda r: r.start)[:LIMIT]
    past = sorted((r for r in found if r.phase == "past"), key=lambda r: r.end, reverse=True)[:LIMIT]
    return current + upcoming + past


def api(config: Config, now: datetime) -> dict[str, object]:
    """Given the config and ``now``, return the /api/windows document."""
    return {
        "now": now.isoformat(),
        "windows": [{
            "id": w.id, "system": clean(w.system), "title": clean(w.title) if w.title else w.title,
            "summary": summary(w, config.language), "status": w.status, "start": w.start.isoformat(),
            "end": w.end.isoformat(), "timezone": w.tz.key, "all_day": w.all_day, "repeat": w.repeat,
            "services": [clean(s) for s in w.services],
        } for w in config.windows if config.is_public(w)],
        "occurrences": [{"window": r.window.id, "start": r.start.isoformat(), "end": r.end.isoformat(),
                         "phase": r.phase} for r in rows(config, now)],
    }

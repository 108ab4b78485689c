"""What /metrics says of each window: whether it is on now, and when its next occurrence starts. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from outage_daemon.core.model import Config

LOOKAHEAD = timedelta(days=400)  # how far a repeat is searched for its next start (a yearly one included)


@dataclass(frozen=True)
class WindowGauge:
    """One window's gauges: ``active`` during an occurrence; ``next_start`` of the next one, if any."""

    window: str
    system: str
    active: bool
    next_start: datetime | None
    ends: datetime | None = None  # the end of the occurrence on now, if one is


def next_change(gauges: list[WindowGauge], now: datetime) -> datetime:
    """Given the gauges at ``now``, return when any of them may change next: an occurrence starts or
    ends (at most a day ahead, so that a repeat beyond the lookahead comes into view)."""
    edges = [t for g in gauges for t in (g.next_start, g.ends) if t is not None]
    return min([*edges, now + timedelta(days=1)])


def window_gauges(config: Config, now: datetime) -> list[WindowGauge]:
    """Given the config and ``now``, return every public window's gauges in config order (a window only
    private audiences see is left out: /metrics is as open as the page); a cancelled window is never
    active and has no next start."""
    out = []
    for window in config.windows:
        if not config.is_public(window):
            continue
        if window.status == "cancelled":
            out.append(WindowGauge(window.id, window.system, False, None))
            continue
        spans = window.occurrences(now, now + LOOKAHEAD)
        on = [o.end for o in spans if o.start <= now < o.end]
        upcoming = [o.start for o in spans if o.start > now]
        out.append(WindowGauge(window.id, window.system, bool(on), min(upcoming) if upcoming else None,
                               max(on) if on else None))
    return out

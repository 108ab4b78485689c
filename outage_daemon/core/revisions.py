"""Revisions of published windows: SEQUENCE, CREATED, LAST-MODIFIED from content changes. Pure."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime

from outage_daemon.core.model import Config, Window
from outage_daemon.core.records import Revision


def revise(old: Revision | None, window_id: str, fingerprint: str, now: datetime) -> Revision:
    """Given the stored revision (or None), the window's current fingerprint and ``now``, return
    the revision to publish: new windows start at SEQUENCE 0, a changed one goes up by one."""
    if old is None:
        return Revision(window_id, fingerprint, 0, now, now)
    if old.fingerprint == fingerprint:
        return old
    return Revision(window_id, fingerprint, old.sequence + 1, old.created, max(now, old.last_modified))


def fingerprint(window: Window, config: Config) -> str:
    """Given a window and its config, return a hash of everything its event shows."""
    cal = config.calendar
    fields = [
        window.id, window.system, window.title, window.start.isoformat(), window.end.isoformat(),
        window.tz.key, window.all_day, window.status, list(window.services), window.description,
        window.alternatives, window.contacts, window.url, window.repeat,
        [e.isoformat() for e in window.exceptions],
        config.language, cal.base_url, cal.domain, [a.canonical for a in cal.alarms],
    ]
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode()).hexdigest()


def revise_all(config: Config, stored: Mapping[str, Revision], now: datetime) -> dict[str, Revision]:
    """Given the config, the stored revisions and ``now``, return every window's revision."""
    return {w.id: revise(stored.get(w.id), w.id, fingerprint(w, config), now) for w in config.windows}

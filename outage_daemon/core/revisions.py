"""Revisions of published windows: SEQUENCE, CREATED, LAST-MODIFIED from content changes. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Revision:
    """What the feed remembers of one window between renders."""

    window_id: str
    fingerprint: str
    sequence: int
    created: datetime
    last_modified: datetime


def revise(old: Revision | None, window_id: str, fingerprint: str, now: datetime) -> Revision:
    """Given the stored revision (or None), the window's current fingerprint and ``now``, return
    the revision to publish: new windows start at SEQUENCE 0, a changed one goes up by one."""
    if old is None:
        return Revision(window_id, fingerprint, 0, now, now)
    if old.fingerprint == fingerprint:
        return old
    return Revision(window_id, fingerprint, old.sequence + 1, old.created, max(now, old.last_modified))

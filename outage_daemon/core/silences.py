"""Alertmanager silences for the windows: which ones should exist at ``now``, and what to create,
update or expire to get there from those an Alertmanager lists. Pure: no clock, no I/O.

Each silence carries a tag in its comment, ``[outage-daemon WINDOW/OCCURRENCE]``: Alertmanager gives
an updated active silence a new id, so silences are found again by that tag, never by a stored id.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dateutil.parser import isoparse

from outage_daemon.core.model import Alertmanager, Config, Matcher
from outage_daemon.core.timerules import UTC

CREATED_BY = "outage-daemon"
TAG = re.compile(r"\[outage-daemon ([A-Za-z0-9][A-Za-z0-9._-]*)/([0-9]{8}T[0-9]{6}Z)\]")


@dataclass(frozen=True)
class Silence:
    """A silence one occurrence of a window should have in one Alertmanager."""

    window_id: str
    occurrence: str
    matchers: tuple[Matcher, ...]
    starts: datetime
    ends: datetime
    comment: str

    @property
    def tag(self) -> str:
        return f"{self.window_id}/{self.occurrence}"


@dataclass(frozen=True)
class Listed:
    """A silence as an Alertmanager lists it; ``tag`` is None when its comment carries none of ours."""

    id: str
    state: str  # active | pending | expired
    created_by: str
    tag: str | None
    matchers: tuple[Matcher, ...]
    starts: datetime
    ends: datetime

    @property
    def window_id(self) -> str:
        return (self.tag or "").partition("/")[0]

    @property
    def ours(self) -> bool:
        return self.created_by == CREATED_BY and self.tag is not None


@dataclass(frozen=True)
class Changes:
    """What to do in one Alertmanager: silences to create, to update (by id) and to expire."""

    create: tuple[Silence, ...] = ()
    update: tuple[tuple[str, Silence], ...] = ()
    expire: tuple[Listed, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.create or self.update or self.expire)


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else " " for ch in text)


def desired(config: Config, target: Alertmanager, now: datetime) -> list[Silence]:
    """Given the config, one Alertmanager of it and ``now``, return the silences that should exist
    there: one per occurrence of each confirmed window with matchers, from its stop less ``before``
    to its restore plus ``after``, once the stop is at most ``ahead`` away and until the end has passed."""
    out = []
    for window in config.windows:
        matchers = target.matchers(window)
        if not matchers or window.status != "confirmed":
            continue
        for occ in window.occurrences(now - target.after, now + target.ahead + target.before):
            starts = occ.start.astimezone(UTC) - target.before  # elapsed time: in UTC, never across a DST gap
            ends = occ.end.astimezone(UTC) + target.after
            if ends <= now or starts > now + target.ahead:
                continue
            stop, restore = occ.start.astimezone(window.tz), occ.end.astimezone(window.tz)
            what = f"{window.system}: {window.title or window.id}" if config.is_public(window) else "a private window"
            said = _printable(f"Planned outage of {what}, "
                              f"{stop:%Y-%m-%d %H:%M} to {restore:%Y-%m-%d %H:%M} {window.tz.key}")
            comment = f"{said} [outage-daemon {window.id}/{occ.key}]"
            out.append(Silence(window.id, occ.key, matchers, starts, ends, comment))
    return out


def _same(found: Listed, wanted: Silence, now: datetime) -> bool:
    """Given a listed silence and the wanted one, return whether nothing needs changing: the same
    matchers (in any order) and end, and the same start or both already begun (Alertmanager starts a
    silence created with a past start at the moment it is created)."""
    begun = found.starts <= now and wanted.starts <= now
    return set(found.matchers) == set(wanted.matchers) and found.ends == wanted.ends and (
        begun or found.starts == wanted.starts)


def reconcile(wanted: Iterable[Silence], listed: Iterable[Listed], now: datetime) -> Changes:
    """Given the wanted silences, those an Alertmanager lists and ``now``, return the changes: a wanted
    one whose live silence (found by tag) differs is updated; one without takes over a live silence of
    its window that is no longer wanted (the window moved), else it is created; live silences of ours
    still unwanted (cancelled, ended early, no longer matched), and duplicates of a tag, are expired.
    Silences made by anyone else are never touched."""
    by_tag: dict[str, list[Listed]] = defaultdict(list)
    for live in listed:
        if live.ours and live.state != "expired" and live.tag is not None:
            by_tag[live.tag].append(live)
    missing: list[Silence] = []
    update: list[tuple[str, Silence]] = []
    expire: list[Listed] = []
    for silence in wanted:
        found = sorted(by_tag.pop(silence.tag, []), key=lambda s: s.id)
        if not found:
            missing.append(silence)
            continue
        keep = next((s for s in found if _same(s, silence, now)), found[0])
        expire.extend(s for s in found if s is not keep)
        if not _same(keep, silence, now):
            update.append((keep.id, silence))
    # A window that moved has new occurrences: its old silences move with it, in order, the rest go.
    spare: dict[str, list[Listed]] = defaultdict(list)
    for rest in by_tag.values():
        spare[rest[0].window_id].extend(rest)
    create = []
    for silence in missing:
        old = sorted(spare[silence.window_id], key=lambda s: (s.starts, s.id))
        if old:
            spare[silence.window_id].remove(old[0])
            update.append((old[0].id, silence))
        else:
            create.append(silence)
    for rest in spare.values():
        expire.extend(rest)
    return Changes(tuple(create), tuple(update), tuple(expire))


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def body(silence: Silence, silence_id: str | None = None) -> dict[str, Any]:
    """Given a silence (and the id of the one it replaces), return the JSON body of a POST to
    ``/api/v2/silences``."""
    doc: dict[str, Any] = {
        "matchers": [{"name": m.name, "value": m.value, "isRegex": m.is_regex, "isEqual": m.is_equal}
                     for m in silence.matchers],
        "startsAt": _stamp(silence.starts), "endsAt": _stamp(silence.ends),
        "createdBy": CREATED_BY, "comment": silence.comment}
    if silence_id is not None:
        doc["id"] = silence_id
    return doc


def parse_listing(doc: Sequence[Mapping[str, Any]]) -> list[Listed]:
    """Given the JSON of ``GET /api/v2/silences``, return the silences; raise ValueError (or
    KeyError, TypeError) when it is not such a list."""
    out = []
    for item in doc:
        found = TAG.search(str(item.get("comment", "")))
        matchers = tuple(Matcher(str(m["name"]), str(m["value"]), bool(m.get("isRegex")), bool(m.get("isEqual", True)))
                         for m in item["matchers"])
        out.append(Listed(str(item["id"]), str(item["status"]["state"]), str(item.get("createdBy", "")),
                          f"{found[1]}/{found[2]}" if found else None, matchers,
                          _utc(isoparse(item["startsAt"])), _utc(isoparse(item["endsAt"]))))
    return out


def _utc(when: datetime) -> datetime:
    """Given a listed time, return it in UTC (naive ones are UTC: Alertmanager writes ``Z``)."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)

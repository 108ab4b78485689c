"""What each pushed calendar (``calendars:``) should hold, as ledger deliveries. Pure.

One event per window a target carries, the feed's own VEVENT (same UID, SEQUENCE, status, text and
VALARMs) in a calendar object of its own (a Microsoft 365 calendar: the Graph events of
:mod:`outage_daemon.formats.graph`). Each write is one delivery keyed by the window's revision,
so recording it again is a no-op and a change is a new key. A window the target no longer carries
(removed from the config, or for other audiences now) is first written as cancelled with a higher
SEQUENCE, then deleted once ``calendar.keep_cancelled`` after its end has passed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, lru_cache

from icalendar import Calendar

from outage_daemon.core.kinds import Kind
from outage_daemon.core.model import CalendarTarget, Config, Window
from outage_daemon.core.records import Decision, Delivery, Revision
from outage_daemon.core.timerules import UTC, add_absolute
from outage_daemon.formats import google, graph
from outage_daemon.formats.ical import event, kept, prodid, uid, zone_years
from outage_daemon.formats.vtimezone import vtimezone

CHANNEL = "caldav"
OPS = ("put", "cancel", "delete")
_END = b"END:VCALENDAR\r\n"
WORTH = timedelta(days=366)  # how long a write of a window that never ends stays worth making


@dataclass(frozen=True)
class Push:
    """One write into one calendar, as its delivery's payload carries it. ``generation`` counts the
    times the window left the calendar before: writes order by (generation, sequence)."""

    op: str  # put | cancel | delete
    window_id: str
    uid: str
    sequence: int
    ical: bytes = b""
    generation: int = 0

    @property
    def order(self) -> tuple[int, int]:
        return self.generation, self.sequence

    def to_bytes(self) -> bytes:
        return json.dumps({"op": self.op, "window": self.window_id, "uid": self.uid, "sequence": self.sequence,
                           "generation": self.generation, "ical": self.ical.decode()}, ensure_ascii=False).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Push:
        """Given a payload, return the push; raise ValueError when it is not one."""
        try:
            f = json.loads(data)
            push = cls(str(f["op"]), str(f["window"]), str(f["uid"]), int(f["sequence"]), str(f["ical"]).encode(),
                       int(f.get("generation", 0)))
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a calendar push: {exc}") from exc
        if push.op not in OPS:
            raise ValueError(f"unknown push operation {push.op!r}")
        return push


@dataclass(frozen=True)
class Held:
    """What the ledger remembers of one window in one calendar: its UID, the SEQUENCE last recorded
    for it, when it may be deleted once no longer carried (None: a repeat that never ends), whether
    it left the calendar (``gone``) and how often it did (``generation``)."""

    uid: str
    sequence: int
    until: datetime | None
    gone: bool = False
    generation: int = 0
    refresh: str = ""  # see graph.refresh

    def to_json(self) -> list[object]:
        out = [self.uid, self.sequence, self.until.isoformat() if self.until else None, self.gone, self.generation]
        return [*out, self.refresh] if self.refresh else out

    @classmethod
    def from_json(cls, value: list[object]) -> Held:
        text = value[2]
        return cls(str(value[0]), int(str(value[1])), datetime.fromisoformat(text) if isinstance(text, str) else None,
                   value[3] is True, int(str(value[4])), str(value[5]) if len(value) > 5 else "")


def carried(config: Config, target: CalendarTarget, now: datetime) -> list[Window]:
    """Given a target, return the windows it should hold at ``now``: those of its audiences and
    systems (every one, when it names none) that the feed still shows, private windows only when the
    target names one of their audiences."""
    return [w for w in kept(config, now) if config.carries(target, w)]


@cache
def _head() -> bytes:
    """The calendar object's opening lines (PRODID, VERSION), without its end."""
    cal = Calendar()
    cal.add("prodid", prodid())
    cal.add("version", "2.0")
    out: bytes = cal.to_ical()
    return out[: -len(_END)]


@lru_cache(maxsize=256)
def _zone(key: str, first: int, last: int) -> bytes:
    out: bytes = vtimezone(key, first, last).to_ical()
    return out


def document(window: Window, config: Config, revision: Revision, now: datetime) -> bytes:
    """Given a window and its revision, return the calendar object a CalDAV server stores for it:
    the feed's VEVENT with the VTIMEZONEs it uses (no METHOD: RFC 4791 forbids it there)."""
    zones = [_zone(key, first, last) for key, (first, last) in sorted(zone_years([window], now).items())]
    return b"".join([_head(), *zones, event(window, config, revision).to_ical(), _END])


def load_held(text: str | None) -> dict[str, Held]:
    """Given the stored index of a calendar (JSON, or None), return it by window id."""
    return {k: Held.from_json(v) for k, v in json.loads(text).items()} if text else {}


def dump_held(held: Mapping[str, Held]) -> str:
    """Given a calendar's index, return it as stored."""
    return json.dumps({k: v.to_json() for k, v in sorted(held.items())}, ensure_ascii=False)


def pushes(config: Config, target: CalendarTarget, revisions: Mapping[str, Revision], held: Mapping[str, Held],
           now: datetime) -> tuple[list[Decision], list[Delivery], dict[str, Held]]:
    """Given a target, every window's revision and what the ledger holds for that target, return the
    decisions and pending deliveries that bring the calendar in step at ``now`` (only what changed
    since ``held``; recording one again is a no-op) and the target's new index."""
    keep = config.calendar.keep_cancelled.approx
    decisions: list[Decision] = []
    deliveries: list[Delivery] = []
    index = dict(held)

    def add(key: str, window_id: str, push: Push, due: datetime, expires: datetime) -> None:
        decisions.append(Decision(key, window_id, Kind.PUSH, due))
        deliveries.append(Delivery(key, target.name, CHANNEL, "pending", 0, None, None, push.to_bytes(),
                                   max(expires, add_absolute(due, timedelta(hours=1))), due))

    wanted = carried(config, target, now)
    for window in wanted:
        revision, before = revisions.get(window.id), held.get(window.id)
        refresh = _refresh(window, config, target, now, before if revision and before and not before.gone
                           and before.sequence == revision.sequence else None)
        if revision is None or (before is not None and not before.gone and before.sequence == revision.sequence
                                and before.refresh == refresh):
            continue  # no revision yet: the next reload stores one
        generation = before.generation + 1 if before is not None and before.gone else 0 if before is None \
            else before.generation
        last = window.last_end()
        until = add_absolute(last, keep).astimezone(UTC) if last is not None else None
        body = graph.document(window, config, revision, now, generation) if target.kind == "graph" else \
            google.expand(document(window, config, revision, now), window, config, now) if target.kind == "google" \
            else document(window, config, revision, now)
        push = Push("put", window.id, uid(window, config), revision.sequence, body, generation)
        again = (f"/g{generation}" if generation else "") + (f"/r{refresh}" if refresh else "")
        add(f"{window.id}/push/{revision.sequence}{again}", window.id, push, now, until or add_absolute(now, WORTH))
        index[window.id] = Held(push.uid, revision.sequence, until, False, generation, refresh)
    carried_ids = {w.id for w in wanted}
    for window_id, gone in sorted(held.items()):
        if gone.gone or window_id in carried_ids:
            continue
        sequence = gone.sequence + 1
        again = f"/g{gone.generation}" if gone.generation else ""
        cancel = Push("cancel", window_id, gone.uid, sequence, generation=gone.generation)
        add(f"{window_id}/push/{sequence}{again}/cancel", window_id, cancel, now, add_absolute(now, WORTH))
        when = max(gone.until or add_absolute(now, keep), now)
        delete = Push("delete", window_id, gone.uid, sequence, generation=gone.generation)
        add(f"{window_id}/push/{sequence}{again}/delete", window_id, delete, when, add_absolute(when, WORTH))
        index[window_id] = Held(gone.uid, sequence, when, True, gone.generation)
    return decisions, deliveries, index


def _refresh(window: Window, config: Config, target: CalendarTarget, now: datetime, before: Held | None) -> str:
    """Given a window, a target and what its last write of the window's revision recorded (None: no
    such write), return the window's refresh mark at ``now`` by the target's kind."""
    if target.kind == "google":
        return google.refresh(window, config, now, before.refresh if before else "")
    return graph.refresh(window, config, target, now)


def test_document(window: Window, config: Config, now: datetime) -> tuple[str, bytes]:
    """Given a window and ``now``, return the UID and calendar object of a test event (``send-test
    --calendar``): the window's event under a UID of its own, its summary marked as a test."""
    revision = Revision(window.id, "test", 0, now, now)
    cal = Calendar.from_ical(document(window, config, revision, now))
    test_uid = f"outage-daemon-test-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{window.id}@{config.calendar.domain}"
    for ev in cal.walk("VEVENT"):
        ev["UID"] = test_uid
        ev["SUMMARY"] = f"[Test] {ev['SUMMARY']}"
    out: bytes = cal.to_ical()
    return test_uid, out

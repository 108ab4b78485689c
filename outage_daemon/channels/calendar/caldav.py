"""One write into a CalDAV collection with the ``caldav`` library's sync client (run on a thread).

Every write is conditional: ``If-Match`` with the ETag our last write got back, or
``If-None-Match: *`` for a first write, never ``If-Match: *``. A 412 means the event changed on the
server since: it is read again and reconciled (our own earlier write, made before a crash could
record it, is recognised by its UID, SEQUENCE and DTSTAMP and not made twice; anyone else's edit is
overwritten with the config's version, and said so). A UID conflict (409, 403
``no-uid-conflict``, or Xandikos' 412 to a create with nothing at its URL) fails for good and is
reported. We PUT the feed's bytes as they are, so the
library's own SEQUENCE bump (``save(increase_seqno=True)``) never runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urljoin

from icalendar import Calendar

from outage_daemon.channels.base import ACCEPTED, Outcome
from outage_daemon.core.model import CalendarTarget
from outage_daemon.formats.push import Push

log = logging.getLogger("outage_daemon")

ROUNDS = 3  # re-reads after a 412 before the attempt is retried later
ICAL = {"Content-Type": "text/calendar; charset=utf-8"}


@dataclass(frozen=True)
class Stored:
    """What our last write to one event got back: where it is, its ETag, and the SEQUENCE and
    generation it wrote (see :class:`~outage_daemon.formats.push.Push`)."""

    href: str
    etag: str | None
    sequence: int
    generation: int = 0

    @property
    def order(self) -> tuple[int, int]:
        return self.generation, self.sequence


@dataclass(frozen=True)
class Found:
    """An event as the server holds it now (``etag`` None: there is none)."""

    etag: str | None
    body: bytes = b""


def client(target: CalendarTarget, password: str | None) -> Any:
    """Given a target and its password, return a caldav DAVClient on its collection (no discovery,
    rate limits answered to us rather than slept on)."""
    from caldav.davclient import DAVClient  # an optional extra: pip install outage-daemon[caldav]

    return DAVClient(url=target.url, username=target.user, password=password,
                            timeout=max(int(target.timeout.approx.total_seconds()), 1),
                            enable_rfc6764=False, rate_limit_handle=False)


def href_of(target: CalendarTarget, uid: str) -> str:
    """Given a target and an event UID, return the URL of the event's object in the collection."""
    base = target.url if target.url.endswith("/") else target.url + "/"
    return urljoin(base, quote(uid, safe="") + ".ics")


def identity(body: bytes) -> tuple[str, int, str] | None:
    """Given a calendar object, return its first event's UID, SEQUENCE and DTSTAMP, or None."""
    try:
        cal = Calendar.from_ical(body)
    except ValueError:
        return None
    for ev in cal.walk("VEVENT"):
        stamp = ev.get("DTSTAMP")
        return str(ev.get("UID", "")), int(ev.get("SEQUENCE", 0)), stamp.to_ical().decode() if stamp else ""
    return None


def cancelled(body: bytes, sequence: int) -> bytes | None:
    """Given a stored calendar object, return it with every event cancelled at ``sequence``, or None
    when it cannot be read."""
    try:
        cal = Calendar.from_ical(body)
    except ValueError:
        return None
    for ev in cal.walk("VEVENT"):
        for key in ("STATUS", "SEQUENCE"):
            ev.pop(key, None)
        ev.add("status", "CANCELLED")
        ev.add("sequence", sequence)
    out: bytes = cal.to_ical()
    return out


class Writer:
    """The calls of one write, on one DAVClient (a thread at a time)."""

    def __init__(self, dav: Any) -> None:
        self.dav = dav

    def call(self, method: str, href: str, body: bytes = b"", headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """Make one request; return its status and response (429 and 503 raise caldav's RateLimitError)."""
        response = self.dav.request(href, method, body, headers or {})
        return int(response.status), response

    def read(self, href: str) -> Found:
        status, response = self.call("GET", href)
        if status == 404:
            return Found(None)
        if status != 200:
            raise Failure(status, f"GET {href}: HTTP {status}")
        return Found(response.headers.get("ETag"), bytes(response._raw_body))

    def etag_after(self, href: str, response: Any) -> str | None:
        """The ETag a write got back, or the one a read finds (servers may omit it after a PUT)."""
        return response.headers.get("ETag") or self.read(href).etag


class Failure(Exception):
    """A request the server answered with an unexpected status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def apply(writer: Writer, push: Push, href: str, stored: Stored | None) -> tuple[Outcome, Stored | None]:
    """Given a push, where its event is and what our last write stored, make the write; return its
    outcome and what to store now (None: the event is gone)."""
    if stored is not None and (stored.order > push.order or (push.op == "put" and stored.order == push.order)):
        return Outcome(True, error="already written"), stored  # this one, or a newer write, went first
    etag = stored.etag if stored else None
    for _ in range(ROUNDS):
        if push.op == "delete":
            if etag is None:
                found = writer.read(href)
                if found.etag is None:
                    return ACCEPTED, None
                etag = found.etag
            status, _ = writer.call("DELETE", href, headers={"If-Match": etag})
            if status in (200, 204, 404):
                return ACCEPTED, None
        else:
            body = push.ical
            if push.op == "cancel":
                found = writer.read(href)
                if found.etag is None:
                    return Outcome(True, error="not there to cancel"), None
                etag, body = found.etag, cancelled(found.body, push.sequence) or b""
                if not body:
                    return Outcome(False, error=f"{href} is not a calendar object"), stored
            condition = {"If-Match": etag} if etag else {"If-None-Match": "*"}
            status, response = writer.call("PUT", href, body, {**ICAL, **condition})
            if status in (200, 201, 204):
                return ACCEPTED, Stored(href, writer.etag_after(href, response), push.sequence, push.generation)
            if status == 409 or (status == 403 and b"uid-conflict" in bytes(response._raw_body)):
                return _conflict(push, status), stored
        if status != 412:
            return _refused(status, push), stored
        found = writer.read(href)  # 412: it changed since our last write; reconcile
        if found.etag is None:
            if etag is None and push.op == "put":  # a create refused with nothing there (Xandikos' answer)
                return _conflict(push, status), stored
            etag = None
            continue
        if push.op == "put" and identity(found.body) == identity(push.ical):
            return Outcome(True, error="already written"), Stored(href, found.etag, push.sequence, push.generation)
        log.warning("calendar event %s changed on the server since our last write: the config's version replaces it",
                    href)
        etag = found.etag
    return Outcome(False, temporary=True, error=f"{href} kept changing under us ({ROUNDS} tries)"), stored


def _conflict(push: Push, status: int) -> Outcome:
    return Outcome(False, error=f"UID conflict: another object in the calendar already has UID {push.uid} "
                                f"(HTTP {status}); remove it or change the window id")


def _refused(status: int, push: Push) -> Outcome:
    temporary = status >= 500 or status in (408, 423, 425)
    return Outcome(False, temporary=temporary, error=f"{push.op.upper()} of {push.uid}: HTTP {status}")


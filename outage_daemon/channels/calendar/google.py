"""One write into a Google calendar with ``google-api-python-client`` (run on a thread), as a
service account: into a calendar shared with it, or as a Workspace user (domain-wide delegation).

One Google event per window under an id derived from its UID (:func:`event_id`), so an insert
retried after a crash gets 409 and is recognised as ours (that id, and our mark in a private extended
property), never a second event. Google wants an id or an ``iCalUID`` at creation, not both: the
UID is kept in a private extended property, and Google makes the ``iCalUID``. Every update is
conditional (``If-Match`` with the ETag our last write got back); a 412 is read again and
reconciled: our own unrecorded write is recognised by its mark, anyone else's edit is replaced by
the config's version, and said so.

Google's ``status: cancelled`` means deleted (the event disappears), so a cancelled window stays
``confirmed``, its summary marked as the feed marks it (``[Cancelled]``, ``【已取消】``), and
transparent, until it is deleted ``calendar.keep_cancelled`` after its end. A repeat Google can hold
is written as its rule with EXDATEs; any other as its occurrences around the write
(:mod:`outage_daemon.formats.google`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from icalendar import Calendar

from outage_daemon.channels.base import ACCEPTED, Outcome
from outage_daemon.channels.calendar.caldav import ROUNDS, Stored
from outage_daemon.core.model import CalendarTarget
from outage_daemon.credentials import CredentialError, secret
from outage_daemon.formats.ical import zone_key
from outage_daemon.formats.push import Push
from outage_daemon.formats.text import marked_once

log = logging.getLogger("outage_daemon")

API_URL = "https://www.googleapis.com/calendar/v3/"
SCOPE = "https://www.googleapis.com/auth/calendar.events"
ACCESS = (401, 403, 404)  # refused access: retried, the fix is on Google's side and takes a while
MARK = "outageDaemonWrite"  # private extended property: the write that made the event as it is
UID = "outageDaemonUid"  # private extended property: the UID the event holds
RATE_LIMITS = ("rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "dailyLimitExceeded")
MAX_REMINDERS, MAX_MINUTES = 5, 40320  # what Google keeps: five reminders, four weeks ahead at most


def event_id(uid: str) -> str:
    """Given a UID, return the Google event id we write it under: base32hex (Google's alphabet,
    a-v and 0-9) of its SHA-256, 52 characters."""
    digest = hashlib.sha256(uid.encode()).digest()
    return base64.b32hexencode(digest).decode().rstrip("=").lower()


def _when(value: date | datetime) -> dict[str, str]:
    if isinstance(value, datetime):
        zone = zone_key(value)
        return {"dateTime": value.isoformat(), "timeZone": "UTC" if zone == "Etc/UTC" else zone}
    return {"date": value.isoformat()}


def _recurrence(ev: Any) -> list[str]:
    """Given a VEVENT (made by :func:`outage_daemon.formats.google.expand`), return Google's
    ``recurrence`` lines: its RRULE and EXDATEs, or the RDATEs of a repeat Google cannot hold."""
    return [str(line) for line in ev.content_lines() if str(line).startswith(("RRULE", "EXDATE", "RDATE"))]


def to_event(push: Push) -> dict[str, Any]:
    """Given a put, return the Google event that holds its VEVENT: id, summary, description, start
    and end (with their zone, or dates), recurrence, reminders, sequence, its UID and our mark."""
    ev = next(iter(Calendar.from_ical(push.ical).walk("VEVENT")))
    recurrence = _recurrence(ev)
    stamp = ev.get("DTSTAMP").to_ical().decode()
    if any(line.startswith("RDATE") for line in recurrence):  # a top-up writes the same revision from later on
        stamp += "/" + ev.get("DTSTART").to_ical().decode()
    minutes = sorted({-int(alarm.decoded("TRIGGER") // timedelta(minutes=1)) for alarm in ev.walk("VALARM")})
    body: dict[str, Any] = {
        "id": event_id(push.uid), "summary": str(ev.get("SUMMARY", "")),
        "description": str(ev.get("DESCRIPTION", "")), "start": _when(ev.decoded("DTSTART")),
        "end": _when(ev.decoded("DTEND")), "sequence": push.sequence, "transparency": "transparent",
        "status": "tentative" if str(ev.get("STATUS")) == "TENTATIVE" else "confirmed",
        "reminders": {"useDefault": False, "overrides": [
            {"method": "popup", "minutes": m} for m in minutes if 0 <= m <= MAX_MINUTES][:MAX_REMINDERS]},
        "extendedProperties": {"private": {UID: push.uid, MARK: mark(push, stamp)}}}
    if recurrence:
        body["recurrence"] = recurrence
    if ev.get("URL"):
        body["source"] = {"title": body["summary"], "url": str(ev["URL"])}
    return body


def mark(push: Push, stamp: str = "") -> str:
    """Given a write, return the mark its event carries: generation, SEQUENCE, operation and ``stamp``
    (DTSTAMP; of an expanded repeat, with the start it is written from)."""
    return f"{push.generation}:{push.sequence}:{push.op}:{stamp}"


def marked_by(found: Mapping[str, Any]) -> str | None:
    private = found.get("extendedProperties", {}).get("private", {})
    return private.get(MARK) if isinstance(private, dict) else None


def ours(found: Mapping[str, Any], uid: str) -> bool:
    """Given an event as Google holds it, return whether it is the one we write for ``uid``: under
    the id derived from it, with our mark (whatever ``iCalUID`` Google gave it)."""
    return found.get("id") == event_id(uid) and marked_by(found) is not None


def cancelled(found: Mapping[str, Any], push: Push, language: str) -> dict[str, Any]:
    """Given an event as Google holds it, return the patch that shows it cancelled (its summary
    marked, transparent; Google's own ``cancelled`` status would delete it)."""
    return {"summary": marked_once(str(found.get("summary", "")), "cancelled", language),
            "transparency": "transparent", "sequence": max(push.sequence, int(found.get("sequence", 0))),
            "extendedProperties": {"private": {UID: push.uid, MARK: mark(push)}}}


class Limited(Exception):
    """Google asked us to slow down (429, or 403 with a rate-limit reason)."""

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def service(target: CalendarTarget, key: Mapping[str, Any]) -> Any:
    """Given a target and its service account's key, return a Calendar API client (the discovery
    document packaged with the library, the target's timeout per request)."""
    import google_auth_httplib2  # the optional extra: pip install outage-daemon[google]
    import httplib2
    from google.oauth2 import service_account
    from googleapiclient.discovery import build

    credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
        dict(key), scopes=[SCOPE], subject=target.subject or None)
    http = google_auth_httplib2.AuthorizedHttp(
        credentials, http=httplib2.Http(timeout=max(int(target.timeout.approx.total_seconds()), 1)))
    return build("calendar", "v3", http=http, static_discovery=True, cache_discovery=False,
                 client_options={"api_endpoint": target.url or API_URL})


class Api:
    """The calls of one write on one calendar (a thread at a time); statuses, not exceptions, except
    :class:`Limited` for a rate limit and :class:`Failure` for what no write can get past."""

    def __init__(self, service: Any, calendar_id: str, account: str, subject: str | None = None) -> None:
        self.events, self.calendar_id, self.account, self.subject = service.events(), calendar_id, account, subject

    def call(self, request: Any, etag: str | None = None) -> tuple[int, dict[str, Any]]:
        from google.auth.exceptions import RefreshError
        from googleapiclient.errors import HttpError

        if etag:
            request.headers["If-Match"] = etag
        try:
            return 200, request.execute() or {}
        except RefreshError as exc:
            hint = (f"is domain-wide delegation of {SCOPE} granted to the service account's client ID, and "
                    f"{self.subject} a user of the domain?") if self.subject else "is the key deleted or disabled?"
            raise Failure(401, f"Google refused an access token to {self.account}: {exc} ({hint})") from exc
        except HttpError as exc:
            status = int(exc.resp.status)
            domain, reason, message = _error(exc.content)
            if status == 429 or (status == 403 and (domain == "usageLimits" or reason in RATE_LIMITS)):
                after = exc.resp.get("retry-after")
                raise Limited(f"Google asks us to slow down (HTTP {status} {reason})",
                              float(after) if after and after.isdigit() else None) from exc
            if status in (401, 403):
                raise Failure(status, self.refused(status, reason, message)) from exc
            return status, {"reason": reason, "message": message}

    def refused(self, status: int, reason: str, message: str) -> str:
        hint = {401: "the service account's key was refused (deleted or disabled?)",
                403: f"share the calendar with {self.account} (\"Make changes to events\"), or with `subject:` "
                     f"grant domain-wide delegation of {SCOPE}",
                404: f"no calendar {self.calendar_id!r} for {self.account}: check calendar_id, and that it is shared"}
        return f"Google Calendar: HTTP {status} {reason}: {message} ({hint.get(status, '')})"

    def read(self, eid: str) -> dict[str, Any] | None:
        status, found = self.call(self.events.get(calendarId=self.calendar_id, eventId=eid))
        if status in (404, 410):
            return None
        if status != 200:
            raise Failure(status, f"GET event {eid}: HTTP {status} {found.get('message', '')}")
        return found

    def insert(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return self.call(self.events.insert(calendarId=self.calendar_id, body=body))

    def update(self, eid: str, body: dict[str, Any], etag: str) -> tuple[int, dict[str, Any]]:
        return self.call(self.events.update(calendarId=self.calendar_id, eventId=eid, body=body), etag)

    def patch(self, eid: str, body: dict[str, Any], etag: str) -> tuple[int, dict[str, Any]]:
        return self.call(self.events.patch(calendarId=self.calendar_id, eventId=eid, body=body), etag)

    def delete(self, eid: str, etag: str) -> int:
        return self.call(self.events.delete(calendarId=self.calendar_id, eventId=eid), etag)[0]


def _error(content: bytes) -> tuple[str, str, str]:
    """Given an error response's body, return Google's domain, reason and message."""
    try:
        error = json.loads(content)["error"]
        first = (error.get("errors") or [{}])[0]
        return (str(first.get("domain", "")), str(first.get("reason", error.get("status", ""))),
                str(error.get("message", "")))
    except (ValueError, KeyError, TypeError, AttributeError):
        return "", "", content[:200].decode(errors="replace")


class Failure(Exception):
    """A request Google refused for a reason no retry of this write gets past at once. A refused
    token, 401, 403 or 404 is retried with backoff all the same: sharing a calendar, or domain-wide
    delegation (up to 24 hours), takes effect some time after it is given."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.temporary = status >= 500 or status in ACCESS


def apply(api: Api, push: Push, stored: Stored | None, language: str) -> tuple[Outcome, Stored | None]:
    """Given a push and what our last write stored, make the write; return its outcome and what to
    store now (None: the event is gone)."""
    body = to_event(push) if push.op == "put" else {}
    topped_up = any(line.startswith("RDATE") for line in body.get("recurrence", ()))  # same order, later dates
    if stored is not None and (stored.order > push.order or (push.op == "put" and stored.order == push.order
                                                             and not topped_up)):
        return Outcome(True, error="already written"), stored
    eid = event_id(push.uid)
    etag = stored.etag if stored else None
    try:
        return _apply(api, push, eid, etag, body, stored, language)
    except Limited as exc:
        return Outcome(False, temporary=True, error=str(exc), retry_after=exc.retry_after), stored
    except Failure as exc:
        return Outcome(False, temporary=exc.temporary, error=str(exc)), stored


def write(clients: Clients, target: CalendarTarget, push: Push, stored: Stored | None,
          language: str) -> tuple[Outcome, Stored | None]:
    """Given the clients, a target and a push, make the write through the target's client (made on
    first use, here on the write's thread); return what :func:`apply` returns."""
    return apply(clients.api(target), push, stored, language)


def _apply(api: Api, push: Push, eid: str, etag: str | None, body: dict[str, Any], stored: Stored | None,
           language: str) -> tuple[Outcome, Stored | None]:
    def done(event: Mapping[str, Any]) -> tuple[Outcome, Stored]:
        return ACCEPTED, Stored(eid, event.get("etag"), push.sequence, push.generation)

    event: dict[str, Any] = {}
    for _ in range(ROUNDS):
        if push.op == "delete":
            if etag is None:
                found = api.read(eid)
                if found is None or found.get("status") == "cancelled":
                    return ACCEPTED, None
                etag = str(found["etag"])
            status = api.delete(eid, etag)
            if status in (200, 204, 404, 410):
                return ACCEPTED, None
        elif push.op == "cancel":
            found = api.read(eid)
            if found is None or found.get("status") == "cancelled" or not ours(found, push.uid):
                return Outcome(True, error="not there to cancel"), None
            if marked_by(found) == mark(push):
                return done(found)
            status, event = api.patch(eid, cancelled(found, push, language), str(found["etag"]))
            if status == 200:
                return done(event)
        else:
            status, event = api.update(eid, body, etag) if etag else api.insert(body)
            if status == 200:
                return done(event)
            if status == 400 and etag and "sequence" in str(event.get("message", "")):
                found = api.read(eid)  # Google raised its sequence past ours by itself: go past it
                if found is not None and found.get("etag") == etag:
                    body = _past(body, found, 1)
                    continue
            if status == 404 and etag:  # gone for good since our last write: made anew
                etag = None
                continue
            if status == 409 and etag is None:  # the id is taken: our write before a crash, or deleted
                found = api.read(eid)
                if found is None or not ours(found, push.uid):
                    return _conflict(push, status), stored
                if found.get("status") != "cancelled" and marked_by(found) == marked_by(body):
                    return done(found)
                etag, body = str(found["etag"]), _past(body, found)  # an update brings a deleted event back
                continue
        if status != 412:
            if status == 404:
                raise Failure(status, api.refused(status, str(event.get("reason", "")), str(event.get("message", ""))))
            return _refused(status, push, event), stored
        found = api.read(eid)  # 412: it changed since our last write; reconcile
        if found is None:
            etag = None
            continue
        if push.op == "put" and found.get("status") != "cancelled" and marked_by(found) == marked_by(body):
            return done(found)
        if push.op != "cancel":  # a cancel reads the event again and marks what it finds
            log.warning("Google event %s (%s) changed since our last write: the config's version replaces it",
                        eid, push.uid)
        etag, body = str(found["etag"]), _past(body, found) if body else body
    return Outcome(False, temporary=True, error=f"event {push.uid} kept changing under us ({ROUNDS} tries)"), stored


def _past(body: dict[str, Any], found: Mapping[str, Any], beyond: int = 0) -> dict[str, Any]:
    """Given an event to write and the one Google holds, return the first with a sequence Google
    accepts: ours, or the one it holds (plus ``beyond``) when that is higher."""
    return {**body, "sequence": max(int(body["sequence"]), int(found.get("sequence", 0)) + beyond)}


def _conflict(push: Push, status: int) -> Outcome:
    return Outcome(False, error=f"UID conflict: an event outage-daemon did not write has the id {event_id(push.uid)} "
                                f"of {push.uid} in the Google calendar (HTTP {status}); remove it or change the "
                                "window id")


def _refused(status: int, push: Push, answer: Mapping[str, Any]) -> Outcome:
    temporary = status >= 500 or status in (408, 423, 425)
    said = f" {answer.get('reason', '')}: {answer.get('message', '')}" if answer.get("message") else ""
    return Outcome(False, temporary=temporary, error=f"{push.op.upper()} of {push.uid}: HTTP {status}{said}")


def key_of(target: CalendarTarget) -> dict[str, Any]:
    """Given a ``google`` target, return its service account's key; raise CredentialError when it
    cannot be read, is not such a key, or the library is not installed (never saying the key)."""
    text = secret(target.key_file, target.key_env, target.key_credential) or ""
    try:
        key = json.loads(text)
    except ValueError:
        key = None
    if not isinstance(key, dict) or key.get("type") != "service_account" or not all(
            isinstance(key.get(k), str) for k in ("client_email", "private_key", "token_uri")):
        raise CredentialError(f"calendars.{target.name}: the key is not a service account's JSON key "
                              "(IAM → Service accounts → Keys → Add key → JSON)")
    try:
        import googleapiclient  # noqa: F401 - an optional extra
    except ImportError as exc:
        raise CredentialError("calendars: a google calendar needs google-api-python-client: "
                              "pip install 'outage-daemon[google]'") from exc
    return key


class Clients:
    """The API clients of the ``google`` targets, made on first use (a client at a time per target:
    the channel writes one at a time)."""

    def __init__(self, targets: Mapping[str, CalendarTarget]) -> None:
        self.keys = {n: key_of(t) for n, t in targets.items() if t.kind == "google"}
        self.services: dict[str, Any] = {}

    def api(self, target: CalendarTarget) -> Api:
        made = self.services.get(target.name)
        if made is None:
            made = self.services[target.name] = service(target, self.keys[target.name])
        return Api(made, target.calendar_id, str(self.keys[target.name]["client_email"]), target.subject)

    def drop(self, name: str) -> None:
        """Forget a target's client (its write ran past its deadline and may still use it)."""
        self.services.pop(name, None)

    def close(self) -> None:
        for made in self.services.values():
            made.close()
        self.services.clear()

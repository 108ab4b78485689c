"""One write into a Microsoft 365 calendar through Microsoft Graph's REST API (app-only).

The token comes from ``azure-identity`` (client credentials); the requests are aiohttp's, on one
session that the token requests share. Every event carries the window's UID in an extended
property and is found by it when our memo of it is lost, so a window never gets a second event; a
create carries a ``transactionId`` (a create retried after a crash makes no second event either;
when Graph calls it used, the event is found by its UID and taken).
An update carries the ETag our last write got back as ``If-Match`` (never ``*``): a 412 means the
event changed since, so it is read again and the config's version replaces it, said so in the log
(unless it holds that version already: our own write, whose answer was lost).
A 429 or 503 is retried after its Retry-After; a 401 or 403 is retried too (the fix is an
administrator's: a secret, a permission, an access policy) and said clearly.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

import aiohttp

from outage_daemon.channels.base import ACCEPTED, Outcome
from outage_daemon.core.model import CalendarTarget, GraphAccess
from outage_daemon.credentials import CredentialError, secret
from outage_daemon.formats.graph import (
    OCCURRENCE_PROPERTY,
    UID_PROPERTY,
    VERSION_PROPERTY,
    transaction_id,
    version,
)
from outage_daemon.formats.push import Push
from outage_daemon.formats.text import marked_once

log = logging.getLogger("outage_daemon")

ROUNDS = 3  # re-reads after a 412 before the attempt is retried later
ADVICE = {
    401: "the token was refused: check tenant, client_id and the client secret (it may have expired)",
    403: "access denied: the app needs the Calendars.ReadWrite application permission with admin consent, "
         "and the mailbox must be in its Exchange RBAC scope or application access policy",
}


Event = tuple[str, str | None, str]  # one occurrence's event: its Graph id, ETag and the version written


@dataclass(frozen=True)
class Placed:
    """What our writes of one window got back: the generation and SEQUENCE last written whole (-1:
    none yet), and each occurrence's event as far as the writes went."""

    sequence: int
    generation: int
    events: dict[str, Event] = field(default_factory=dict)

    @property
    def order(self) -> tuple[int, int]:
        return self.generation, self.sequence

    def dump(self) -> str:
        return json.dumps({"kind": "graph", "sequence": self.sequence, "generation": self.generation,
                           "events": {k: list(v) for k, v in sorted(self.events.items())}})

    @classmethod
    def load(cls, text: str | None) -> Placed | None:
        """Given a memo (or None, or one of another kind), return what it holds, or None."""
        if not text:
            return None
        f = json.loads(text)
        if f.get("kind") != "graph":
            return None
        return cls(int(f["sequence"]), int(f["generation"]),
                   {k: (str(v[0]), v[1], str(v[2])) for k, v in f["events"].items()})


@dataclass(frozen=True)
class Found:
    """An event as Graph holds it now: its id, ETag, occurrence key, version, subject and UID."""

    id: str
    etag: str | None
    key: str
    version: str
    subject: str = ""
    uid: str = ""


class Failure(Exception):
    """A request Graph answered with a status we do not go on from."""

    def __init__(self, status: int, message: str, retry_after: float | None = None, code: str = "") -> None:
        super().__init__(message)
        self.status, self.retry_after, self.code = status, retry_after, code

    def outcome(self) -> Outcome:
        temporary = self.status in (0, 401, 403, 408, 409, 429) or self.status >= 500  # 0: no answer
        return Outcome(False, temporary=temporary, error=str(self), retry_after=self.retry_after)


def _literal(text: str) -> str:
    """An OData string literal (quotes doubled)."""
    return "'" + text.replace("'", "''") + "'"


def _event(item: Any, status: int, what: str) -> dict[str, Any]:
    """Given an answer's body, its status and the request, return it as a Graph event; raise a
    temporary :class:`Failure` when it is not one (a proxy's page, JSON without an id)."""
    if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
        raise Failure(0, f"{what}: HTTP {status} but not a Graph event (expected JSON with its 'id')")
    return item


def _etag(item: dict[str, Any]) -> str | None:
    etag = item.get("@odata.etag")
    return etag if isinstance(etag, str) else None


def _found(item: dict[str, Any]) -> Found:
    listed = item.get("singleValueExtendedProperties")
    props = {str(p.get("id", "")).lower(): str(p.get("value", ""))
             for p in (listed if isinstance(listed, list) else []) if isinstance(p, dict)}
    return Found(str(item["id"]), _etag(item), props.get(OCCURRENCE_PROPERTY.lower(), ""),
                 props.get(VERSION_PROPERTY.lower(), ""), str(item.get("subject", "")),
                 props.get(UID_PROPERTY.lower(), ""))


_EXPAND = "$expand=singleValueExtendedProperties($filter=" + " or ".join(
    f"id eq {_literal(p)}" for p in (UID_PROPERTY, OCCURRENCE_PROPERTY, VERSION_PROPERTY)) + ")"
_SAFE = "?$=&(),/:'"  # what stays as it is in a query we build


class GraphClient:
    """Requests to one mailbox's calendar, as one app; the session and token are made on first use
    (on the loop that sends)."""

    def __init__(self, target: CalendarTarget, secret: str | None) -> None:
        assert target.graph is not None  # noqa: S101 - the config builds it for every graph target
        self.access: GraphAccess = target.graph
        self.secret = secret or ""
        self.timeout = target.timeout.approx.total_seconds()
        self.session: aiohttp.ClientSession | None = None
        self.credential: Any = None
        mailbox = quote(self.access.mailbox, safe="@")
        self.root = f"{self.access.graph_url}/v1.0/users/{mailbox}"
        where = f"/calendars/{quote(self.access.calendar_id, safe='')}" if self.access.calendar_id else "/calendar"
        self.events = f"{self.root}{where}/events"

    def _open(self) -> aiohttp.ClientSession:
        if self.session is None:
            from azure.core.pipeline.transport import AioHttpTransport  # an optional extra: outage-daemon[graph]
            from azure.identity.aio import ClientSecretCredential

            tls = ssl.create_default_context()  # made now: SSL_CERT_FILE / SSL_CERT_DIR are honoured
            self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls),
                                                 timeout=aiohttp.ClientTimeout(total=self.timeout))
            logging.getLogger("azure").setLevel(logging.ERROR)  # it logs every request; a failure is ours to say
            self.credential = ClientSecretCredential(  # no retries of its own: the ledger retries the write
                self.access.tenant, self.access.client_id, self.secret, authority=self.access.login_url,
                transport=AioHttpTransport(session=self.session, session_owner=False), retry_total=0)
        return self.session

    async def token(self) -> str:
        from azure.core.exceptions import AzureError, ClientAuthenticationError

        self._open()
        try:  # azure-core sets its own per-read timeouts: the deadline is ours
            got = await asyncio.wait_for(self.credential.get_token(f"{self.access.graph_url}/.default"), self.timeout)
        except AzureError as exc:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            refused = isinstance(exc, ClientAuthenticationError)
            raise Failure(401 if refused else 0, f"no token from {self.access.login_url}: {message}"
                          + (f" ({ADVICE[401]})" if refused else "")) from exc
        return str(got.token)

    async def call(self, method: str, url: str, body: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
        """Make one request; return its status and JSON body. Raise :class:`Failure` for 401, 403,
        429, 5xx and any other unexpected status but 404 and 412, which the caller reconciles."""
        session = self._open()
        sent = {"Authorization": f"Bearer {await self.token()}", **(headers or {})}
        async with session.request(method, url, json=body, headers=sent) as reply:
            data = await reply.read()
            status = reply.status
            retry = reply.headers.get("Retry-After")
        try:
            parsed = json.loads(data) if data else {}
        except ValueError:
            parsed = {}
        if status < 300 or status in (404, 412):
            return status, parsed if isinstance(parsed, dict) else {}
        error = parsed.get("error", {}) if isinstance(parsed, dict) else {}
        said = f"{error.get('code', '')}: {error.get('message', '')}" if isinstance(error, dict) and error else ""
        advice = f" ({ADVICE[status]})" if status in ADVICE else ""
        raise Failure(status, f"{method} {url.split('?')[0]}: HTTP {status} {said}".rstrip(": ") + advice,
                      float(retry) if retry and retry.isdigit() else None,
                      str(error.get("code", "")) if isinstance(error, dict) else "")

    async def find(self, event_uid: str) -> dict[str, Found]:
        """Given a UID, return the events that carry it in this calendar, by occurrence key (Graph
        compares the value regardless of case: an event of ``VAT@…`` is not one of ``vat@…``)."""
        query = (f"?$filter=singleValueExtendedProperties/Any(ep: ep/id eq {_literal(UID_PROPERTY)} and ep/value eq "
                 f"{_literal(event_uid)})&$select=id,subject&{_EXPAND}")
        out: dict[str, Found] = {}
        url: str | None = self.events + quote(query, safe=_SAFE)
        for _ in range(100):  # pages
            if url is None:
                break
            status, page = await self.call("GET", url)
            what = f"GET {url.split('?')[0]}"
            items, url = page.get("value"), page.get("@odata.nextLink")
            if not isinstance(items, list) or not isinstance(url, str | None):
                raise Failure(0, f"{what}: HTTP {status} but not a page of Graph events (expected JSON with a "
                                 "list of them as 'value')")
            for item in items:
                found = _found(_event(item, status, what))
                if found.uid == event_uid:
                    out[found.key] = found
        return out

    async def read(self, event_id: str) -> Found | None:
        query = f"?$select=id,subject&{_EXPAND}"
        status, item = await self.call("GET", self.event_url(event_id) + quote(query, safe=_SAFE))
        return None if status == 404 else _found(_event(item, status, f"GET {self.event_url(event_id)}"))

    def event_url(self, event_id: str) -> str:
        return f"{self.root}/events/{quote(event_id, safe='')}"

    async def close(self) -> None:
        if self.credential is not None:
            await self.credential.close()
        if self.session is not None:
            await self.session.close()
        self.session = self.credential = None


async def _create(client: GraphClient, push: Push, key: str, body: dict[str, Any]) -> tuple[str, str | None]:
    """POST one occurrence's event with its ``transactionId``; return its id and ETag. When Graph says
    the id already made another event (ours, which the search missed before: not indexed yet), that
    one is found by its UID and taken, written over unless it holds this version already."""
    written = version(push.generation, push.sequence)
    sent = {**body, "transactionId": transaction_id(push.uid, key, written)}
    try:
        status, made = await client.call("POST", client.events, sent)
    except Failure as exc:
        if exc.code != "ErrorDuplicateTransactionId":
            raise
        found = (await client.find(push.uid)).get(key)
        if found is None:
            raise Failure(0, f"{exc} (and no event of {push.uid} for {key} was found: retried later)") from exc
        if found.version == written:
            return found.id, found.etag
        place = await _update(client, key, (found.id, found.etag), body)
        if place is None:
            raise Failure(0, f"{exc} (and event {found.id} went away: retried later)") from exc
        return place
    if status == 404:
        raise Failure(404, f"POST {client.events}: HTTP 404 (no such mailbox or calendar)")
    made = _event(made, status, f"POST {client.events}")
    return made["id"], _etag(made)


async def _update(client: GraphClient, key: str, place: tuple[str, str | None],
                  body: dict[str, Any]) -> tuple[str, str | None] | None:
    """PATCH one event with If-Match; re-read and write again after a 412. Return its id and ETag,
    or None when it is gone (deleted by someone)."""
    event_id, etag = place
    for _ in range(ROUNDS):
        if etag is None:
            found = await client.read(event_id)
            if found is None:
                return None
            etag = found.etag
        status, got = await client.call("PATCH", client.event_url(event_id), body, {"If-Match": etag or ""})
        if status == 404:
            return None
        if status != 412:
            return event_id, _etag(got)
        found = await client.read(event_id)
        if found is None:
            return None
        if found.version == _version(body):  # our own write landed, its answer was lost (a crash, a timeout)
            return found.id, found.etag
        etag = found.etag
        log.warning("calendar event %s (%s) changed in Microsoft 365 since our last write: the config's version "
                    "replaces it", event_id, key)
    raise Failure(412, f"event {event_id} kept changing under us ({ROUNDS} tries)", None)


def _version(body: dict[str, Any]) -> str | None:
    """Given an event's body as we write it, return the version it carries (None: it sets none)."""
    for p in body.get("singleValueExtendedProperties", []):
        if p["id"] == VERSION_PROPERTY:
            return str(p["value"])
    return None


async def _delete(client: GraphClient, place: tuple[str, str | None]) -> None:
    event_id, etag = place
    for _ in range(ROUNDS):
        if etag is None:
            found = await client.read(event_id)
            if found is None:
                return
            etag = found.etag
        status, _ = await client.call("DELETE", client.event_url(event_id), headers={"If-Match": etag or ""})
        if status != 412:
            return
        etag = None
    raise Failure(412, f"event {event_id} kept changing under us ({ROUNDS} tries)", None)


async def apply(client: GraphClient, push: Push, placed: Placed | None, language: str,
                events: dict[str, Event]) -> tuple[Outcome, Placed | None]:
    """Given a push and what our writes of its window got back, make the write; return its outcome
    and what to remember now (None: the window's events are gone). ``events`` follows the writes as
    they land (what to remember of a write that fails halfway). Raise :class:`Failure`."""
    wanted: dict[str, dict[str, Any]] = json.loads(push.ical) if push.op == "put" else {}
    if placed is not None and (placed.order > push.order or (push.op == "put" and placed.order == push.order
                                                             and wanted.keys() == placed.events.keys())):
        return Outcome(True, error="already written"), placed  # this one, or a newer write, went first
    written = version(push.generation, push.sequence)
    if placed is not None and placed.events:
        events.update(placed.events)
    else:  # never written, or our memo of it is lost: what carries its UID is ours
        events.update({k: (f.id, f.etag, f.version) for k, f in (await client.find(push.uid)).items()})
    if push.op == "put":
        for key, body in wanted.items():
            have = events.get(key)
            if have is not None and have[2] == written:
                continue  # landed before a crash, a failure or a month's top-up
            place = await _update(client, key, have[:2], body) if have is not None else None
            events[key] = (*(place or await _create(client, push, key, body)), written)
        for key in [k for k in events if k not in wanted]:  # an occurrence the window no longer has
            await _delete(client, events[key][:2])
            del events[key]
        return ACCEPTED, Placed(push.sequence, push.generation, dict(events))
    if push.op == "cancel":
        for key, (event_id, _, was) in list(events.items()):
            found = None if was == written else await client.read(event_id)
            if found is not None:
                mark = {"subject": marked_once(found.subject, "cancelled", language), "showAs": "free",
                        "singleValueExtendedProperties": [{"id": VERSION_PROPERTY, "value": written}]}
                place = await _update(client, key, (found.id, found.etag), mark)
                if place is not None:
                    events[key] = (*place, written)
                    continue
            if was != written:
                del events[key]  # gone: deleted by someone
        return ACCEPTED, Placed(push.sequence, push.generation, dict(events))
    for key, (event_id, etag, _) in list(events.items()):
        await _delete(client, (event_id, etag))
        del events[key]
    return ACCEPTED, None


class Memory(Protocol):
    """Where what our writes got back is kept (the channel's memo)."""

    async def get(self, name: str) -> str | None: ...

    async def set(self, name: str, value: str) -> None: ...


def graph_clients(targets: Mapping[str, CalendarTarget]) -> dict[str, GraphClient]:
    """Given the pushed calendars, return a client for each of kind graph (secrets read now); raise
    CredentialError when a secret cannot be read or the library is not installed."""
    out = {}
    for name, target in targets.items():
        if target.kind != "graph" or target.graph is None:
            continue
        try:
            import azure.identity.aio  # noqa: F401 - an optional extra
        except ImportError as exc:
            raise CredentialError("calendars: kind graph needs the azure-identity library: "
                                  "pip install 'outage-daemon[graph]'") from exc
        access = target.graph
        out[name] = GraphClient(target, secret(access.secret_file, access.secret_env, access.secret_credential))
    return out


async def send_graph(client: GraphClient, push: Push, memo: Memory, name: str, language: str) -> Outcome:
    """Given a calendar's client and a push, make the write within the calendar's ``timeout`` (the whole
    write) and remember in ``memo`` what it got back, what landed of a write that failed, ran out of
    time or was cancelled too (its retry goes on from there)."""
    placed = Placed.load(await memo.get(name))
    events: dict[str, Event] = {}

    async def keep() -> None:
        if events != (placed.events if placed else {}):  # what landed before it stopped: not written again
            order = (placed.sequence, placed.generation) if placed else (-1, push.generation)
            await memo.set(name, Placed(*order, events).dump())

    try:
        outcome, after = await asyncio.wait_for(apply(client, push, placed, language, events), client.timeout)
    except asyncio.CancelledError:
        await keep()
        raise
    except (Failure, asyncio.TimeoutError, aiohttp.ClientError) as exc:
        await keep()
        if isinstance(exc, Failure):
            return exc.outcome()
        if isinstance(exc, asyncio.TimeoutError):
            return Outcome(False, temporary=True, error=f"no answer within {client.timeout:g}s (the whole write)")
        return Outcome(False, temporary=True, error=f"{type(exc).__name__}: {exc}")
    if after != placed:
        await memo.set(name, after.dump() if after else "")
    return outcome


async def probe_graph(client: GraphClient, create: Push, memo: Memory) -> Outcome:
    """Given a calendar's client, a test event's push and an empty memo, write it and delete it again."""
    made = await send_graph(client, create, memo, "test", "en")
    if not made.ok:
        return made
    gone = await send_graph(client, Push("delete", create.window_id, create.uid, 1), memo, "test", "en")
    return gone if not gone.ok else ACCEPTED

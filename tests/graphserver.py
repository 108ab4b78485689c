"""A stand-in for Microsoft Graph and its token endpoint on 127.0.0.1 over TLS (a certificate made
with openssl, trusted through SSL_CERT_FILE): it answers the requests the documentation shows for
app-only sign-in and a mailbox's calendar events as Graph does (ETags as ``@odata.etag``, 412 on a
stale ``If-Match``, ``transactionId`` making a retried create return the first event, filters on a
single-value extended property, its value compared regardless of case) and records every request it gets, to be checked."""

from __future__ import annotations

import asyncio
import itertools
import re
import ssl
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from aiohttp import web
from loopback import LoopbackServer

TENANT, CLIENT_ID, SECRET, MAILBOX = "contoso.onmicrosoft.com", "0b7d4c1e-5f2a-4a7e-9a65-3c1d2e4f5a6b", "s3cret~", \
    "finance@contoso.com"


def certificate(folder: Path) -> tuple[Path, Path]:
    """Make a self-signed certificate for 127.0.0.1 in ``folder``; return its certificate and key."""
    cert, key = folder / "graph.pem", folder / "graph.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


@dataclass
class Seen:
    """One request as the server got it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    status: int = 0


@dataclass
class Graph:
    """What the fake holds and how it misbehaves on purpose."""

    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    busy: int = 0  # the next writes answered 429 with Retry-After: 120 ...
    calm: int = 0  # ... once this many more have been let through
    slow: float = 0  # seconds every calendar request waits before it is answered
    forbidden: bool = False  # every calendar request answered 403 ErrorAccessDenied
    garbled: dict[str, tuple[int, str, str]] = field(default_factory=dict)  # method -> status, type, body
    transactions: dict[str, str] = field(default_factory=dict)
    duplicate: bool = False  # a create with a transactionId used before answered 400 ErrorDuplicateTransactionId
    unindexed: int = 0  # the next searches by extended property find nothing (Graph's index lags)

    def writes(self) -> list[tuple[str, int]]:
        """Return the writes (POST, PATCH, DELETE to events) and the status each got."""
        return [(r.method, r.status) for r in self.requests
                if r.method in ("POST", "PATCH", "DELETE") and "/events" in r.path]

    def by_uid(self) -> dict[str, list[dict[str, Any]]]:
        """Return the events by the UID in their extended property, sorted by start."""
        out: dict[str, list[dict[str, Any]]] = {}
        for ev in self.events.values():
            out.setdefault(prop(ev, "outage-daemon-uid"), []).append(ev)
        return {k: sorted(v, key=lambda e: e["start"]["dateTime"]) for k, v in out.items()}


def prop(event: dict[str, Any], name: str) -> str:
    """Given an event, return the value of the named extended property ('' when it has none)."""
    for p in event.get("singleValueExtendedProperties", []):
        if p["id"].endswith(f"Name {name}"):
            return str(p["value"])
    return ""


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status, headers=headers)


class GraphServer(LoopbackServer):
    """Serve the fake on a free loopback port over TLS; ``url`` once started."""

    def __init__(self, cert: Path, key: Path) -> None:
        super().__init__()
        self.tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.tls.load_cert_chain(cert, key)
        self.graph = Graph()
        self.ids = itertools.count(1)
        self.tokens: set[str] = set()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self.token)
        app.router.add_route("*", "/v1.0/users/{mailbox}/calendar/events", self.collection)
        app.router.add_route("*", "/v1.0/users/{mailbox}/calendars/{calendar}/events", self.collection)
        app.router.add_route("*", "/v1.0/users/{mailbox}/events/{id}", self.one)

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.graph.requests.append(Seen("POST", request.path, "", dict(request.headers), dict(form)))
        if request.match_info["tenant"] != TENANT or form.get("client_id") != CLIENT_ID:
            return web.json_response({"error": "unauthorized_client", "error_description":
                                      "AADSTS700016: Application not found in the directory."}, status=400)
        if form.get("client_secret") != SECRET:
            return web.json_response({"error": "invalid_client", "error_description":
                                      "AADSTS7000215: Invalid client secret provided."}, status=401)
        if form.get("grant_type") != "client_credentials" or form.get("scope") != f"{self.url}/.default":
            return web.json_response({"error": "invalid_request"}, status=400)
        token = f"token-{next(self.ids)}"
        self.tokens.add(token)
        return web.json_response({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                                  "access_token": token})

    async def _seen(self, request: web.Request) -> web.Response | None:
        body = await request.json() if request.can_read_body else None
        self.graph.requests.append(Seen(request.method, request.path, unquote(request.query_string),
                                        dict(request.headers), body))
        await asyncio.sleep(self.graph.slow)
        if request.headers.get("Authorization", "").removeprefix("Bearer ") not in self.tokens:
            return _error(401, "InvalidAuthenticationToken", "Access token is empty.")
        if unquote(request.match_info["mailbox"]) != MAILBOX:
            return _error(404, "ErrorInvalidUser", "The requested user is invalid.")
        if self.graph.forbidden:
            return _error(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        if request.method in self.graph.garbled:  # as by a proxy in the way, or a Graph gone wrong
            status, kind, text = self.graph.garbled[request.method]
            return web.Response(status=status, content_type=kind, text=text)
        if request.method != "GET" and self.graph.busy and self.graph.calm:
            self.graph.calm -= 1
        elif request.method != "GET" and self.graph.busy:
            self.graph.busy -= 1
            return _error(429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.",
                          {"Retry-After": "120"})
        return None

    def _shown(self, ev: dict[str, Any], query: str) -> dict[str, Any]:
        wanted = re.findall(r"id eq '([^']*)'", query.split("$expand=", 1)[1]) if "$expand=" in query else []
        out = {k: v for k, v in ev.items() if k != "singleValueExtendedProperties"}
        if wanted:
            out["singleValueExtendedProperties"] = [p for p in ev.get("singleValueExtendedProperties", [])
                                                    if p["id"] in wanted]
        return out

    def _stamp(self, ev: dict[str, Any]) -> None:
        change = f"CQAAA{next(self.ids)}"
        ev["changeKey"], ev["@odata.etag"] = change, f'W/"{change}"'

    def _answer(self, request: web.Request, response: web.Response) -> web.Response:
        self.graph.requests[-1].status = response.status
        return response

    async def collection(self, request: web.Request) -> web.Response:
        refused = await self._seen(request)
        if refused is not None:
            return self._answer(request, refused)
        query = unquote(request.query_string)
        if request.method == "GET":
            match = re.search(r"singleValueExtendedProperties/Any\(ep: ep/id eq '([^']*)' and ep/value eq '([^']*)'\)",
                              query)
            if match is None:
                return self._answer(request, _error(400, "BadRequest", "unsupported filter"))
            if self.graph.unindexed:
                self.graph.unindexed -= 1
                return self._answer(request, web.json_response({"value": []}))
            found = [self._shown(ev, query) for ev in self.graph.events.values()
                     if any(p["id"] == match[1] and p["value"].lower() == match[2].replace("''", "'").lower()
                            for p in ev.get("singleValueExtendedProperties", []))]
            return self._answer(request, web.json_response({"value": found}))
        if request.method != "POST":
            return self._answer(request, _error(405, "ErrorInvalidRequest", "method"))
        body = dict(self.graph.requests[-1].body)
        transaction = body.get("transactionId")
        if transaction in self.graph.transactions and self.graph.duplicate:
            return self._answer(request, _error(400, "ErrorDuplicateTransactionId", "Your request can't be completed. "
                                                "The transactionId has already been used to create a different event."))
        if transaction in self.graph.transactions and self.graph.transactions[transaction] in self.graph.events:
            return self._answer(request, web.json_response(self.graph.events[self.graph.transactions[transaction]],
                                                           status=201))
        event_id = f"AAMkAG{next(self.ids)}="
        ev = {**body, "id": event_id}
        self._stamp(ev)
        self.graph.events[event_id] = ev
        if transaction:
            self.graph.transactions[transaction] = event_id
        return self._answer(request, web.json_response(self._shown(ev, ""), status=201))

    async def one(self, request: web.Request) -> web.Response:
        refused = await self._seen(request)
        if refused is not None:
            return self._answer(request, refused)
        ev = self.graph.events.get(request.match_info["id"])
        if ev is None:
            return self._answer(request, _error(404, "ErrorItemNotFound", "The specified object was not found."))
        if request.method == "GET":
            return self._answer(request, web.json_response(self._shown(ev, unquote(request.query_string))))
        if request.headers.get("If-Match") not in (None, ev["@odata.etag"]):
            return self._answer(request, _error(412, "ErrorIrresolvableConflict",
                                                "The send or update operation could not be performed because the "
                                                "change key passed in the request does not match the current "
                                                "change key for the item."))
        if request.method == "DELETE":
            del self.graph.events[ev["id"]]
            return self._answer(request, web.Response(status=204))
        body = dict(self.graph.requests[-1].body)
        props = {p["id"]: p for p in ev.get("singleValueExtendedProperties", [])}
        props.update({p["id"]: p for p in body.pop("singleValueExtendedProperties", [])})
        ev.update(body)
        ev["singleValueExtendedProperties"] = list(props.values())
        self._stamp(ev)
        return self._answer(request, web.json_response(self._shown(ev, "")))

    def edit(self, event_id: str, **fields: Any) -> None:
        """Change an event as someone in Outlook would (a new ETag)."""
        self.graph.events[event_id].update(fields)
        self._stamp(self.graph.events[event_id])

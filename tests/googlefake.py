"""A loopback stand-in for Google's OAuth token endpoint and Calendar API v3 events, replaying the
documented requests and answers (https://developers.google.com/calendar/api/v3/reference/events and
.../guides/errors): a JWT-bearer grant for a service account's signed assertion, events under a
client-chosen id (409 when the id or a given iCalUID is taken, a deleted event included; an
iCalUID of Google's own making when none is given), ETags with
``If-Match`` (412 ``conditionNotMet``), delete as ``status: cancelled`` (410 when deleted again),
and rate limits (429, or 403 ``rateLimitExceeded``). Every request is recorded for the tests."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from loopback import LoopbackServer

CALENDAR = "finance@group.calendar.google.com"
ACCOUNT = "outage-daemon@outage-test.iam.gserviceaccount.com"
ID = re.compile(r"^[a-v0-9]{5,1024}$")


@dataclass
class Seen:
    """One request the fake answered."""

    method: str
    path: str
    if_match: str | None
    body: dict[str, Any]
    status: int
    event_id: str = ""


@dataclass
class Busy:
    """Answers to give the next writes instead of making them."""

    answers: list[tuple[int, str, str, str | None]] = field(default_factory=list)  # status, domain, reason, after


def error(status: int, reason: str, message: str, headers: dict[str, str] | None = None,
          domain: str = "global") -> web.Response:
    body = {"error": {"errors": [{"domain": domain, "reason": reason, "message": message}], "code": status,
                      "message": message}}
    return web.json_response(body, status=status, headers=headers)


class GoogleFake(LoopbackServer):
    """The fake; ``url`` is the API base (``client_options.api_endpoint``), ``token_uri`` the grant's."""

    def __init__(self, shared: tuple[str, ...] = (CALENDAR,)) -> None:
        super().__init__()
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.shared = shared  # the calendars shared with the service account
        self.events: dict[str, dict[str, Any]] = {}
        self.seen: list[Seen] = []
        self.grants: list[dict[str, Any]] = []
        self.tokens: set[str] = set()
        self.busy = Busy()
        self.delegated: set[str] = set()  # the users domain-wide delegation lets it act as
        self.readonly: set[str] = set()  # calendars shared with "See all event details" only
        self.stall = 0.0  # seconds an insert waits before its answer (a Google that hangs)
        self.bumps = 0  # raise an event's sequence this far past the one written (Google may, on a change of time)
        self.clock = 1_000_000

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/calendar/v3/"

    def key(self, path: Path) -> Path:
        """Write a service account's JSON key whose token_uri is this fake; return its path."""
        pem = self.private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()).decode()
        path.write_text(json.dumps({
            "type": "service_account", "project_id": "outage-test", "private_key_id": "k1", "private_key": pem,
            "client_email": ACCOUNT, "client_id": "1", "token_uri": f"http://127.0.0.1:{self.port}/token"}))
        return path

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/token", self.token)
        app.router.add_route("*", "/calendar/v3/calendars/{calendar}/events", self.collection)
        app.router.add_route("*", "/calendar/v3/calendars/{calendar}/events/{event}", self.one)

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        head, payload, signature = str(form["assertion"]).split(".")
        public = self.private.public_key()
        try:
            public.verify(base64.urlsafe_b64decode(signature + "=="), f"{head}.{payload}".encode(), padding.PKCS1v15(),
                          hashes.SHA256())
        except Exception:  # noqa: BLE001 - any failure to verify is a refused grant
            return web.json_response({"error": "invalid_grant", "error_description": "Invalid JWT Signature."},
                                     status=400)
        claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
        if "sub" in claims and claims["sub"] not in self.delegated:
            return web.json_response({"error": "unauthorized_client", "error_description": "Client is unauthorized "
                                      "to retrieve access tokens using this method, or client not authorized for any "
                                      "of the scopes requested."}, status=401)
        self.grants.append(claims)
        token = f"ya29.test-{len(self.grants)}"
        self.tokens.add(token)
        return web.json_response({"access_token": token, "expires_in": 3600, "token_type": "Bearer"})

    def authorized(self, request: web.Request) -> web.Response | None:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            return error(401, "authError", "Invalid Credentials")
        if request.match_info["calendar"] not in self.shared:
            return error(404, "notFound", "Not Found")
        return None

    def note(self, request: web.Request, body: dict[str, Any], response: web.Response) -> web.Response:
        self.seen.append(Seen(request.method, request.path, request.headers.get("If-Match"), body,
                              response.status, request.match_info.get("event", body.get("id", ""))))
        return response

    def busy_answer(self) -> web.Response | None:
        if not self.busy.answers:
            return None
        status, domain, reason, after = self.busy.answers.pop(0)
        return error(status, reason, "Rate Limit Exceeded", {"Retry-After": after} if after else None, domain)

    def stamp(self, event: dict[str, Any]) -> dict[str, Any]:
        self.clock += 1
        event["etag"] = f'"{self.clock}"'
        event["updated"] = f"2026-03-01T00:00:{self.clock % 60:02d}.000Z"
        return event

    async def collection(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else {}
        await asyncio.sleep(self.stall)
        refused = self.authorized(request) or (self.busy_answer() if request.method == "POST" else None)
        if refused is None and request.match_info["calendar"] in self.readonly:
            refused = error(403, "requiredAccessLevel", "You need to have writer access to this calendar.")
        if refused is not None:
            return self.note(request, body, refused)
        if request.method != "POST":
            return self.note(request, body, error(405, "methodNotAllowed", "Method Not Allowed"))
        eid = body.get("id", "")
        if not ID.match(eid):
            return self.note(request, body, error(400, "invalid", "Invalid resource id value."))
        if body.get("recurrence") and "timeZone" not in body.get("start", {}):
            return self.note(request, body, error(400, "invalid", "Missing time zone definition for start time."))
        taken = "iCalUID" in body and any(e["iCalUID"] == body["iCalUID"] and e["status"] != "cancelled"
                                          for e in self.events.values())
        if eid in self.events or taken:
            return self.note(request, body, error(409, "duplicate", "The requested identifier already exists."))
        event = self.stamp({"iCalUID": f"{eid}@google.com", **body, "kind": "calendar#event",
                            "status": body.get("status", "confirmed"),
                            "sequence": body.get("sequence", 0) + self.bumps})
        self.events[eid] = event
        return self.note(request, body, web.json_response(event))

    async def one(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else {}
        refused = self.authorized(request) or (self.busy_answer() if request.method != "GET" else None)
        if refused is not None:
            return self.note(request, body, refused)
        event = self.events.get(request.match_info["event"])
        if event is None:
            return self.note(request, body, error(404, "notFound", "Not Found"))
        if request.method == "GET":
            return self.note(request, body, web.json_response(event))
        if request.match_info["calendar"] in self.readonly:
            return self.note(request, body, error(403, "requiredAccessLevel",
                                                  "You need to have writer access to this calendar."))
        condition = request.headers.get("If-Match")
        if condition is not None and condition != event["etag"]:
            return self.note(request, body, error(412, "conditionNotMet", "Precondition Failed"))
        if request.method == "DELETE":
            if event["status"] == "cancelled":
                return self.note(request, body, error(410, "deleted", "Resource has been deleted"))
            self.stamp(event)["status"] = "cancelled"
            return self.note(request, body, web.Response(status=204))
        if int(body.get("sequence", event["sequence"])) < int(event["sequence"]):
            return self.note(request, body, error(400, "invalid", "Invalid sequence value. The specified sequence "
                                                  "number is below the current sequence number of the resource."))
        if request.method == "PUT":
            replaced = {"kind": "calendar#event", "id": event["id"], "iCalUID": event["iCalUID"],
                        "status": "confirmed", "sequence": event["sequence"], **body}
            event.clear()
            event.update(replaced)
        elif request.method == "PATCH":
            for key, value in body.items():
                if isinstance(value, dict) and isinstance(event.get(key), dict):
                    event[key] = {**event[key], **{k: ({**event[key].get(k, {}), **v} if isinstance(v, dict) else v)
                                                   for k, v in value.items()}}
                else:
                    event[key] = value
        else:
            return self.note(request, body, error(405, "methodNotAllowed", "Method Not Allowed"))
        event["sequence"] = int(event["sequence"]) + self.bumps
        return self.note(request, body, web.json_response(self.stamp(event)))

    def edit(self, eid: str, **changes: Any) -> None:
        """Change an event as a person would in Google Calendar (a new ETag, a higher sequence)."""
        event = self.events[eid]
        event.update(changes)
        event["sequence"] = int(event["sequence"]) + 1
        self.stamp(event)

    def live(self) -> dict[str, dict[str, Any]]:
        """Return the events a calendar shows (deleted ones are not), by the UID outage-daemon wrote
        them for (in a private extended property), else by iCalUID."""
        return {e.get("extendedProperties", {}).get("private", {}).get("outageDaemonUid", e["iCalUID"]): e
                for e in self.events.values() if e["status"] != "cancelled"}

    def writes(self) -> list[tuple[str, int]]:
        """Return the writes made, as (method, status)."""
        return [(s.method, s.status) for s in self.seen if s.method != "GET"]

"""The HTTP app: feeds from memory, the status page, /api/windows, /healthz, /metrics, /robots.txt.

Nothing else is routed: no files are served from disk, so no path can reach outside the app.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from importlib import resources

import jinja2
from aiohttp import web
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client import Counter as PromCounter

from outage_daemon.core import i18n
from outage_daemon.core.model import Config
from outage_daemon.formats import FORMATS, MAIN
from outage_daemon.formats.status import api, rows
from outage_daemon.formats.text import summary


@dataclass(frozen=True)
class Published:
    """One feed, ready to serve: its bytes, gzipped bytes, strong ETag and Last-Modified."""

    data: bytes
    gz: bytes
    etag: str
    modified: datetime
    token: str | None = None
    media_type: str = "text/calendar; charset=utf-8"

    @classmethod
    def of(cls, data: bytes, modified: datetime, token: str | None = None,
           media_type: str = "text/calendar; charset=utf-8") -> Published:
        etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        return cls(data, gzip.compress(data, 6, mtime=0), etag, modified.replace(microsecond=0), token, media_type)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.deliveries = Gauge("outage_deliveries", "Deliveries in the ledger by state", ["state"], registry=r)
        self.reminders = PromCounter("outage_reminders", "Reminders decided, by outcome", ["outcome"], registry=r)
        self.reload_ok = Gauge("outage_last_reload_success", "1 if the last (re)load succeeded", registry=r)
        self.reload_time = Gauge("outage_last_reload_timestamp_seconds", "Time of the last (re)load attempt",
                                 registry=r)
        self.next_due = Gauge("outage_next_reminder_timestamp_seconds", "Due time of the next reminder", registry=r)
        self.feed_bytes = Gauge("outage_feed_bytes", "Size of each published feed", ["feed"], registry=r)
        self.windows = Gauge("outage_windows", "Windows in the loaded config", registry=r)


@dataclass
class State:
    """What the app serves; the daemon replaces fields as the config and feeds change."""

    config: Config
    feeds: dict[str, Published]
    clock: Callable[[], datetime]
    metrics: Metrics = field(default_factory=Metrics)
    reload_error: list[str] = field(default_factory=list)
    pass_error: str | None = None  # why the last pass failed, while passes fail
    published: asyncio.Event = field(default_factory=asyncio.Event)  # set once the first feeds are rendered
    reloaded_at: datetime | None = None


STATE = web.AppKey("state", State)
FIRST_RENDER_WAIT = 30.0  # seconds a feed request made right after start-up waits for the first render


def _page_env() -> jinja2.Environment:
    loader = jinja2.PackageLoader("outage_daemon", "templates")
    return jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined)


_ENV = _page_env()
_SCRIPT = resources.files("outage_daemon").joinpath("templates/page/countdown.js").read_text(encoding="utf-8")
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()
_CSP = f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{_SCRIPT_HASH}'; base-uri 'none'; " \
       "form-action 'none'; frame-ancestors 'none'"


def _base(request: web.Request, config: Config) -> str:
    if config.calendar.base_url:
        return config.calendar.base_url.rstrip("/")
    return f"{request.scheme}://{request.host}"


async def status_page(request: web.Request) -> web.Response:
    state = request.app[STATE]
    config, now = state.config, state.clock()
    lang = config.language if config.language in i18n.LABELS else "en"
    t = i18n.LABELS[lang]
    https = f"{_base(request, config)}/calendar.ics"
    html = _ENV.get_template("page/status.html").render(
        lang=lang, name=config.calendar.name, t=t, rows=rows(config, now), https=https,
        webcal="webcal://" + https.split("://", 1)[1], script=_SCRIPT, units=json.dumps([t["day"]]),
        sections=[("current", t["current"]), ("upcoming", t["upcoming"]), ("past", t["past"])],
        summary=lambda w: summary(w, lang), sep=i18n.label(lang, "list_sep"),
        span=lambda r: i18n.format_span(r.start, r.end, lang, r.window.all_day))
    return web.Response(text=html, content_type="text/html", charset="utf-8",
                        headers={"Content-Security-Policy": _CSP, "Cache-Control": "no-cache"})


def _serve(request: web.Request, published: Published | None) -> web.StreamResponse:
    if published is None:
        raise web.HTTPNotFound(text="no such feed\n")
    if published.token is not None:
        given = request.query.get("token", "")
        if not hmac.compare_digest(given.encode(), published.token.encode()):
            raise web.HTTPForbidden(text="this feed needs its ?token=\n")
    headers = {"ETag": published.etag, "Last-Modified": format_datetime(published.modified, usegmt=True),
               "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
    match = request.headers.get("If-None-Match")
    if match is not None:
        if published.etag in [m.strip() for m in match.split(",")] or match.strip() == "*":
            return web.Response(status=304, headers=headers)
    elif "If-Modified-Since" in request.headers:
        try:
            since = parsedate_to_datetime(request.headers["If-Modified-Since"])
        except (TypeError, ValueError):
            since = None
        if since is not None and since.tzinfo is not None and published.modified <= since:
            return web.Response(status=304, headers=headers)
    body = published.data
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        body, headers["Content-Encoding"] = published.gz, "gzip"
    headers["Content-Type"] = published.media_type
    return web.Response(body=body, headers=headers)


def feed_handler(extension: str, name: str | None = None) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Given a format's extension (and a fixed feed name, else the one in the path), return its handler."""

    async def handler(request: web.Request) -> web.StreamResponse:
        chosen, state = name or request.match_info["name"], request.app[STATE]
        if not state.published.is_set():  # just started: the first render is under way
            try:
                await asyncio.wait_for(state.published.wait(), FIRST_RENDER_WAIT)
            except asyncio.TimeoutError:
                raise web.HTTPServiceUnavailable(text="the feeds are being rendered; try again shortly\n",
                                                 headers={"Retry-After": "5"}) from None
        return _serve(request, state.feeds.get(f"{chosen}.{extension}"))

    return handler


async def windows(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return web.json_response(api(state.config, state.clock()), dumps=lambda o: json.dumps(o, ensure_ascii=False))


def location(error: str) -> str:
    """Given an error line ``FILE:LINE: path: message`` (or ``FILE: message``), return ``FILE:LINE``
    (or ``FILE``): where to look, never what the file says."""
    head = error.split(": ", 1)[0]
    return head if head and not head[:1].isspace() else "?"


async def healthz(request: web.Request) -> web.Response:
    """200 while reloads and passes succeed; else 503 with counts and locations (never file text)."""
    state = request.app[STATE]
    if state.reload_error:
        body = {"status": "degraded", "reason": "the last reload was refused; running on the previous config",
                "errors": len(state.reload_error), "locations": sorted({location(e) for e in state.reload_error}),
                "see": "the daemon's log"}
        return web.json_response(body, status=503)
    if state.pass_error:
        body = {"status": "degraded", "reason": "the last pass failed; nothing is sent", "error": state.pass_error}
        return web.json_response(body, status=503)
    return web.json_response({"status": "ok", "windows": len(state.config.windows)})


async def metrics(request: web.Request) -> web.Response:
    data = generate_latest(request.app[STATE].metrics.registry)
    return web.Response(body=data, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


async def robots(request: web.Request) -> web.Response:
    return web.Response(text="User-agent: *\nAllow: /calendar.ics\nAllow: /feeds/\nDisallow: /\n")


@web.middleware
async def hardened(request: web.Request, handler: Callable[[web.Request], object]) -> web.StreamResponse:
    response: web.StreamResponse = await handler(request)  # type: ignore[misc]
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


def app(state: State) -> web.Application:
    """Given the shared state, return the aiohttp application (GET and HEAD only)."""
    application = web.Application(middlewares=[hardened], client_max_size=1024)
    application[STATE] = state
    application.router.add_get("/", status_page)
    for fmt in FORMATS:
        application.router.add_get(f"/{MAIN}.{fmt.extension}", feed_handler(fmt.extension, MAIN))
        application.router.add_get(rf"/feeds/{{name:[a-z0-9][a-z0-9_-]{{0,63}}}}.{fmt.extension}",
                                   feed_handler(fmt.extension))
    application.router.add_get("/api/windows", windows)
    application.router.add_get("/healthz", healthz)
    application.router.add_get("/metrics", metrics)
    application.router.add_get("/robots.txt", robots)
    return application


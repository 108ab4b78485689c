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
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from importlib import resources

import jinja2
from aiohttp import web
from markupsafe import Markup
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client import Counter as PromCounter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from outage_daemon.ackweb import Desk, Names, answer, counter, roll
from outage_daemon.core import i18n
from outage_daemon.core.acks import Acknowledgement
from outage_daemon.core.model import Config, Feed, Window
from outage_daemon.formats import FORMATS, MAIN
from outage_daemon.formats.gauges import WindowGauge, next_change, window_gauges
from outage_daemon.formats.status import TIMELINE, Card, Page, api, page, qr_svg
from outage_daemon.formats.text import inert
from outage_daemon.ledger import LedgerError


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
        self.ledger_up = Gauge("outage_ledger_up", "1 if the last call to the ledger succeeded", registry=r)
        self.ledger_errors = PromCounter("outage_ledger_errors", "Passes that failed on the ledger", registry=r)
        self.config_hash = Gauge("outage_config_hash", "The loaded config's SHA-256, its first 48 bits as a number "
                                 "(like alertmanager_config_hash)", registry=r)
        self.clock_skew = Gauge("outage_clock_skew_seconds", "The ledger's clock minus this host's, as last "
                                "measured (0 on an embedded ledger)", registry=r)
        self.replicas = Gauge("outage_replicas", "Replicas seen in the ledger lately, this one included", registry=r)
        self.acknowledged = PromCounter("outage_acknowledgements", "Confirmations recorded through personal links, "
                                        "by the channel that carried the link", ["channel"], registry=r)
        self.config_hashes = Gauge("outage_replicas_config_hashes", "Distinct config hashes among those replicas "
                                   "(more than 1: they disagree)", registry=r)
        self.calendar_up = Gauge("outage_calendar_up", "1 if the last write into a pushed calendar (calendars:) "
                                 "succeeded, 0 while its writes fail", ["calendar"], registry=r)


@dataclass
class State:
    """What the app serves; the daemon replaces fields as the config and feeds change."""

    config: Config
    feeds: dict[str, Published]
    clock: Callable[[], datetime]
    metrics: Metrics = field(default_factory=Metrics)
    reload_error: list[str] = field(default_factory=list)
    pass_error: str | None = None  # why the last pass failed, while passes fail
    rendered: dict[str, tuple[Config, int, Published]] = field(default_factory=dict)  # page: (config, slot, body)
    render_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    confirmations: tuple[int, list[Acknowledgement]] | None = None  # (render slot, read then): see confirmations()
    published: asyncio.Event = field(default_factory=asyncio.Event)  # set once the first feeds are rendered
    ledger_error: str | None = None  # the ledger is unreachable: serving from memory, retrying
    divergent: dict[str, str] = field(default_factory=dict)  # node -> config hash, when replicas disagree
    failing_calendars: list[str] = field(default_factory=list)  # pushed calendars whose writes fail
    acks: Desk | None = None  # set when some audience acknowledges: the /ack/TOKEN pages work
    skew: str | None = None  # this host's clock differs from the ledger's by more than ledger.clock_skew
    outdated: bool = False  # replicas run a newer config: this one records no notices or reminders

    def __post_init__(self) -> None:
        self.metrics.registry.register(WindowCollector(self))


class WindowCollector(Collector):
    """The windows' gauges from the current config and clock, computed again only when the config
    changed or a window starts or ends (at 10,000 windows that is most of a scrape's cost)."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.cached: tuple[Config, datetime, datetime, list[GaugeMetricFamily]] | None = None

    def collect(self) -> list[GaugeMetricFamily]:
        """Return ``outage_window_active`` and ``outage_window_next_start_timestamp_seconds``."""
        config, now = self.state.config, self.state.clock()
        cached = self.cached
        if cached is None or cached[0] is not config or not cached[1] <= now < cached[2]:
            gauges = window_gauges(config, now)
            cached = self.cached = (config, now, next_change(gauges, now), self._families(gauges))
        return cached[3]

    @staticmethod
    def _families(gauges: list[WindowGauge]) -> list[GaugeMetricFamily]:
        labels = ["window", "system"]
        active = GaugeMetricFamily("outage_window_active", "1 while an occurrence of the window is on (from the "
                                   "stop to the restore), else 0", labels=labels)
        start = GaugeMetricFamily("outage_window_next_start_timestamp_seconds", "Start (stop) of the window's "
                                  "next occurrence; absent when none is planned", labels=labels)
        for gauge in gauges:
            active.add_metric([gauge.window, gauge.system], 1.0 if gauge.active else 0.0)
            if gauge.next_start is not None:
                start.add_metric([gauge.window, gauge.system], gauge.next_start.timestamp())
        return [active, start]


log = logging.getLogger("outage_daemon")

STATE = web.AppKey("state", State)
FIRST_RENDER_WAIT = 30.0  # seconds a feed request made right after start-up waits for the first render


def _page_env() -> jinja2.Environment:
    loader = jinja2.PackageLoader("outage_daemon", "templates")
    return jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
                              finalize=inert)  # no control or bidi character from a config reaches the page


_ENV = _page_env()
_SCRIPT = resources.files("outage_daemon").joinpath("templates/page/countdown.js").read_text(encoding="utf-8")
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()
_CSP = f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{_SCRIPT_HASH}'; connect-src 'self'; " \
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"  # connect-src: the page re-reads itself


def _base(config: Config) -> str:
    """Return the configured base_url, or "" (relative links): the Host header is never reflected."""
    return config.calendar.base_url.rstrip("/") if config.calendar.base_url else ""


def _span(config: Config, lang: str) -> Callable[[Card], Markup]:
    """Given the config, return how a card's times read: in the config's zone, each a ``<time>`` the
    page's script can show in the viewer's zone, with the UTC offset."""

    def span(card: Card) -> Markup:
        all_day = card.window.all_day
        start, end = (card.start, card.end) if all_day else (card.start.astimezone(config.tz),
                                                              card.end.astimezone(config.tz))
        if all_day:
            end = end - timedelta(days=1)
        same = start.date() == end.date()
        last = Markup('<time datetime="{}" data-part="{}">{}</time>').format(
            card.end.isoformat(), "time" if same and not all_day else "full",
            f"{end:%H:%M}" if same and not all_day else i18n.format_time(end, lang, all_day))
        first = Markup('<time datetime="{}" data-part="full">{}</time>').format(
            card.start.isoformat(), i18n.format_time(start, lang, all_day))
        if all_day and same:
            return first
        offset = "" if all_day else Markup('{}<span class="off">{}</span>').format(
            *(("", f"（{i18n.utc_offset(start)}）") if lang == "zh-CN" else (" ", f"({i18n.utc_offset(start)})")))
        return Markup("{} {} {}{}").format(first, i18n.label(lang, "to"), last, offset)

    return span


def token_feed(state: State, given: str) -> Feed | None:
    """Given a ``?token=``, return the feed with a token it matches (compared in constant time), or None."""
    found = None
    for feed in state.config.calendar.feeds:
        published = state.feeds.get(f"{feed.name}.ics")
        token = published.token if published is not None else None
        if token is not None and hmac.compare_digest(given.encode(), token.encode()):
            found = feed
    return found


async def status_page(request: web.Request) -> web.Response:
    """/: the status page, rendered at most once per RENDER_TTL per config, off the event loop. With
    a feed's ``?token=``, the cards of the windows that feed keeps also name who has confirmed and who
    has not (a wrong token: 403)."""
    state = request.app[STATE]
    feed = None
    if "token" in request.query:
        feed = token_feed(state, request.query["token"])
        if feed is None:
            raise web.HTTPForbidden(text="this view needs a feed's ?token=\n")
    recorded = await confirmations(state)
    published = await rendered(state, "page" if feed is None else f"page {feed.name}", lambda config, now: Published.of(
        render_page(config, now, counter(config, recorded), roll(config, recorded, feed)).encode(), now,
        media_type="text/html; charset=utf-8"))
    return web.Response(body=published.data, content_type="text/html", charset="utf-8",
                        headers={"Content-Security-Policy": _CSP,
                                 "Cache-Control": "no-cache" if feed is None else "private, no-store"})


def render_page(config: Config, now: datetime,
                acked: Callable[[Window, datetime], tuple[str, str] | None] = lambda window, start: None,
                named: Names = lambda window, start: []) -> str:
    """Given the config, ``now``, how many have confirmed a window occurrence (``acked``: a label and
    a count, or None) and who (``named``: label and names rows; none on the public page), return the
    status page's HTML (links from calendar.base_url only)."""
    lang = config.language if config.language in i18n.LABELS else "en"
    t = i18n.LABELS[lang]
    base = _base(config)
    shown = page(config, now, base)
    words = {k: t[k] for k in ("stops_in", "back_in", "ended", "banner_down", "banner_next", "banner_ok",
                               "banner_none")}
    offset = i18n.utc_offset(now.astimezone(config.tz))
    return _ENV.get_template("page/status.html").render(
        lang=lang, t=t, page=shown, now=now, base=base, script=_SCRIPT, units=json.dumps([t["day"]]),
        words=json.dumps(words, ensure_ascii=False), zone=config.tz.key,
        zone_line=t["zone_line"].format(zone=config.tz.key, offset=offset),
        sections=[("current", t["current"]), ("upcoming", t["upcoming"]), ("past", t["past"])],
        sep=i18n.label(lang, "sep"), list_sep=i18n.label(lang, "list_sep"), span=_span(config, lang), qr=qr_svg,
        fmt=lambda dt, all_day: i18n.format_time(dt.astimezone(config.tz), lang, all_day),
        short=lambda a, b, all_day: i18n.format_short(a.astimezone(config.tz), b.astimezone(config.tz), lang, all_day),
        dayname=lambda d: i18n.format_date_short(d, lang), acked=acked, named=named,
        now_left=_now_left(shown, now))


def _now_left(shown: Page, now: datetime) -> float:
    """Given the page, return where ``now`` sits on the timeline, in percent."""
    if not shown.ticks:
        return 0.0
    origin = shown.ticks[0][1]
    return round(min(max((now - origin).total_seconds() / TIMELINE.total_seconds(), 0.0), 1.0) * 100, 3)


def gzip_etag(etag: str) -> str:
    """Given a feed's strong ETag, return the one of its gzipped bytes (a different representation)."""
    return etag[:-1] + '-gz"'


def etag_matches(header: str, etag: str) -> bool:
    """Given If-None-Match and a feed's ETag, return whether they match by the weak comparison
    (RFC 9110 13.1.2): ``W/`` ignored, the gzip variant counted as the same feed."""
    if header.strip() == "*":
        return True
    for tag in header.split(","):
        tag = tag.strip()
        tag = tag[2:] if tag.startswith(("W/", "w/")) else tag
        if tag in (etag, gzip_etag(etag)) or tag.replace("-gzip", "") == etag:
            return True
    return False


def accepts_gzip(header: str) -> bool:
    """Given Accept-Encoding, return whether gzip is acceptable (named or ``*`` with q > 0)."""
    chosen: dict[str, float] = {}
    for part in header.lower().split(","):
        name, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        chosen[name.strip()] = q
    q = chosen.get("gzip", chosen.get("x-gzip", chosen.get("*", 0.0)))
    return q > 0


def _serve(request: web.Request, published: Published | None) -> web.StreamResponse:
    if published is None:
        raise web.HTTPNotFound(text="no such feed\n")
    if published.token is not None:
        given = request.query.get("token", "")
        if not hmac.compare_digest(given.encode(), published.token.encode()):
            raise web.HTTPForbidden(text="this feed needs its ?token=\n")
    zipped = accepts_gzip(request.headers.get("Accept-Encoding", ""))
    headers = {"ETag": gzip_etag(published.etag) if zipped else published.etag,
               "Last-Modified": format_datetime(published.modified, usegmt=True),
               "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
    match = request.headers.get("If-None-Match")
    if match is not None:
        if etag_matches(match, published.etag):
            return web.Response(status=304, headers=headers)
    elif "If-Modified-Since" in request.headers:
        try:
            since = parsedate_to_datetime(request.headers["If-Modified-Since"])
        except (TypeError, ValueError):
            since = None
        if since is not None and since.tzinfo is not None and published.modified <= since:
            return web.Response(status=304, headers=headers)
    body = published.data
    if zipped:
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


RENDER_TTL = 10  # seconds one rendering of the page or /api/windows is served (they show what is current now)


async def confirmations(state: State) -> list[Acknowledgement]:
    """Return every confirmation recorded, read from the ledger at most once per RENDER_TTL; while the
    ledger does not answer, the last ones read (the page is served from memory, as the feeds are)."""
    if state.acks is None:
        return []
    slot = int(state.clock().timestamp()) // RENDER_TTL
    last = state.confirmations
    if last is None or last[0] != slot:
        try:
            found = await state.acks.recorded(None)
        except LedgerError as exc:
            log.warning("status page: confirmations not read (%s); showing the last ones read", exc)
            found = last[1] if last is not None else []
        state.confirmations = last = (slot, found)
    return last[1]


async def rendered(state: State, name: str, render: Callable[[Config, datetime], Published]) -> Published:
    """Given a page's name and how to render it, return it rendered at most once per RENDER_TTL per
    config, on a worker thread: at 10,000 windows a rendering takes long enough to stall every
    other request if it ran on the event loop, or for each request."""
    config, now = state.config, state.clock()
    slot = int(now.timestamp()) // RENDER_TTL
    async with state.render_lock:
        cached = state.rendered.get(name)
        if cached is None or cached[0] is not config or cached[1] != slot:
            cached = state.rendered[name] = (config, slot, await asyncio.to_thread(render, config, now))
    return cached[2]


async def windows(request: web.Request) -> web.StreamResponse:
    """/api/windows: rendered like the page, and served like the feeds (ETag, 304, gzip)."""
    return _serve(request, await rendered(request.app[STATE], "api", lambda config, now: Published.of(
        json.dumps(api(config, now), ensure_ascii=False).encode(), now,
        media_type="application/json; charset=utf-8")))


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
    if state.ledger_error:
        body = {"status": "degraded", "reason": "the ledger is unreachable; serving from memory, retrying",
                "errors": [state.ledger_error]}
        return web.json_response(body, status=503)
    if state.divergent:
        body = {"status": "degraded", "reason": "replicas run different configs",
                "errors": [f"{node}: config {digest[:12]}" for node, digest in sorted(state.divergent.items())]
                + (["this replica runs an older config: it records no notices or reminders until it runs the "
                    "newest"] if state.outdated else [])}
        return web.json_response(body, status=503)
    if state.skew:
        body = {"status": "degraded", "reason": "the clock differs from the ledger's", "errors": [state.skew]}
        return web.json_response(body, status=503)
    if state.failing_calendars:
        body = {"status": "degraded", "reason": "writes into these calendars fail; they are retried",
                "calendars": state.failing_calendars, "see": "outage-daemon history, and the daemon's log"}
        return web.json_response(body, status=503)
    return web.json_response({"status": "ok", "windows": state.config.public_count})  # no hint of private ones


async def metrics(request: web.Request) -> web.Response:
    """/metrics: the exposition, rendered off the event loop (the window gauges walk the config)."""
    data = await asyncio.to_thread(generate_latest, request.app[STATE].metrics.registry)
    return web.Response(body=data, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


async def robots(request: web.Request) -> web.Response:
    return web.Response(text="User-agent: *\nAllow: /calendar.ics\nAllow: /feeds/\nDisallow: /\n")


HARDENING = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}


@web.middleware
async def hardened(request: web.Request, handler: Callable[[web.Request], object]) -> web.StreamResponse:
    """Add the hardening headers to every answer, errors (403, 404, 405, …) included."""
    try:
        response: web.StreamResponse = await handler(request)  # type: ignore[misc]
    except web.HTTPException as exc:
        for name, value in HARDENING.items():
            exc.headers.setdefault(name, value)
        raise
    for name, value in HARDENING.items():
        response.headers.setdefault(name, value)
    return response


async def acknowledgement(request: web.Request) -> web.Response:
    """/ack/TOKEN: a personal confirmation link (GET shows, POST records; see :mod:`outage_daemon.ackweb`)."""
    state = request.app[STATE]
    return await answer(request, state.config, state.acks, state.clock(), _ENV,
                        lambda channel: state.metrics.acknowledged.labels(channel).inc())


def app(state: State) -> web.Application:
    """Given the shared state, return the aiohttp application (GET and HEAD only, and POST to a
    confirmation link)."""
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
    application.router.add_get(r"/ack/{token:[A-Za-z0-9_.-]{1,4000}}", acknowledgement)
    application.router.add_post(r"/ack/{token:[A-Za-z0-9_.-]{1,4000}}", acknowledgement)
    return application


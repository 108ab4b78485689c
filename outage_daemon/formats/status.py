"""What the status page and /api/windows show: occurrences around ``now``. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

import segno

from outage_daemon.core import i18n
from outage_daemon.core.model import Config, Window
from outage_daemon.formats.text import clean, summary

PAST = timedelta(days=30)
AHEAD = timedelta(days=120)
LIMIT = 50


@dataclass(frozen=True)
class Row:
    window: Window
    start: datetime
    end: datetime
    phase: str  # current | upcoming | past


def rows(config: Config, now: datetime) -> list[Row]:
    """Given the config and ``now``, return the occurrences to show: current ones, up to fifty
    upcoming ones (120 days), and those that ended in the last 30 days (newest first)."""
    found: list[Row] = []
    for window in config.windows:
        if window.status == "cancelled" or not config.is_public(window):
            continue
        for occ in window.occurrences(now - PAST, now + AHEAD)[:LIMIT]:
            phase = "current" if occ.start <= now < occ.end else ("upcoming" if occ.start > now else "past")
            found.append(Row(window, occ.start, occ.end, phase))
    current = sorted((r for r in found if r.phase == "current"), key=lambda r: r.end)
    upcoming = sorted((r for r in found if r.phase == "upcoming"), key=lambda r: r.start)[:LIMIT]
    past = sorted((r for r in found if r.phase == "past"), key=lambda r: r.end, reverse=True)[:LIMIT]
    return current + upcoming + past


def api(config: Config, now: datetime) -> dict[str, object]:
    """Given the config and ``now``, return the /api/windows document."""
    return {
        "now": now.isoformat(),
        "windows": [{
            "id": w.id, "system": clean(w.system), "title": clean(w.title) if w.title else w.title,
            "summary": summary(w, config.language), "status": w.status, "start": w.start.isoformat(),
            "end": w.end.isoformat(), "timezone": w.tz.key, "all_day": w.all_day, "repeat": w.repeat,
            "services": [clean(s) for s in w.services],
        } for w in config.windows if config.is_public(w)],
        "occurrences": [{"window": r.window.id, "start": r.start.isoformat(), "end": r.end.isoformat(),
                         "phase": r.phase} for r in rows(config, now)],
    }


TIMELINE = timedelta(days=28)
DEFAULT_NAME = "Planned outages"  # the schema's default calendar name, translated on the page


@dataclass(frozen=True)
class Card:
    """One window on the page, once: the occurrence that matters now (current, else next, else last)."""

    window: Window
    start: datetime
    end: datetime
    phase: str  # current | upcoming | past
    rhythm: str  # "每周日 02:00–04:00" for a repeat, else ""
    following: datetime | None  # the occurrence after this one, for a repeat


@dataclass(frozen=True)
class Bar:
    """One occurrence on the timeline: its place in percent of the strip's width."""

    window_id: str
    left: float
    width: float
    start: datetime
    end: datetime
    status: str


@dataclass(frozen=True)
class Lane:
    """One system's row on the timeline."""

    system: str
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class Banner:
    """The overall state in one line: ``down`` (N down now), ``next`` (next outage in …) or ``ok``."""

    tone: str
    count: int
    card: Card | None


@dataclass(frozen=True)
class Subscription:
    """How to subscribe to one feed, in every client; ``private`` feeds need a token the page never shows."""

    name: str
    title: str
    anchor: str
    https: str
    webcal: str
    google: str
    outlook: str
    office: str
    private: bool


@dataclass(frozen=True)
class Page:
    """Everything the status page shows, computed from the config and ``now``."""

    name: str
    banner: Banner
    cards: tuple[Card, ...]
    lanes: tuple[Lane, ...]
    ticks: tuple[tuple[float, datetime], ...]  # one per day: (left %, local midnight)
    feeds: tuple[Subscription, ...]


def _card(window: Window, now: datetime, language: str) -> Card | None:
    """Given a window, return its card: the current occurrence, else the next, else the last shown."""
    occurrences = window.occurrences(now - PAST, now + AHEAD)
    if not occurrences:
        return None
    current = [o for o in occurrences if o.start <= now < o.end]
    ahead = [o for o in occurrences if o.start > now]
    chosen = current[0] if current else (ahead[0] if ahead else occurrences[-1])
    phase = "current" if current else ("upcoming" if ahead else "past")
    later = [o for o in occurrences if o.start > chosen.start]
    rhythm = i18n.format_rule(window.repeat, window.start, window.end, language, window.all_day) if window.repeat \
        else ""
    return Card(window, chosen.start, chosen.end, phase, rhythm, later[0].start if window.repeat and later else None)


def cards(config: Config, now: datetime) -> list[Card]:
    """Given the config and ``now``, return one card per window shown (cancelled and tentative ones
    included, marked by their status): down now first, then upcoming by start, then the recently ended."""
    found = [c for c in (_card(w, now, config.language) for w in config.windows if config.is_public(w))
             if c is not None]
    order = {"current": 0, "upcoming": 1, "past": 2}
    return sorted(found, key=lambda c: (order[c.phase], c.end.timestamp() if c.phase == "current" else
                                        (c.start.timestamp() if c.phase == "upcoming" else -c.end.timestamp())))


def lanes(config: Config, now: datetime) -> tuple[list[Lane], list[tuple[float, datetime]]]:
    """Given the config and ``now``, return the timeline of the next four weeks from the start of
    today (the config's zone): one lane per system with a bar per occurrence, and the day ticks."""
    today = now.astimezone(config.tz)
    origin = today.replace(hour=0, minute=0, second=0, microsecond=0)
    span = TIMELINE.total_seconds()

    def pct(t: datetime) -> float:
        return round(min(max((t - origin).total_seconds() / span, 0.0), 1.0) * 100, 3)

    by_system: dict[str, list[Bar]] = {}
    for window in config.windows:
        if not config.is_public(window):
            continue
        for occ in window.occurrences(origin, origin + TIMELINE):
            left = pct(occ.start)
            width = max(pct(occ.end) - left, 0.5)
            by_system.setdefault(window.system, []).append(
                Bar(window.id, min(left, 99.5), width, occ.start, occ.end, window.status))
    days = [(origin + timedelta(days=d)) for d in range(int(TIMELINE.days))]
    ticks = [(pct(d.astimezone(config.tz).replace(hour=0)), d) for d in days]
    return [Lane(system, tuple(sorted(bars, key=lambda b: b.start))) for system, bars in by_system.items()], ticks


def subscriptions(config: Config, base: str) -> list[Subscription]:
    """Given the config and the public base URL, return the main feed and every extra feed with a
    link for each client: Google's "add by URL", Outlook.com and Microsoft 365's "add from web",
    ``webcal://`` (Apple, Outlook desktop) and the https URL to copy. Without a base URL the links
    are relative: the clients' links, which need an absolute URL, are left empty."""
    name = page_name(config)
    out = []
    for feed_name, title, private, path in [("calendar", name, False, "/calendar.ics"), *(
            (f.name, f.title or f"{name} · {f.name}", bool(f.token_file or f.token_env), f"/feeds/{f.name}.ics")
            for f in config.calendar.feeds)]:
        https = base.rstrip("/") + path
        if "://" not in https:
            out.append(Subscription(feed_name, title, f"_feed-{feed_name}", https, "", "", "", "", private))
            continue
        webcal = "webcal://" + https.split("://", 1)[1]
        add = f"?url={quote(https, safe='')}&name={quote(title, safe='')}"
        out.append(Subscription(feed_name, title, f"_feed-{feed_name}", https, webcal,
                                "https://calendar.google.com/calendar/r?cid=" + quote(webcal, safe=":/"),
                                "https://outlook.live.com/calendar/0/addfromweb" + add,
                                "https://outlook.office.com/calendar/0/addfromweb" + add, private))
    return out


def page_name(config: Config) -> str:
    """Given the config, return the calendar's name, the default one in the page's language."""
    name = config.calendar.name
    return i18n.label(config.language, "default_name") if name == DEFAULT_NAME else name


def page(config: Config, now: datetime, base: str) -> Page:
    """Given the config, ``now`` and the public base URL, return what the status page shows."""
    shown = cards(config, now)
    live = [c for c in shown if c.window.status != "cancelled"]
    down = [c for c in live if c.phase == "current"]
    upcoming = [c for c in live if c.phase == "upcoming"]
    banner = Banner("down", len(down), down[0]) if down else (
        Banner("next", 0, upcoming[0]) if upcoming else Banner("ok", 0, None))
    strips, ticks = lanes(config, now)
    return Page(page_name(config), banner, tuple(shown), tuple(strips), tuple(ticks),
                tuple(subscriptions(config, base)))


def qr_svg(url: str, label: str) -> str:
    """Given a URL, return its QR code as inline SVG markup (segno), labelled for screen readers."""
    svg: str = segno.make(url, error="m").svg_inline(scale=4, border=2, dark="#000000", light="#ffffff",
                                                   title=label)
    return svg

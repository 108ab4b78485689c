"""The iCalendar feed: windows in, RFC 5545 bytes out. Pure: ``now`` and revisions are parameters.

Each event's bytes are cached by everything they depend on, so re-rendering after one window of
ten thousand changed renders one event and joins the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from datetime import date, datetime, timedelta
from importlib.metadata import PackageNotFoundError, version

from icalendar import Alarm, Calendar, Event, vDatetime, vDuration, vRecur, vText

from outage_daemon.core import addresses, i18n
from outage_daemon.core.model import Config, Feed, Maintnote, Window
from outage_daemon.core.records import Revision
from outage_daemon.core.timerules import UTC, add_absolute, is_ambiguous, rule_parts, until_day, until_instant
from outage_daemon.formats.base import FeedFormat
from outage_daemon.formats.text import clean, status_link, summary
from outage_daemon.formats.vtimezone import vtimezone

_END = b"END:VCALENDAR\r\n"
_UTC_KEYS = frozenset(("UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu"))
_ETC_UTC = "Etc/UTC"


def prodid() -> str:
    try:
        release = version("outage-daemon")
    except PackageNotFoundError:  # pragma: no cover - a source tree without metadata
        release = "dev"
    return f"-//outage-daemon//outage-daemon {release}//EN"


def uid(window: Window, config: Config) -> str:
    """Given a window, return its stable event UID."""
    return f"{window.id}@{config.calendar.domain}"


def kept(config: Config, now: datetime) -> list[Window]:
    """Given the config and ``now``, return the windows still worth showing anywhere: cancelled ones
    stay (as cancelled) until ``calendar.keep_cancelled`` after their end."""
    keep = config.calendar.keep_cancelled
    out = []
    for window in config.windows:
        if window.status == "cancelled":
            last = window.last_end()
            if last is not None and add_absolute(last, keep.approx) < now:
                continue
        out.append(window)
    return out


def published(config: Config, now: datetime, feed: Feed | None = None) -> list[Window]:
    """Given the config, ``now`` and an optional extra feed, return the windows that feed shows (of
    those :func:`kept`)."""
    return [w for w in kept(config, now) if config.shows(feed, w)]


def describe(window: Window, config: Config) -> str:
    """Given a window, return the event description: what a notice would say, in the language."""
    lang = config.language

    def line(key: str, value: str) -> str:
        return f"{i18n.label(lang, key)}{i18n.label(lang, 'sep')}{value}"

    lines = []
    if window.rule is None:
        lines.append(line("when", i18n.format_span(window.start, window.end, lang, window.all_day)))
    # Elapsed time (a fall-back night's 00:00-04:00 lasts 5 hours); all-day windows last whole days.
    length = window.local_span if window.all_day else window.length
    lines.append(line("duration", i18n.format_duration(length, lang)))
    if window.services:
        lines.append(line("services", i18n.label(lang, "list_sep").join(window.services)))
    if window.description:
        lines.append(window.description)
    if window.alternatives:
        lines.append(line("alternatives", window.alternatives))
    if window.contacts:
        lines.append(line("contacts", window.contacts))
    link = status_link(window, config)
    if link:
        lines.append(line("status_page", link))
    if window.url:
        lines.append(line("notice", window.url))
    return clean("\n".join(lines), multiline=True)


def _rrule(window: Window) -> vRecur | None:
    if window.repeat is None:
        return None
    body = window.repeat.strip()
    body = body[6:] if body.upper().startswith("RRULE:") else body
    recur: vRecur = vRecur.from_ical(body)
    until = rule_parts(body).get("UNTIL")
    if until is not None:  # RFC 5545 wants UTC (or a DATE for all-day); ours may be local wall time
        recur["UNTIL"] = [until_day(until, window.tz) if window.all_day else until_instant(until, window.tz)]
    if window.rule is not None and window.rule.collides():
        # Readers that count each generated instance would spend COUNT on a duplicate: say when
        # the last occurrence starts instead.
        last = list(window.rule)[-1]
        del recur["COUNT"]
        recur["UNTIL"] = [window.rule.place(last)]
    return recur


def _exdates(window: Window) -> list[date | datetime | vDatetime]:
    """Return one EXDATE per instance ``except:`` removes (none for an entry that names none).

    Each names the local time the rule computes (02:30 in a DST gap, not the 03:30 it starts at),
    so that every reader matches it with its own instance, however it places that.
    """
    if window.all_day:
        return list(sorted({naive.date() for naive in window.excluded}))
    return [_zoned(naive.replace(tzinfo=window.tz)) for naive in sorted(window.excluded)]


def _zoned(dt: datetime) -> datetime | vDatetime:
    """Given an aware time, return it with a TZID; a UTC time as ``Etc/UTC``, since Google floats a
    repeating event's ``Z`` start in the calendar's ``X-WR-TIMEZONE``."""
    if zone_key(dt) != _ETC_UTC:
        return dt
    value = vDatetime(dt.replace(tzinfo=None))
    value.params["TZID"] = _ETC_UTC  # icalendar writes TZID=UTC as Z
    return value


def zone_key(dt: datetime) -> str:
    """Given an aware time, return the TZID it is written with (``Etc/UTC`` for every UTC alias)."""
    key = getattr(dt.tzinfo, "key", "UTC")
    return _ETC_UTC if key in _UTC_KEYS or dt.utcoffset() is None else str(key)


def _start_end(window: Window) -> tuple[date | datetime | vDatetime, date | datetime | vDatetime]:
    """Return DTSTART and DTEND values: dates for an all-day window; a wall-clock time that happens
    twice in UTC (with a TZID, readers take the first), except a repeat's start (refused at check
    when it is the second)."""
    if window.all_day:
        return window.start.date(), window.end.date()
    if window.rule is None:
        return _unmistakable(window.start), _unmistakable(window.end)
    end = window.end.astimezone(UTC) if is_ambiguous(window.end) else _zoned(window.end)
    return _zoned(window.start), end


def _unmistakable(dt: datetime) -> datetime:
    return dt.astimezone(UTC) if is_ambiguous(dt) else dt


def event(window: Window, config: Config, revision: Revision, maintnote: Maintnote | None = None) -> Event:
    """Given a window and its revision (and a feed's BCOP properties), return its VEVENT."""
    ev = Event()
    ev.add("uid", uid(window, config))
    ev.add("dtstamp", revision.last_modified.astimezone(UTC))
    ev.add("created", revision.created.astimezone(UTC))
    ev.add("last-modified", revision.last_modified.astimezone(UTC))
    ev.add("sequence", revision.sequence)
    start, end = _start_end(window)
    ev.add("dtstart", start)
    ev.add("dtend", end)
    recur = _rrule(window)
    if recur is not None:
        ev.add("rrule", recur)
        for exdate in _exdates(window):  # one property each: a TZID parameter cannot vary in a list
            ev.add("exdate", exdate)
    ev.add("summary", summary(window, config.language))
    ev.add("description", describe(window, config))
    ev.add("categories", [clean(window.system)])
    ev.add("status", window.status.upper())
    ev.add("transp", "TRANSPARENT")  # an outage does not make the subscriber busy
    link = status_link(window, config)
    if link:
        ev.add("url", link)
    for offset in config.calendar.alarms:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", summary(window, config.language))
        alarm.add("trigger", -timedelta(days=offset.days, seconds=offset.seconds))
        ev.add_component(alarm)
    if maintnote is not None:
        add_maintnote(ev, window, config, maintnote)
    return ev


def add_maintnote(ev: Event, window: Window, config: Config, maintnote: Maintnote) -> None:
    """Given an event, add the NANOG BCOP maintenance-notification properties (and the ORGANIZER they
    need, from ``email.from``): the window id as the maintenance id, its system as the object; the
    status follows the window's, never the clock, so the bytes stay the same until the window changes."""
    ev.add("x-maintnote-provider", vText(clean(maintnote.provider or config.calendar.domain)))
    ev.add("x-maintnote-account", vText(clean(maintnote.account)))
    ev.add("x-maintnote-maintenance-id", vText(window.id))
    ev.add("x-maintnote-object-id", vText(clean(window.system)),
           parameters={"X-MAINTNOTE-OBJECT-IMPACT": maintnote.impact})
    ev.add("x-maintnote-impact", vText(maintnote.impact))
    ev.add("x-maintnote-status", vText(window.status.upper()))
    sender = addresses.parse(config.email.from_addr)
    ev.add("organizer", f"mailto:{sender.address}", parameters={"CN": clean(sender.name)} if sender.name else {})


HORIZON_YEARS = 10
"""A repeat without end has its zone described through this many years after ``now`` (or after its
first year, if later): clients that place times by the VTIMEZONE are right that far."""


def zone_years(windows: Iterable[Window], now: datetime) -> dict[str, tuple[int, int]]:
    """Given windows, return each TZID their times are written with and the years to describe:
    every year an occurrence reaches, or :data:`HORIZON_YEARS` for a repeat without end."""
    spans: dict[str, tuple[int, int]] = {}
    for window in windows:
        key = zone_key(window.start)
        if window.all_day or (key == _ETC_UTC and window.rule is None):
            continue  # a one-off UTC time is written with Z
        last = window.last_end()
        last_year = last.year if last is not None else max(now.year, window.start.year) + HORIZON_YEARS
        lo, hi = spans.get(key, (window.start.year, last_year))
        spans[key] = (min(lo, window.start.year), max(hi, last_year))
    return spans


def cache_key(revision: Revision) -> str:
    """Given a window's revision, return the key of its event bytes in a render cache."""
    return f"{revision.fingerprint}/{revision.sequence}/{revision.created}/{revision.last_modified}"


def render(config: Config, revisions: Mapping[str, Revision], now: datetime,
           feed: Feed | None = None, cache: MutableMapping[str, bytes] | None = None) -> bytes:
    """Given the config, every window's revision and ``now``, return the feed's bytes.

    ``feed`` None renders the main feed (every published window). ``cache`` keeps event bytes
    between calls; identical input gives identical bytes.
    """
    windows = published(config, now, feed)
    zones = tuple(sorted(zone_years(windows, now).items()))
    name = clean(feed.title if feed is not None and feed.title else config.calendar.name)
    head_key = f"head/{name}/{config.calendar.description}/{config.tz.key}/{config.calendar.refresh}/{zones}"
    head = cache.get(head_key) if cache is not None else None
    if head is None:
        head = _head(config, name, zones)
        if cache is not None:
            cache[head_key] = head
    parts = [head]
    maintnote = feed.maintnote if feed is not None else config.calendar.maintnote
    for window in sorted(windows, key=lambda w: (w.start, w.id)):
        revision = revisions[window.id]
        key = cache_key(revision) + (f"|{maintnote}" if maintnote is not None else "")  # "|": a variant
        data = cache.get(key) if cache is not None else None
        if data is None:
            data = event(window, config, revision, maintnote).to_ical()
            if cache is not None:
                cache[key] = data
        parts.append(data)
    parts.append(_END)
    return b"".join(parts)


def _head(config: Config, name: str, zones: tuple[tuple[str, tuple[int, int]], ...]) -> bytes:
    """Return the calendar's properties and VTIMEZONEs, without the closing line."""
    cal = Calendar()
    cal.add("prodid", prodid())
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", vText(name))  # vText: the library writes X- values unescaped
    cal.add("name", vText(name))  # RFC 7986 TEXT; the library does not know NAME
    if config.calendar.description:
        cal.add("x-wr-caldesc", vText(clean(config.calendar.description)))
        cal.add("description", clean(config.calendar.description))
    cal.add("x-wr-timezone", config.tz.key)
    refresh = timedelta(days=config.calendar.refresh.days, seconds=config.calendar.refresh.seconds)
    cal.add("refresh-interval", refresh, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(refresh))
    for key, (first, last) in zones:
        cal.add_component(vtimezone(key, first, last))
    head: bytes = cal.to_ical()
    assert head.endswith(_END)  # noqa: S101 - the library's own framing
    return head[: -len(_END)]


def last_modified(config: Config, revisions: Mapping[str, Revision], now: datetime,
                  extra: Feed | None = None) -> datetime:
    """Given a feed, return when its content last changed (for HTTP Last-Modified)."""
    return max((revisions[w.id].last_modified for w in published(config, now, extra) if w.id in revisions),
               default=datetime(2000, 1, 1, tzinfo=UTC))


FORMAT = FeedFormat("icalendar", "ics", "text/calendar; charset=utf-8", render)

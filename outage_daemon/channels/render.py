"""What every channel renders from: the Jinja2 templates and the values of one notification. Pure.

Templates ship in the package (``templates/LANG/...``); a folder named by ``templates:`` in the
config overrides any of them. The HTML environment escapes every value, whatever a template's
file name; the subject is cleaned to one line, so no field can inject a header.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from types import CodeType
from urllib.parse import quote

import jinja2

from outage_daemon.core import i18n
from outage_daemon.core.decide import Notification
from outage_daemon.core.kinds import Kind
from outage_daemon.core.model import Config, Window
from outage_daemon.core.records import Schedule
from outage_daemon.core.timerules import add_absolute
from outage_daemon.formats.text import clean, status_link


@dataclass(frozen=True)
class Templates:
    """The two Jinja2 environments: text (no escaping) and HTML (autoescape always on)."""

    text: jinja2.Environment
    html: jinja2.Environment


class _Compiled(jinja2.BytecodeCache):
    """The templates compiled by this process, by name and file, each kept with the checksum of its
    source: a new environment (every reload builds one) compiles only what changed since."""

    def __init__(self) -> None:
        self.code: dict[str, tuple[str, CodeType | None]] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        checksum, code = self.code.get(bucket.key, ("", None))
        if checksum == bucket.checksum:
            bucket.code = code

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.code[bucket.key] = (bucket.checksum, bucket.code)


_COMPILED = {False: _Compiled(), True: _Compiled()}  # by autoescape: it changes the compiled code


def templates(folder: str | None) -> Templates:
    """Given an optional override folder, return the template environments (user's first), reusing
    what this process compiled before from the same source."""
    loaders: list[jinja2.BaseLoader] = []
    if folder:
        loaders.append(jinja2.FileSystemLoader(folder))
    loaders.append(jinja2.PackageLoader("outage_daemon", "templates"))
    loader = jinja2.ChoiceLoader(loaders)

    def environment(escape: bool) -> jinja2.Environment:
        return jinja2.Environment(loader=loader, autoescape=escape, undefined=jinja2.StrictUndefined,  # noqa: S701
                                  keep_trailing_newline=True, bytecode_cache=_COMPILED[escape])

    return Templates(text=environment(False), html=environment(True))


_URL_SAFE = ":/?#@!$&'*+,;=%~.-_"  # ( ) < > [ ] and spaces are encoded: a link stays one link in markdown
LATE = timedelta(minutes=1)  # a reminder rendered this much after its due time speaks of the time really left


def _last(end: datetime, language: str, all_day: bool) -> str:
    """Given an occurrence's (exclusive) end, return it in words: an all-day window's last day, inclusive."""
    return i18n.format_time(end - timedelta(days=1) if all_day else end, language, all_day)


NEXT_REACH = timedelta(days=800)  # how far ahead a notice looks for a repeating window's next occurrence


def _span(notification: Notification) -> tuple[datetime, datetime]:
    """Given a notification, return the span it speaks of: its occurrence; for a notice about a
    repeating window, the occurrence under way or next at its due time (never a finished first one)."""
    window, occurrence = notification.window, notification.occurrence
    if occurrence is None and window.rule is not None:
        ahead = window.occurrences(notification.due, add_absolute(notification.due, NEXT_REACH))
        occurrence = ahead[0] if ahead else None
    return (occurrence.start, occurrence.end) if occurrence else (window.start, window.end)


def _repeat(notification: Notification, language: str) -> dict[str, object]:
    """Given a notification, return its window's repetition in words: the rule (``每周日 02:00–04:00``),
    the last day (empty when it never ends) and whether the times shown are the next occurrence's."""
    window = notification.window
    if window.repeat is None:
        return {"rule": "", "repeat_until": "", "next": False}
    last = window.last_end()
    return {"rule": i18n.format_rule(window.repeat, window.start, window.end, language, window.all_day),
            "repeat_until": i18n.format_time(last - timedelta(days=1) if window.all_day else last, language, True)
            if last else "", "next": notification.occurrence is None}


def _times(notification: Notification, config: Config) -> dict[str, object]:
    """Given a notification, return its times in words, in the window's zone."""
    lang, window = config.language, notification.window
    start, end = _span(notification)
    values: dict[str, object] = {
        "start": i18n.format_time(start, lang, window.all_day), "end": _last(end, lang, window.all_day),
        "zone": window.tz.key, "utc_offset": i18n.utc_offset(start),
        "when": i18n.format_short(start, end, lang, window.all_day),
        "duration": i18n.format_duration(end - start, lang), "previous_start": "", "previous_end": "",
        "previous_when": "", "previous_until": "", **_repeat(notification, lang),
        "until": f"{end:%H:%M}" if not window.all_day and end.date() == start.date()
        else _last(end, lang, window.all_day),  # the end, without the date when it is the same day
    }
    previous = notification.previous
    moved = previous is not None and previous.timing != Schedule.of(window).timing
    values["status_change"] = window.status if previous is not None and previous.status != window.status else ""
    if previous is not None and moved:
        old_start, old_end = (t.astimezone(window.tz) for t in previous.times())
        values["previous_start"] = i18n.format_time(old_start, lang, window.all_day)
        values["previous_end"] = _last(old_end, lang, window.all_day)
        values["previous_when"] = i18n.format_short(old_start, old_end, lang, window.all_day)
        values["previous_until"] = f"{old_end:%H:%M}" if not window.all_day and old_end.date() == old_start.date() \
            else values["previous_end"]
    return values


def _countdown(notification: Notification, config: Config, now: datetime | None) -> dict[str, object]:
    """Given a notification and when it is rendered (None: at its due time), return the countdown:
    the planned offset when on time, else the time really left to the milestone (rounded down)."""
    offset, occurrence, kind = notification.offset, notification.occurrence, notification.kind
    if offset is None or occurrence is None or not kind.counts_down:
        return {"countdown": "", "late": False}
    if now is None or now - notification.due < LATE:
        return {"countdown": i18n.format_duration(offset.approx, config.language), "late": False}
    left = kind.milestone(occurrence) - now
    return {"countdown": i18n.format_remaining(left, config.language), "late": True}


def _links(notification: Notification, config: Config) -> dict[str, object]:
    """Given a notification, return its links: the window on the status page, the page's subscribe
    section (never the raw feed: a browser downloads that as a copy), the original notice."""
    base = config.calendar.base_url.rstrip("/") if config.calendar.base_url else ""
    window = notification.window
    return {"status_url": status_link(window, config) or "", "feed_url": f"{base}/#_subscribe" if base else "",
            "notice_url": quote(window.url, safe=_URL_SAFE) if window.url else ""}


TOPIC_TITLE = 30  # a longer title is cut in subjects, so the kind and the time stay in sight on a phone


def topic(window: Window, language: str) -> str:
    """Given a window, return the part every subject about it shares, its ``Thread-Topic``: the system,
    and the title when there is one (``核心数据库「每周例行维护」``), cut to :data:`TOPIC_TITLE` characters."""
    system, title = clean(window.system), clean(window.title or "")
    title = title if len(title) <= TOPIC_TITLE else title[:TOPIC_TITLE - 1].rstrip() + "…"
    return i18n.label(language, "topic").format(system=system, title=title) if title else system


def context(notification: Notification, config: Config, env: Templates, channel: str,
            now: datetime | None = None) -> dict[str, object]:
    """Given what to send, the channel ("email" or "chat") and when it is rendered (None: at its due
    time), return the template variables (all text, in the configured language), the one-line subject
    and the inbox preheader among them."""
    lang, window = config.language, notification.window
    services = [clean(s) for s in window.services]
    values: dict[str, object] = {
        "kind": str(notification.kind), "language": lang, "system": clean(window.system),
        "title": clean(window.title or ""), "services": services,
        "description": clean(window.description or "", multiline=True),
        "alternatives": clean(window.alternatives or "", multiline=True),
        "contacts": clean(window.contacts or "", multiline=True), "key": notification.key, "channel": channel,
        "cancelled": notification.kind is Kind.CANCELLED or window.status == "cancelled",
        "tentative": window.status == "tentative", "reply_to": bool(config.email.reply_to),
        "ack_url": notification.ack_url, "missing": [clean(m) for m in notification.missing],
        **_times(notification, config), **_countdown(notification, config, now), **_links(notification, config),
    }
    values["topic"] = topic(window, lang)
    sep = i18n.label(lang, "list_sep")
    values["preheader"] = " · ".join(str(v) for v in (values["when"], values["duration"],
                                                       sep.join(services)) if v)
    values["subject"] = clean(env.text.get_template(f"{lang}/subject.txt").render(values))[:300]
    return values

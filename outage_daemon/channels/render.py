"""What every channel renders from: the Jinja2 templates and the values of one notification. Pure.

Templates ship in the package (``templates/LANG/...``); a folder named by ``templates:`` in the
config overrides any of them. The HTML environment escapes every value, whatever a template's
file name; the subject is cleaned to one line, so no field can inject a header.
"""

from __future__ import annotations

from dataclasses import dataclass

import jinja2

from outage_daemon.core import i18n
from outage_daemon.core.decide import Notification
from outage_daemon.core.model import Config
from outage_daemon.formats.text import clean, status_link


@dataclass(frozen=True)
class Templates:
    """The two Jinja2 environments: text (no escaping) and HTML (autoescape always on)."""

    text: jinja2.Environment
    html: jinja2.Environment


def templates(folder: str | None) -> Templates:
    """Given an optional override folder, return the template environments (user's first)."""
    loaders: list[jinja2.BaseLoader] = []
    if folder:
        loaders.append(jinja2.FileSystemLoader(folder))
    loaders.append(jinja2.PackageLoader("outage_daemon", "templates"))
    loader = jinja2.ChoiceLoader(loaders)

    def environment(escape: bool) -> jinja2.Environment:
        return jinja2.Environment(loader=loader, autoescape=escape, undefined=jinja2.StrictUndefined,  # noqa: S701
                                  keep_trailing_newline=True)

    return Templates(text=environment(False), html=environment(True))


def context(notification: Notification, config: Config, env: Templates, channel: str) -> dict[str, object]:
    """Given what to send and the channel ("email" or "chat"), return the template variables (all
    text, in the configured language), the one-line subject among them."""
    lang, window = config.language, notification.window
    occurrence = notification.occurrence
    start, end = (occurrence.start, occurrence.end) if occurrence else (window.start, window.end)
    values: dict[str, object] = {
        "kind": str(notification.kind), "language": lang, "system": clean(window.system),
        "title": clean(window.title or ""), "start": i18n.format_time(start, lang, window.all_day),
        "end": i18n.format_time(end, lang, window.all_day), "zone": window.tz.key,
        "duration": i18n.format_duration(end - start, lang),
        "countdown": i18n.format_duration(notification.offset.approx, lang) if notification.offset else "",
        "services": [clean(s) for s in window.services],
        "description": clean(window.description or "", multiline=True),
        "alternatives": clean(window.alternatives or "", multiline=True),
        "contacts": clean(window.contacts or "", multiline=True),
        "status_url": status_link(window, config) or "",
        "feed_url": f"{config.calendar.base_url.rstrip('/')}/calendar.ics" if config.calendar.base_url else "",
        "notice_url": window.url or "", "previous_start": "", "previous_end": "", "key": notification.key,
        "channel": channel,
    }
    if notification.previous is not None:
        old_start, old_end = notification.previous.times()
        values["previous_start"] = i18n.format_time(old_start.astimezone(window.tz), lang, window.all_day)
        values["previous_end"] = i18n.format_time(old_end.astimezone(window.tz), lang, window.all_day)
    values["subject"] = clean(env.text.get_template(f"{lang}/subject.txt").render(values))[:300]
    return values

"""Text helpers shared by the feed, the messages and the status page. Pure."""

from __future__ import annotations

import re

from outage_daemon.core import i18n
from outage_daemon.core.model import Config, Window

# C0 and C1 controls, line/paragraph separators, and the bidi controls that reorder what a reader
# sees (U+202A-U+202E embeddings and overrides, U+2066-U+2069 isolates, LRM, RLM, ALM).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
_LINEBREAKS = re.compile(r"\r\n|\r|\n|\x85")


def clean(text: str, multiline: bool = False) -> str:
    """Given any text, return it with control characters gone and, unless ``multiline``, on one
    line; escaping for iCalendar is the library's job after this."""
    text = _LINEBREAKS.sub("\n" if multiline else " ", text)
    return _CONTROL.sub(" ", text).replace("\t", " ").strip()


def inert(value: object) -> object:
    """Given a value a template prints, return it with control and bidi characters blanked if it is
    plain text (line breaks and tabs kept; markup the code itself marked safe is left alone)."""
    if isinstance(value, str) and not hasattr(value, "__html__"):
        return _CONTROL.sub(" ", value.replace("\x85", "\n"))
    return value


def summary(window: Window, language: str) -> str:
    """Given a window, return its one-line title, marked when cancelled or tentative."""
    text = window.system + (i18n.label(language, "sep") + window.title if window.title else "")
    if window.status in ("cancelled", "tentative"):
        text = marked(text, window.status, language)
    return clean(text)


def marked(text: str, status: str, language: str) -> str:
    """Given a title and a status (cancelled, tentative), return the title marked with it."""
    mark = i18n.label(language, status)
    return f"【{mark}】{text}" if language == "zh-CN" else f"[{mark}] {text}"


def marked_once(text: str, status: str, language: str) -> str:
    """Given a title as a calendar holds it, return it marked with a status (cancelled, tentative),
    unchanged when it already is."""
    return text if text.startswith(marked("", status, language).strip()) else marked(text, status, language)


def status_link(window: Window, config: Config) -> str | None:
    """Given a window, return its link on the status page, when a base URL is configured."""
    base = config.calendar.base_url
    return f"{base.rstrip('/')}/#{window.id}" if base else None

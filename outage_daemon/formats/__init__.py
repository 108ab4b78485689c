"""Feed formats, one registry: every published feed is rendered in each, as ``NAME.EXTENSION``.

Adding a format: a module with a :class:`~outage_daemon.formats.base.FeedFormat` and one line below;
the publisher and the HTTP routes follow the registry.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from datetime import datetime

from outage_daemon.core.model import Config, Feed
from outage_daemon.core.records import Revision
from outage_daemon.formats import ical
from outage_daemon.formats.base import FeedFormat

FORMATS: tuple[FeedFormat, ...] = (
    ical.FORMAT,
)
MAIN = "calendar"


def feeds(config: Config) -> list[tuple[str, Feed | None]]:
    """Given the config, return every published feed by name: the main one, then the extras."""
    return [(MAIN, None), *((f.name, f) for f in config.calendar.feeds)]


def render_all(config: Config, revisions: Mapping[str, Revision], now: datetime,
               cache: MutableMapping[str, bytes] | None = None) -> dict[str, bytes]:
    """Given the config and its revisions, return every feed in every format by file name."""
    return {f"{name}.{fmt.extension}": fmt.render(config, revisions, now, extra, cache)
            for fmt in FORMATS for name, extra in feeds(config)}

"""What a feed format is: a name, a file extension, a media type and a pure render function."""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from datetime import datetime

from outage_daemon.core.model import Config, Feed
from outage_daemon.core.records import Revision

Render = Callable[[Config, Mapping[str, Revision], datetime, "Feed | None", "MutableMapping[str, bytes] | None"],
                  bytes]


@dataclass(frozen=True)
class FeedFormat:
    """A way to publish the windows: ``render(config, revisions, now, feed, cache)`` returns the
    bytes of the main feed (``feed`` None) or of one extra feed; ``cache`` may keep parts between
    renders."""

    name: str
    extension: str
    media_type: str
    render: Render

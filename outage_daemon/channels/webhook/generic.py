"""Generic JSON, for any HTTP endpoint: the notification's fields, signed with a shared secret.

Receivers: the body is JSON; ``X-Outage-Timestamp`` is the Unix time of sending and
``X-Outage-Signature`` is ``sha256=`` + hex HMAC-SHA256 of ``TIMESTAMP.BODY`` with the shared
secret. Compare it in constant time and refuse timestamps more than five minutes old.
"""

from __future__ import annotations

from datetime import datetime

from outage_daemon.channels.render import Templates
from outage_daemon.channels.webhook.base import HookKind, dumps, text_of
from outage_daemon.core.decide import Notification
from outage_daemon.core.model import Config


def payload(notification: Notification, config: Config, env: Templates, now: datetime | None = None,
            mention: bool = False) -> bytes:
    """Given a notification, return the generic JSON document."""
    values, text = text_of(notification, config, env, now)
    window, occurrence, previous = notification.window, notification.occurrence, notification.previous
    return dumps({
        "key": notification.key, "kind": str(notification.kind), "subject": values["subject"], "text": text,
        "window": {"id": window.id, "system": window.system, "title": window.title, "status": window.status,
                   "timezone": window.tz.key, "services": list(window.services)},
        "start": (occurrence.start if occurrence else window.start).isoformat(),
        "end": (occurrence.end if occurrence else window.end).isoformat(),
        "offset": notification.offset.text if notification.offset else None, "due": notification.due.isoformat(),
        "previous": {"start": previous.start, "end": previous.end} if previous else None,
        "status_url": values["status_url"] or None,
    })


KIND = HookKind("generic", payload)

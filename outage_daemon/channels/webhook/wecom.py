"""WeCom (企业微信) group robots: markdown, with every field's markup neutralised."""

from __future__ import annotations

from datetime import datetime

from outage_daemon.channels.render import Templates
from outage_daemon.channels.webhook.base import HookKind, dumps, error_code_verdict, markdown, text_of
from outage_daemon.core.decide import Notification
from outage_daemon.core.model import Config


def payload(notification: Notification, config: Config, env: Templates, now: datetime | None = None,
            mention: bool = False) -> bytes:
    """Given a notification, return WeCom's markdown message (at most 4,000 characters); a text message
    mentioning everyone when ``mention``."""
    _, text = markdown(notification, config, env, now)
    if mention:  # WeCom's markdown cannot mention; its text message can, with "@all"
        _, plain = text_of(notification, config, env, now)
        return dumps({"msgtype": "text", "text": {"content": plain.strip()[:2000], "mentioned_list": ["@all"]}})
    return dumps({"msgtype": "markdown", "markdown": {"content": text[:4000]}})


KIND = HookKind("wecom", payload, verdict=error_code_verdict("wecom", {45009, 45033}))

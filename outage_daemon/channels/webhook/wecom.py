"""WeCom (企业微信) group robots: markdown, with every field's markup neutralised."""

from __future__ import annotations

from outage_daemon.channels.render import Templates
from outage_daemon.channels.webhook.base import HookKind, dumps, error_code_verdict, markdown
from outage_daemon.core.decide import Notification
from outage_daemon.core.model import Config


def payload(notification: Notification, config: Config, env: Templates) -> bytes:
    """Given a notification, return WeCom's markdown message (at most 4,000 characters)."""
    _, text = markdown(notification, config, env)
    return dumps({"msgtype": "markdown", "markdown": {"content": text[:4000]}})


KIND = HookKind("wecom", payload, verdict=error_code_verdict("wecom", {45009, 45033}))

"""WeCom (企业微信) group robots: markdown, with every field's markup neutralised."""

from __future__ import annotations

from outage_daemon.channels.render import Templates
from outage_daemon.channels.webhook.base import HookKind, dumps, error_code_verdict, markdown_safe, text_of
from outage_daemon.core.decide import Notification
from outage_daemon.core.model import Config


def markdown(notification: Notification, config: Config, env: Templates) -> tuple[str, str]:
    """Given a notification, return its subject and its chat markdown, fields made inert."""
    values, _ = text_of(notification, config, env)
    safe = markdown_safe(values)
    return str(values["subject"]), env.text.get_template(f"{config.language}/chat.md").render(safe).strip()


def payload(notification: Notification, config: Config, env: Templates) -> bytes:
    """Given a notification, return WeCom's markdown message (at most 4,000 characters)."""
    _, text = markdown(notification, config, env)
    return dumps({"msgtype": "markdown", "markdown": {"content": text[:4000]}})


KIND = HookKind("wecom", payload, verdict=error_code_verdict("wecom", {45009, 45033}))

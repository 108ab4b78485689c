"""WeCom (企业微信) group robots: markdown, with every field's markup neutralised."""

from __future__ import annotations

from datetime import datetime

from outage_daemon.channels.render import Templates
from outage_daemon.channels.webhook.base import HookKind, cut, dumps, error_code_verdict, markdown, text_of
from outage_daemon.core.decide import Notification
from outage_daemon.core.model import Config

MARKDOWN_LIMIT = 4096  # bytes of UTF-8: WeCom refuses a longer markdown content
TEXT_LIMIT = 2048  # bytes of UTF-8: the same for a text message


def payload(notification: Notification, config: Config, env: Templates, now: datetime | None = None,
            mention: bool = False) -> bytes:
    """Given a notification, return WeCom's markdown message (at most 4,096 bytes); a text message
    (at most 2,048 bytes) mentioning everyone when ``mention``. Longer ones end in "…"."""
    _, text = markdown(notification, config, env, now)
    if mention:  # WeCom's markdown cannot mention; its text message can, with "@all"
        _, plain = text_of(notification, config, env, now)
        content = cut(plain.strip(), TEXT_LIMIT)
        return dumps({"msgtype": "text", "text": {"content": content, "mentioned_list": ["@all"]}})
    return dumps({"msgtype": "markdown", "markdown": {"content": cut(text, MARKDOWN_LIMIT)}})


KIND = HookKind("wecom", payload, verdict=error_code_verdict("wecom", {45009, 45033}))

"""DingTalk (钉钉) group robots: markdown, signed in the URL when a secret is set."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from urllib.parse import quote_plus

from outage_daemon.channels.render import Templates
from outage_daemon.channels.webhook.base import HEADERS, HookKind, Request, dumps, error_code_verdict, markdown
from outage_daemon.core.decide import Notification
from outage_daemon.core.model import Config


def payload(notification: Notification, config: Config, env: Templates, now: datetime | None = None,
            mention: bool = False) -> bytes:
    """Given a notification, return DingTalk's markdown message (``isAtAll`` when ``mention``)."""
    subject, text = markdown(notification, config, env, now)
    if mention:
        return dumps({"msgtype": "markdown", "markdown": {"title": subject[:60], "text": f"{text}\n\n@所有人"},
                      "at": {"isAtAll": True}})
    return dumps({"msgtype": "markdown", "markdown": {"title": subject[:60], "text": text}})


def sign(url: str, secret: str | None, body: bytes, now_ms: int) -> Request:
    """Given the body, return the request with ``timestamp`` and ``sign`` =
    base64(HMAC-SHA256(secret, "timestamp\\nsecret")) in the URL, as DingTalk documents."""
    if not secret:
        return Request(url, dict(HEADERS), body)
    digest = hmac.new(secret.encode(), f"{now_ms}\n{secret}".encode(), hashlib.sha256).digest()
    signature = quote_plus(base64.b64encode(digest).decode())
    return Request(f"{url}{'&' if '?' in url else '?'}timestamp={now_ms}&sign={signature}", dict(HEADERS), body)


KIND = HookKind("dingtalk", payload, sign, error_code_verdict("dingtalk", {130101, 130102}))

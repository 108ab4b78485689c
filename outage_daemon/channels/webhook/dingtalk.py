"""DingTalk (钉钉) group robots: markdown, signed in the URL when a secret is set."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from urllib.parse import quote_plus

from outage_daemon.channels.render import Templates
from outage_daemon.channels.webhook.base import HEADERS, HookKind, Request, cut, dumps, error_code_verdict, markdown
from outage_daemon.core.decide import Notification
from outage_daemon.core.model import Config

# bytes: DingTalk's custom robots refuse a request body over 20,000 bytes (DingTalk's own limit, the
# figure Apprise's DingTalk plugin cuts by too). The signature goes in the URL: the limit is all the body's.
BODY_LIMIT = 20_000


def payload(notification: Notification, config: Config, env: Templates, now: datetime | None = None,
            mention: bool = False) -> bytes:
    """Given a notification, return DingTalk's markdown message (``isAtAll`` when ``mention``), at most
    BODY_LIMIT bytes: a longer text is cut, ending in "…" (and still in "@所有人" when ``mention``)."""
    subject, text = markdown(notification, config, env, now)
    limit = BODY_LIMIT
    while True:  # each round cuts the text by what the JSON body is over (escapes make it longer)
        body = cut(text, limit) + ("\n\n@所有人" if mention else "")
        message = {"msgtype": "markdown", "markdown": {"title": subject[:60], "text": body}}
        data = dumps({**message, "at": {"isAtAll": True}} if mention else message)
        if len(data) <= BODY_LIMIT or limit <= 0:
            return data
        limit -= len(data) - BODY_LIMIT


def sign(url: str, secret: str | None, body: bytes, now_ms: int) -> Request:
    """Given the body, return the request with ``timestamp`` and ``sign`` =
    base64(HMAC-SHA256(secret, "timestamp\\nsecret")) in the URL, as DingTalk documents."""
    if not secret:
        return Request(url, dict(HEADERS), body)
    digest = hmac.new(secret.encode(), f"{now_ms}\n{secret}".encode(), hashlib.sha256).digest()
    signature = quote_plus(base64.b64encode(digest).decode())
    return Request(f"{url}{'&' if '?' in url else '?'}timestamp={now_ms}&sign={signature}", dict(HEADERS), body)


KIND = HookKind("dingtalk", payload, sign, error_code_verdict("dingtalk", {130101, 130102}))

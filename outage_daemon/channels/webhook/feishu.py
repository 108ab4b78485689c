"""Feishu / Lark (飞书) custom bots: a rich-text post of plain text elements, signed in the body."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime

from outage_daemon.channels.render import Templates
from outage_daemon.channels.webhook.base import (
    HEADERS,
    HookKind,
    Request,
    cut,
    dumps,
    error_code_verdict,
    text_of,
    without_subject,
)
from outage_daemon.core.decide import Notification
from outage_daemon.core.model import Config

BODY_LIMIT = 20_000  # bytes: Feishu refuses a request body over 20 KB
SIGNATURE_ROOM = 200  # bytes the timestamp and signature add to the body when it is sent


def payload(notification: Notification, config: Config, env: Templates, now: datetime | None = None,
            mention: bool = False) -> bytes:
    """Given a notification, return Feishu's post message, one text element per line (and an @all
    element first when ``mention``)."""
    values, text = text_of(notification, config, env, now)
    locale = "zh_cn" if config.language == "zh-CN" else "en_us"
    limit = BODY_LIMIT
    while True:  # the text cut shorter, with a visible "…", until the body fits
        lines: list[list[dict[str, str]]] = [[{"tag": "text", "text": line}]
                                             for line in cut(without_subject(text), limit).split("\n") if line]
        if mention:
            lines.insert(0, [{"tag": "at", "user_id": "all"}])
        title = cut(str(values["subject"]), limit)
        data = dumps({"msg_type": "post", "content": {"post": {locale: {"title": title, "content": lines}}}})
        if len(data) <= BODY_LIMIT - SIGNATURE_ROOM or limit <= 16:
            return data
        limit //= 2


def sign(url: str, secret: str | None, body: bytes, now_ms: int) -> Request:
    """Given the body, return it with ``timestamp`` and ``sign`` = base64(HMAC-SHA256(key=
    "timestamp\\nsecret", message="")) added, as Feishu documents."""
    if not secret:
        return Request(url, dict(HEADERS), body)
    stamp = str(now_ms // 1000)
    digest = hmac.new(f"{stamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    document = json.loads(body)
    document.update(timestamp=stamp, sign=base64.b64encode(digest).decode())
    return Request(url, dict(HEADERS), dumps(document))


KIND = HookKind("feishu", payload, sign, error_code_verdict("feishu", {9499, 11232, 11233}))

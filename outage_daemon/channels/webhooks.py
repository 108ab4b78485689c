"""Chat webhook payloads in each service's own format, and their signatures. Pure.

The payload stored in the ledger is unsigned; :func:`signed` adds the signature when it is sent,
because DingTalk and Feishu refuse signatures older than an hour, and a generic receiver should
refuse old timestamps too (replay).

Generic receivers: the body is JSON; ``X-Outage-Timestamp`` is the Unix time of sending and
``X-Outage-Signature`` is ``sha256=`` + hex HMAC-SHA256 of ``TIMESTAMP.BODY`` with the shared
secret. Compare it in constant time and refuse timestamps more than five minutes old.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from urllib.parse import quote_plus

from outage_daemon.channels.email.message import Templates, context
from outage_daemon.core.decide import Send
from outage_daemon.core.model import Config

# Characters that are markup in WeCom/DingTalk markdown, shown as their full-width look-alikes so a
# window's text cannot add a link, heading or emphasis.
_MARKDOWN = str.maketrans({"*": "＊", "_": "＿", "`": "｀", "[": "［", "]": "］", "(": "（", ")": "）", "<": "＜",
                           ">": "＞", "#": "＃", "~": "～", "|": "｜", "!": "！"})
_TEXT_FIELDS = ("system", "title", "start", "end", "duration", "description", "alternatives", "contacts",
                "previous_start", "previous_end", "zone")


@dataclass(frozen=True)
class Request:
    """What to send: the URL (after signing), headers and body."""

    url: str
    headers: dict[str, str]
    body: bytes


def _md(value: object) -> object:
    if isinstance(value, str):
        return " ".join(value.translate(_MARKDOWN).split())
    if isinstance(value, list):
        return [_md(v) for v in value]
    return value


def _slack(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload(kind: str, send: Send, config: Config, env: Templates) -> bytes:
    """Given a webhook kind and what to send, return the unsigned JSON body."""
    values = context(send, config, env, "chat")
    lang, subject = config.language, str(values["subject"])
    text = env.text.get_template(f"{lang}/body.txt").render(values)
    if kind == "generic":
        window = send.window
        document: dict[str, object] = {
            "key": send.key, "kind": send.kind, "subject": subject, "text": text,
            "window": {"id": window.id, "system": window.system, "title": window.title, "status": window.status,
                       "timezone": window.tz.key, "services": list(window.services)},
            "start": (send.occurrence.start if send.occurrence else window.start).isoformat(),
            "end": (send.occurrence.end if send.occurrence else window.end).isoformat(),
            "offset": send.offset.text if send.offset else None, "due": send.due.isoformat(),
            "previous": {"start": send.previous.start, "end": send.previous.end} if send.previous else None,
            "status_url": values["status_url"] or None,
        }
    elif kind == "slack":
        document = {"text": _slack(subject), "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{_slack(subject)}*"}},
            {"type": "section", "text": {"type": "plain_text", "text": text.split("\n", 2)[-1].strip()[:2900]}},
        ]}
    elif kind in ("wecom", "dingtalk"):
        safe = {k: (_md(v) if k in _TEXT_FIELDS or k == "services" else v) for k, v in values.items()}
        safe["subject"] = _md(subject)
        markdown = env.text.get_template(f"{lang}/chat.md").render(safe).strip()
        if kind == "wecom":
            document = {"msgtype": "markdown", "markdown": {"content": markdown[:4000]}}
        else:
            document = {"msgtype": "markdown", "markdown": {"title": subject[:60], "text": markdown}}
    elif kind == "feishu":
        lines = [[{"tag": "text", "text": line}] for line in text.split("\n", 2)[-1].strip().split("\n") if line]
        document = {"msg_type": "post", "content": {"post": {"zh_cn" if lang == "zh-CN" else "en_us": {
            "title": subject, "content": lines}}}}
    else:
        raise ValueError(f"unknown webhook kind {kind!r}")
    return json.dumps(document, ensure_ascii=False).encode()


def signed(kind: str, url: str, secret: str | None, body: bytes, now_ms: int) -> Request:
    """Given an unsigned body, the endpoint, its secret and the time in milliseconds, return the
    request as the service expects it signed."""
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if not secret:
        return Request(url, headers, body)
    if kind == "dingtalk":  # sign = base64(HMAC-SHA256(secret, "timestamp\\nsecret")), in the URL
        digest = hmac.new(secret.encode(), f"{now_ms}\n{secret}".encode(), hashlib.sha256).digest()
        sign = quote_plus(base64.b64encode(digest).decode())
        return Request(f"{url}{'&' if '?' in url else '?'}timestamp={now_ms}&sign={sign}", headers, body)
    if kind == "feishu":  # sign = base64(HMAC-SHA256(key="timestamp\\nsecret", message="")), in the body
        stamp = str(now_ms // 1000)
        digest = hmac.new(f"{stamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
        document = json.loads(body)
        document.update(timestamp=stamp, sign=base64.b64encode(digest).decode())
        return Request(url, headers, json.dumps(document, ensure_ascii=False).encode())
    seconds = str(now_ms // 1000)
    mac = hmac.new(secret.encode(), seconds.encode() + b"." + body, hashlib.sha256).hexdigest()
    headers.update({"X-Outage-Timestamp": seconds, "X-Outage-Signature": f"sha256={mac}"})
    return Request(url, headers, body)


# Error codes in a 200 answer that mean "too fast, try later" rather than "refused".
_BUSY = {"wecom": {45009, 45033}, "dingtalk": {130101, 130102}, "feishu": {9499, 11232, 11233}}


def verdict(kind: str, body: bytes) -> tuple[bool, bool, str | None]:
    """Given a 2xx answer's body, return (accepted, worth retrying, error): WeCom, DingTalk and
    Feishu answer 200 with an error code in the body."""
    if kind not in _BUSY:
        return True, False, None
    try:
        document = json.loads(body or b"{}")
    except ValueError:
        return False, True, f"unreadable answer: {body[:200]!r}"
    if not isinstance(document, dict):
        return False, False, f"unexpected answer: {body[:200]!r}"
    code = document.get("errcode", document.get("code", document.get("StatusCode", 0)))
    if code in (0, None):
        return True, False, None
    message = document.get("errmsg") or document.get("msg") or document.get("StatusMessage") or ""
    message = " ".join(str(message).split())
    return False, code in _BUSY[kind], f"{kind} error {code}: {message[:200]}"

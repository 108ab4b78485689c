"""What a webhook kind is: how it writes a notification, signs a request and reads the reply. Pure.

Each kind is one module in this package that defines ``KIND``, a :class:`HookKind`; the registry
in :mod:`outage_daemon.channels.webhook` lists them. A kind that does not POST its payload to its URL
itself (``apprise``: a library sends it) gives a ``send`` instead of ``sign`` and ``verdict``.
The payload stored in the ledger is unsigned;
the request is signed when it is sent, because DingTalk and Feishu refuse signatures older than an
hour, and a generic receiver should refuse old timestamps too (replay).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from outage_daemon.channels.base import Outcome
from outage_daemon.channels.render import Templates, context
from outage_daemon.core.decide import Notification
from outage_daemon.core.model import Config

HEADERS = {"Content-Type": "application/json; charset=utf-8"}

# Characters that are markup in WeCom/DingTalk markdown, shown as their full-width look-alikes so a
# window's text cannot add a link, heading or emphasis.
_MARKDOWN = str.maketrans({"*": "＊", "_": "＿", "`": "｀", "[": "［", "]": "］", "(": "（", ")": "）", "<": "＜",
                           ">": "＞", "#": "＃", "~": "～", "|": "｜", "!": "！"})
_TEXT_FIELDS = ("system", "title", "start", "end", "duration", "description", "alternatives", "contacts",
                "previous_start", "previous_end", "zone", "services", "when", "previous_when", "preheader",
                "missing", "rule", "repeat_until")


@dataclass(frozen=True)
class Request:
    """What to send: the URL (after signing), headers and body."""

    url: str
    headers: dict[str, str]
    body: bytes


class Payload(Protocol):
    """Given a notification, the config, the templates, when it is rendered (None: at its due time)
    and whether to mention everyone (``mention_all`` on an ``at_stop``), return the unsigned body."""

    def __call__(self, notification: Notification, config: Config, env: Templates, now: datetime | None = None,
                 mention: bool = False) -> bytes: ...


Sign = Callable[[str, "str | None", bytes, int], Request]
Verdict = Callable[[bytes], "tuple[bool, bool, str | None]"]
Send = Callable[[str, bytes, timedelta], Awaitable[Outcome]]  # (URL, payload, timeout) -> one attempt's outcome


def hmac_signed(url: str, secret: str | None, body: bytes, now_ms: int) -> Request:
    """Given an unsigned body, return the request signed for a generic receiver: ``X-Outage-Timestamp``
    (Unix seconds) and ``X-Outage-Signature: sha256=HEX`` of HMAC-SHA256 over ``TIMESTAMP.BODY``."""
    headers = dict(HEADERS)
    if secret:
        seconds = str(now_ms // 1000)
        mac = hmac.new(secret.encode(), seconds.encode() + b"." + body, hashlib.sha256).hexdigest()
        headers.update({"X-Outage-Timestamp": seconds, "X-Outage-Signature": f"sha256={mac}"})
    return Request(url, headers, body)


def accepted(body: bytes) -> tuple[bool, bool, str | None]:
    """Return (accepted, worth retrying, error) for a service whose 2xx status is the whole answer."""
    return True, False, None


@dataclass(frozen=True)
class HookKind:
    """A webhook kind: its name in the config, and its three functions (or a ``send`` of its own)."""

    name: str
    payload: Payload
    sign: Sign = hmac_signed
    verdict: Verdict = accepted
    send: Send | None = None  # set: the channel hands the attempt over, and neither signs nor reads a reply


def text_of(notification: Notification, config: Config, env: Templates,
            now: datetime | None = None) -> tuple[dict[str, object], str]:
    """Given a notification (rendered at ``now``), return its template values and its plain-text body."""
    values = context(notification, config, env, "chat", now)
    return values, env.text.get_template(f"{config.language}/body.txt").render(values)


def without_subject(text: str) -> str:
    """Given a plain-text body, return it without its first line (the subject) and blank line."""
    return text.split("\n", 2)[-1].strip()


def markdown_safe(values: dict[str, object]) -> dict[str, object]:
    """Given template values, return them with every text field's markdown neutralised and on one line."""

    def safe(value: object) -> object:
        if isinstance(value, str):
            return " ".join(value.translate(_MARKDOWN).split())
        if isinstance(value, list):
            return [safe(v) for v in value]
        return value

    return {k: (safe(v) if k in _TEXT_FIELDS or k == "subject" else v) for k, v in values.items()}


def markdown(notification: Notification, config: Config, env: Templates,
             now: datetime | None = None) -> tuple[str, str]:
    """Given a notification (rendered at ``now``), return its subject and its chat markdown
    (``LANG/chat.md``), every field's markup made inert."""
    values, _ = text_of(notification, config, env, now)
    return str(values["subject"]), env.text.get_template(f"{config.language}/chat.md").render(
        markdown_safe(values)).strip()


def error_code_verdict(name: str, busy: set[int]) -> Verdict:
    """Given a service's name and the codes that mean "too fast, try later", return a verdict for services that answer
    200 with an error code in the body (WeCom, DingTalk, Feishu)."""

    def verdict(body: bytes) -> tuple[bool, bool, str | None]:
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
        return False, code in busy, f"{name} error {code}: {message[:200]}"

    return verdict


ELLIPSIS = "…"


def cut(text: str, limit: int) -> str:
    """Given text and a limit in UTF-8 bytes, return the text if it fits, else its longest head
    (whole characters) that fits with a visible "…" at the end."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[:max(limit - len(ELLIPSIS.encode()), 0)].decode("utf-8", "ignore") + ELLIPSIS


def dumps(document: object) -> bytes:
    """Return a JSON body as the services expect it (UTF-8, not ASCII-escaped)."""
    return json.dumps(document, ensure_ascii=False).encode()

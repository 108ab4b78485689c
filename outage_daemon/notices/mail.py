"""An email (.eml) as notice text: the subject, then the text parts (quoted-printable or base64, in
GBK, GB18030, Big5 or UTF-8); HTML parts when there is no plain one. Pure (the stdlib email package)."""

from __future__ import annotations

from datetime import date
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import parsedate_to_datetime

from .charsets import decode
from .webpage import text_of


def _parts(message: Message) -> tuple[list[Message], list[Message], list[Message]]:
    """Return the message's plain parts, HTML parts and text attachments."""
    plain: list[Message] = []
    html: list[Message] = []
    attached: list[Message] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        kind = part.get_content_type()
        if part.get_content_disposition() == "attachment":
            if kind in ("text/plain", "text/html"):
                attached.append(part)
        elif kind == "text/plain":
            plain.append(part)
        elif kind == "text/html":
            html.append(part)
    return plain, html, attached


def _body(part: Message) -> str:
    """Return a part's text, its transfer encoding and charset undone."""
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    text = decode(data, part.get_content_charset())
    return text_of(text) if part.get_content_type() == "text/html" else text


def _sent(message: Message) -> date | None:
    """Return the day of the message's Date header, if it has a valid one."""
    try:
        return parsedate_to_datetime(str(message.get("Date", ""))).date()
    except (TypeError, ValueError, IndexError):
        return None


def read_email(data: bytes) -> tuple[str, date | None]:
    """Given an email's bytes, return its text (subject first) and the date it was sent."""
    message = message_from_bytes(data, _class=EmailMessage, policy=policy.default)
    plain, html, attached = _parts(message)
    chosen = plain or html or attached
    subject = str(message.get("Subject", "") or "").strip()
    body = "\n\n".join(_body(part) for part in chosen)
    return (subject + "\n\n" + body if subject else body), _sent(message)

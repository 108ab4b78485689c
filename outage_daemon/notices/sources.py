"""A notice's bytes (a file, standard input or a fetched page) as text to read: plain UTF-8 text, an
HTML page or an email, told apart by name, content type and content. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from .charsets import codec, decode, guess
from .mail import read_email
from .webpage import declared_charset, text_of

_HTML = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|meta|table|div|p|h[1-6])\b",
                   re.IGNORECASE | re.DOTALL)
_HEADER = re.compile(rb"^[A-Za-z][A-Za-z0-9-]*:[ \t]", re.MULTILINE)
_MAIL_HEADERS = re.compile(rb"^(?:From|To|Subject|Date|Received|MIME-Version|Message-ID|Return-Path):",
                           re.IGNORECASE | re.MULTILINE)


class NoticeError(Exception):
    """The notice cannot be read (the message says why, in one line)."""


@dataclass(frozen=True)
class Document:
    """A notice as text, the kind it was read as, and the date it carries in its headers (an email's)."""

    text: str
    kind: str  # text | html | email
    dated: date | None = None


def kind_of(data: bytes, name: str, content_type: str | None) -> str:
    """Return how to read the bytes: email, html or text."""
    lowered = name.lower().split("?")[0]
    if lowered.endswith((".eml", ".mht")) or (content_type or "").startswith("message/rfc822"):
        return "email"
    if lowered.endswith((".html", ".htm", ".xhtml")) or (content_type or "").startswith(("text/html",
                                                                                            "application/xhtml")):
        return "html"
    body = data.lstrip(b"\xef\xbb\xbf")
    if _HTML.match(body[:2048]):
        return "html"
    head = body.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0][:8192]
    if _HEADER.match(head) and len(_MAIL_HEADERS.findall(head)) >= 2:
        return "email"
    return "text"


def _charset(content_type: str | None) -> str | None:
    """Return the charset a Content-Type names, if any."""
    found = re.search(r"charset\s*=\s*\"?([A-Za-z0-9_-]+)", content_type or "", re.IGNORECASE)
    return found.group(1) if found else None


def document(data: bytes, name: str, content_type: str | None = None) -> Document:
    """Given a notice's bytes, its name and (if fetched) its content type, return its text; raise
    NoticeError for plain text that is not UTF-8."""
    kind = kind_of(data, name, content_type)
    if kind == "email":
        try:
            text, sent = read_email(data)
        except RecursionError as exc:
            raise NoticeError("an email nested too deeply to read (parts within parts)") from exc
        return Document(text, kind, sent)
    if kind == "html":
        charset = codec(_charset(content_type)) or codec(declared_charset(data[:4096]))
        return Document(text_of(decode(data, charset)), kind)
    for encoding in dict.fromkeys(e for e in (codec(_charset(content_type)), "utf-8-sig") if e):
        try:
            return Document(data.decode(encoding), kind)
        except UnicodeDecodeError:
            continue
    guessed = guess(data)
    if guessed is None:
        raise NoticeError("neither UTF-8, GB18030 nor Big5 text (convert it first, e.g. iconv -f … -t UTF-8)")
    return Document(guessed, kind)

"""Email messages: subject, text and HTML from the templates, and an iTIP invite. Pure.

A message is composed once per notification and addressed per recipient (To, Message-ID), unless
it carries an invite naming the recipient. A reminder with personal confirmation links is composed
once around a stand-in link; each recipient's link then replaces it in the text and HTML parts.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from email.header import Header
from email.message import EmailMessage
from email.policy import SMTP, EmailPolicy
from email.utils import format_datetime
from urllib.parse import quote

from markupsafe import escape

from outage_daemon.channels.email.invite import invite
from outage_daemon.channels.render import Templates, context
from outage_daemon.core.addresses import envelope
from outage_daemon.core.decide import Notification
from outage_daemon.core.kinds import Kind
from outage_daemon.core.model import Config
from outage_daemon.core.records import Revision


class _Mail(EmailPolicy):
    """The SMTP policy, except that a non-ASCII Subject or Thread-Topic is encoded whole by
    :class:`email.header.Header`: the policy's own folding drops a space that falls between two
    encoded words ("平台 将于" arrives as "平台将于")."""

    TEXT = frozenset({"subject", "thread-topic"})

    def _encoded(self, name: str, value: str) -> str:
        text = Header(value, "utf-8", maxlinelen=self.max_line_length, header_name=name)
        return f"{name}: {text.encode(linesep=self.linesep)}{self.linesep}"

    def fold(self, name: str, value: str) -> str:
        if name.lower() in self.TEXT and not str(value).isascii():
            return self._encoded(name, str(value))
        folded: str = super().fold(name, value)
        return folded

    def fold_binary(self, name: str, value: str) -> bytes:
        if name.lower() in self.TEXT and not str(value).isascii():
            return self._encoded(name, str(value)).encode("ascii")
        folded: bytes = super().fold_binary(name, value)
        return folded


MAIL = _Mail(linesep="\r\n")  # what SMTP is: the default policy with CRLF


def message_id(key: str, recipient: str, domain: str) -> str:
    """Given a delivery's key and recipient, return its Message-ID: the same on every retry."""
    digest = hashlib.sha256(f"{key}\n{recipient}".encode()).hexdigest()[:40]
    return f"<{digest}@{domain}>"


def compose(notification: Notification, config: Config, now: datetime, env: Templates, revision: Revision | None = None,
            attendee: str | None = None, cte: str | None = None) -> EmailMessage:
    """Given what to send and ``now``, return the email without its per-recipient headers (To,
    Message-ID). Lifecycle notices carry an iTIP invite (REQUEST, or CANCEL for a cancellation)
    for ``attendee`` when the window's ``revision`` is given. ``cte`` forces the text and HTML
    parts' transfer encoding (else the email package picks one)."""
    values = context(notification, config, env, "email", now)
    lang, subject = config.language, str(values["subject"])
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = config.email.from_addr
    if config.email.reply_to:
        msg["Reply-To"] = config.email.reply_to
    msg["Date"] = format_datetime(now)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Outage-Key"] = notification.key
    if notification.kind is not Kind.TEST:  # Outlook groups a conversation by it; a test stands alone
        msg["Thread-Topic"] = str(values["topic"])
    msg.set_content(env.text.get_template(f"{lang}/body.txt").render(values), cte=cte)
    msg.add_alternative(env.html.get_template(f"{lang}/body.html").render(values), subtype="html", cte=cte)
    method = notification.kind.invite
    if revision is not None and attendee is not None and method is not None:
        data = invite(notification.window, config, revision, method, config.email.from_addr, attendee)
        msg.add_alternative(data, maintype="text", subtype="calendar", params={"method": method, "charset": "utf-8"})
    return msg


_BARE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+$")


def personalise(composed: bytes, recipient: str, msgid: str, thread: str | None = None,
                list_id: str | None = None, unsubscribe: str | None = None) -> bytes:
    """Given a composed message's bytes, return them addressed to one recipient with its Message-ID,
    a reply to ``thread`` (the announcement's Message-ID), the audience's ``List-Id`` and
    ``List-Unsubscribe`` when given."""
    if _BARE.match(recipient):  # nothing to quote or encode: skip the email package's header parser
        to = f"To: {recipient}\r\n"
    else:
        to = SMTP.fold("To", SMTP.header_factory("To", recipient))
    extra = f"In-Reply-To: {thread}\r\nReferences: {thread}\r\n" if thread and thread != msgid else ""
    extra += f"List-Id: {list_id}\r\n" if list_id else ""
    extra += f"List-Unsubscribe: {unsubscribe}\r\n" if unsubscribe else ""
    return f"{to}Message-ID: {msgid}\r\n{extra}".encode("ascii") + composed


_LIST_NAME = re.compile(r"[^a-z0-9-]+")


def list_id(audience: str, domain: str) -> str:
    """Given an audience's name, return its ``List-Id`` (``<finance.outages.DOMAIN>``): ASCII only,
    whatever the name, so people can filter one audience's notices."""
    name = _LIST_NAME.sub("-", audience.lower()).strip("-")
    if not name:
        name = "a" + hashlib.sha256(audience.encode()).hexdigest()[:12]
    return f"<{name}.outages.{domain}>"


def unsubscribe(audience: str, config: Config) -> str | None:
    """Given an audience's name, return its ``List-Unsubscribe``: a mail to the operators at ``reply_to``
    asking to leave it, which they grant with ``audiences.NAME.exclude``; None without a ``reply_to``
    (``from`` is often a mailbox nobody reads). ASCII only."""
    if not config.email.reply_to:
        return None
    to = quote(envelope(config.email.reply_to), safe="@")
    return f"<mailto:{to}?subject={quote(f'unsubscribe {audience}', safe='')}>"


def audiences_of(notification: Notification, config: Config) -> dict[str, str]:
    """Given a notification, return for each bare address (lower case) the first of the window's
    audiences that lists it (for its List-Id)."""
    found: dict[str, str] = {}
    for name in notification.window.audiences:
        audience = config.audiences.get(name)
        for address in audience.emails if audience else ():
            found.setdefault(envelope(address).lower(), name)
    return found


def payloads(notification: Notification, config: Config, recipients: list[str], now: datetime, env: Templates,
             revision: Revision | None = None, threads: Mapping[str, str] | None = None,
             links: Mapping[str, str] | None = None) -> dict[str, bytes]:
    """Given what to send, its recipients, per recipient the Message-ID of the first notice about
    the window really sent to them (``threads``: it replies to that one, else to none) and, with
    ``links``, each one's confirmation link, return each recipient's message bytes. The body is
    composed once, unless it carries an invite naming the recipient."""
    per_person = revision is not None and notification.kind.invite is not None
    linked = None if per_person or not links else _linked(notification, config, now, env)
    shared = None if per_person or links else compose(notification, config, now, env).as_bytes(policy=MAIL)
    out, domain, lists = {}, config.calendar.domain, audiences_of(notification, config)
    test = notification.kind is Kind.TEST  # a test stands alone: never in a real window's thread
    for recipient in recipients:
        if linked is not None and links:
            body = linked(links[recipient])
        else:
            body = shared or compose(replace(notification, ack_url=links[recipient]) if links else notification,
                                     config, now, env, revision, recipient).as_bytes(policy=MAIL)
        audience = lists.get(envelope(recipient).lower())
        out[recipient] = personalise(body, recipient, message_id(notification.key, recipient, domain),
                                     None if test else (threads or {}).get(recipient),
                                     list_id(audience, domain) if audience else None,
                                     unsubscribe(audience, config) if audience else None)
    return out


STAND_IN = "https://outage-daemon.invalid/ack/stand-in"  # composed once in place of every recipient's link


def _base64(text: str) -> bytes:
    """Given a text part's content, return its base64 body as the email package writes it under the
    SMTP policy (lines of 76, CRLF): what ``cte="base64"`` gave the composed message."""
    return base64.encodebytes(b"\n".join(text.encode().splitlines()) + b"\n").replace(b"\n", b"\r\n")


def _linked(notification: Notification, config: Config, now: datetime, env: Templates) -> Callable[[str], bytes]:
    """Given a reminder, compose it once around a stand-in link (its text and HTML parts in base64)
    and return what gives its bytes carrying one recipient's link."""
    composed = compose(replace(notification, ack_url=STAND_IN), config, now, env, cte="base64")
    shared = composed.as_bytes(policy=MAIL)
    parts = [(str(part.get_content()), part.get_content_subtype() == "html")
             for part in composed.walk() if part.get_content_subtype() in ("plain", "html")]
    blocks = [(_base64(content), content, html) for content, html in parts]
    if not all(shared.count(block) == 1 for block, _, _ in blocks):  # not as expected: the slow way
        return lambda link: compose(replace(notification, ack_url=link), config, now, env).as_bytes(policy=MAIL)

    def linked(link: str) -> bytes:
        body = shared
        for block, content, html in blocks:
            body = body.replace(block, _base64(content.replace(STAND_IN, str(escape(link)) if html else link)), 1)
        return body

    return linked

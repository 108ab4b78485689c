"""Email messages from Jinja2 templates: subject, text and HTML, and an iTIP invite. Pure.

Templates ship in the package (``templates/LANG/{subject.txt,body.txt,body.html}``); a folder named
by ``templates:`` in the config overrides any of them. The HTML environment escapes every value,
whatever a template's file name; subjects are cleaned to one line, so no field can inject a header.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

import jinja2

from outage_daemon.channels.email.invite import invite
from outage_daemon.core import i18n
from outage_daemon.core.decide import Send
from outage_daemon.core.model import Config
from outage_daemon.core.revisions import Revision
from outage_daemon.formats.text import clean, status_link

INVITES = ("announced", "rescheduled", "cancelled")


@dataclass(frozen=True)
class Templates:
    """The two Jinja2 environments: text (no escaping) and HTML (autoescape always on)."""

    text: jinja2.Environment
    html: jinja2.Environment


def templates(folder: str | None) -> Templates:
    """Given an optional override folder, return the template environments (user's first)."""
    loaders: list[jinja2.BaseLoader] = []
    if folder:
        loaders.append(jinja2.FileSystemLoader(folder))
    loaders.append(jinja2.PackageLoader("outage_daemon", "templates"))
    loader = jinja2.ChoiceLoader(loaders)

    def environment(escape: bool) -> jinja2.Environment:
        return jinja2.Environment(loader=loader, autoescape=escape, undefined=jinja2.StrictUndefined,  # noqa: S701
                                  keep_trailing_newline=True)

    return Templates(text=environment(False), html=environment(True))


def message_id(key: str, recipient: str, domain: str) -> str:
    """Given a delivery's key and recipient, return its Message-ID: the same on every retry."""
    digest = hashlib.sha256(f"{key}\n{recipient}".encode()).hexdigest()[:40]
    return f"<{digest}@{domain}>"


def context(send: Send, config: Config, env: Templates, channel: str) -> dict[str, object]:
    """Given what to send and the channel ("email" or "chat"), return the template variables (all
    text, in the configured language), the one-line subject among them."""
    lang, window = config.language, send.window
    start, end = (send.occurrence.start, send.occurrence.end) if send.occurrence else (window.start, window.end)
    values: dict[str, object] = {
        "kind": send.kind, "language": lang, "system": clean(window.system),
        "title": clean(window.title or ""), "start": i18n.format_time(start, lang, window.all_day),
        "end": i18n.format_time(end, lang, window.all_day), "zone": window.tz.key,
        "duration": i18n.format_duration(end - start, lang),
        "countdown": i18n.format_duration(send.offset.approx, lang) if send.offset else "",
        "services": [clean(s) for s in window.services],
        "description": clean(window.description or "", multiline=True),
        "alternatives": clean(window.alternatives or "", multiline=True),
        "contacts": clean(window.contacts or "", multiline=True),
        "status_url": status_link(window, config) or "",
        "feed_url": f"{config.calendar.base_url.rstrip('/')}/calendar.ics" if config.calendar.base_url else "",
        "notice_url": window.url or "", "previous_start": "", "previous_end": "", "key": send.key,
        "channel": channel,
    }
    if send.previous is not None:
        old_start, old_end = send.previous.times()
        values["previous_start"] = i18n.format_time(old_start.astimezone(window.tz), lang, window.all_day)
        values["previous_end"] = i18n.format_time(old_end.astimezone(window.tz), lang, window.all_day)
    values["subject"] = clean(env.text.get_template(f"{lang}/subject.txt").render(values))[:300]
    return values


def compose(send: Send, config: Config, now: datetime, env: Templates, revision: Revision | None = None,
            attendee: str | None = None) -> EmailMessage:
    """Given what to send and ``now``, return the email without its per-recipient headers (To,
    Message-ID). Lifecycle notices carry an iTIP invite (REQUEST, or CANCEL for a cancellation)
    for ``attendee`` when the window's ``revision`` is given."""
    values = context(send, config, env, "email")
    lang, subject = config.language, str(values["subject"])
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = config.email.sender
    if config.email.reply_to:
        msg["Reply-To"] = config.email.reply_to
    msg["Date"] = format_datetime(now)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Outage-Key"] = send.key
    msg.set_content(env.text.get_template(f"{lang}/body.txt").render(values))
    msg.add_alternative(env.html.get_template(f"{lang}/body.html").render(values), subtype="html")
    if revision is not None and attendee is not None and send.kind in INVITES:
        method = "CANCEL" if send.kind == "cancelled" else "REQUEST"
        data = invite(send.window, config, revision, method, config.email.sender, attendee)
        msg.add_alternative(data, maintype="text", subtype="calendar", params={"method": method, "charset": "utf-8"})
    return msg


_BARE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+$")


def personalise(composed: bytes, recipient: str, msgid: str) -> bytes:
    """Given a composed message's bytes, return them addressed to one recipient with its Message-ID."""
    if _BARE.match(recipient):  # nothing to quote or encode: skip the email package's header parser
        to = f"To: {recipient}\r\n"
    else:
        to = SMTP.fold("To", SMTP.header_factory("To", recipient))
    return f"{to}Message-ID: {msgid}\r\n".encode("ascii") + composed


def payloads(send: Send, config: Config, recipients: list[str], now: datetime, env: Templates,
             revision: Revision | None = None) -> dict[str, bytes]:
    """Given what to send and its recipients, return each recipient's message bytes. The body is
    composed once, unless it carries an invite naming the recipient."""
    per_person = revision is not None and send.kind in INVITES
    shared = None if per_person else compose(send, config, now, env).as_bytes(policy=SMTP)
    out = {}
    for recipient in recipients:
        body = shared or compose(send, config, now, env, revision, recipient).as_bytes(policy=SMTP)
        out[recipient] = personalise(body, recipient, message_id(send.key, recipient, config.calendar.domain))
    return out


def email(send: Send, config: Config, recipient: str, now: datetime, env: Templates,
          revision: Revision | None = None) -> EmailMessage:
    """Given what to send and one recipient, return the complete email as a message object."""
    msg = compose(send, config, now, env, revision, recipient)
    msg["To"] = recipient
    msg["Message-ID"] = message_id(send.key, recipient, config.calendar.domain)
    return msg

"""Acknowledgements: who must confirm a reminder, their signed personal links, and who is missing. Pure.

A link carries a token: the window, the occurrence, the recipient and the channel, and when it
expires (the occurrence's end), signed with HMAC-SHA256 under a key derived from the configured
secret. Nothing is stored to issue one; anything altered fails the signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

from outage_daemon.core.addresses import envelope
from outage_daemon.core.model import Config, Escalation, Occurrence, Window
from outage_daemon.core.timerules import UTC, before

EMAIL, WEBHOOK = "email", "webhook"  # the channels' names: the ledger's channel column
PATH = "/ack/"


class TokenError(Exception):
    """A link that cannot be honoured: ``reason`` is 'forged' (or damaged) or 'expired'."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Ticket:
    """What one personal link stands for: one recipient on one channel, one window occurrence."""

    window_id: str
    occurrence: str  # Occurrence.key: the start in UTC
    recipient: str
    channel: str
    expires: datetime


@dataclass(frozen=True)
class Acknowledgement:
    """One recorded confirmation: who (a recipient, via the channel whose message carried the link),
    of which window occurrence, and when."""

    window_id: str
    occurrence: str
    recipient: str
    channel: str
    at: datetime


def signing_key(secret: str) -> bytes:
    """Given the configured secret, return the key that signs links (one purpose, one derived key)."""
    return hmac.new(secret.encode(), b"outage-daemon acknowledgement link v1", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(key: bytes, ticket: Ticket) -> str:
    """Given the signing key and a ticket, return its URL-safe token."""
    body = json.dumps([ticket.window_id, ticket.occurrence, ticket.recipient, ticket.channel,
                       int(ticket.expires.timestamp())], ensure_ascii=False, separators=(",", ":")).encode()
    return f"{_b64(body)}.{_b64(hmac.new(key, body, hashlib.sha256).digest())}"


def read(key: bytes, token: str, now: datetime) -> Ticket:
    """Given the signing key, a token and ``now``, return its ticket; raise TokenError('forged') when
    the signature or the shape is wrong, TokenError('expired') when it is past its expiry."""
    body_text, _, mac_text = token.partition(".")
    try:
        body, mac = _unb64(body_text), _unb64(mac_text)
    except (ValueError, UnicodeEncodeError):
        raise TokenError("forged") from None
    if not hmac.compare_digest(mac, hmac.new(key, body, hashlib.sha256).digest()):
        raise TokenError("forged")
    window_id, occurrence, recipient, channel, expires = json.loads(body)
    ticket = Ticket(window_id, occurrence, recipient, channel, datetime.fromtimestamp(expires, UTC))
    if now >= ticket.expires:
        raise TokenError("expired")
    return ticket


def ticket(occurrence: Occurrence, recipient: str, channel: str) -> Ticket:
    """Given an occurrence and a recipient on a channel, return its ticket (valid until the restore)."""
    return Ticket(occurrence.window_id, occurrence.key, recipient, channel, occurrence.end.astimezone(UTC))


def link(config: Config, token: str) -> str:
    """Given a token, return the personal link on the status page's host."""
    return f"{(config.calendar.base_url or '').rstrip('/')}{PATH}{token}"


def who(channel: str, recipient: str) -> str:
    """Given a recipient on a channel, return who it is: an address's bare form in lower case, a chat's name."""
    return envelope(recipient).lower() if channel == EMAIL else recipient


def askers(config: Config, window: Window, kind: str, channel: str) -> set[str]:
    """Given a reminder of ``kind`` on a channel, return who (:func:`who`) its messages ask to
    confirm: those reached through one of the window's audiences that acknowledges ``kind``."""
    found: set[str] = set()
    for name in window.audiences:
        audience = config.audiences.get(name)
        if audience is not None and kind in audience.acknowledge:
            found.update(who(channel, r) for r in (audience.emails if channel == EMAIL else
                                                    audience.webhooks if channel == WEBHOOK else ()))
    return found


def asks(config: Config, window: Window, kind: str, channel: str, recipient: str) -> bool:
    """Given a reminder of ``kind`` to a recipient on a channel, return whether its message carries
    a confirmation link: one of the window's audiences that reaches the recipient acknowledges it."""
    return who(channel, recipient) in askers(config, window, kind, channel)


def expected(config: Config, window: Window) -> list[tuple[str, str]]:
    """Given a window, return who should acknowledge its reminders, as (channel, recipient): each
    address of an acknowledging audience once (written as first listed), then each webhook once."""
    emails: dict[str, str] = {}
    hooks: dict[str, None] = {}
    for name in window.audiences:
        audience = config.audiences.get(name)
        if audience is None or not audience.acknowledge:
            continue
        for address in audience.emails:
            emails.setdefault(envelope(address).lower(), address)
        hooks.update(dict.fromkeys(audience.webhooks))
    return [(EMAIL, a) for a in emails.values()] + [(WEBHOOK, h) for h in hooks]


def missing(config: Config, window: Window, occurrence: str,
            done: list[Acknowledgement]) -> list[tuple[str, str]]:
    """Given a window occurrence and the acknowledgements recorded, return who has not confirmed."""
    have = {(a.channel, who(a.channel, a.recipient)) for a in done if a.window_id == window.id
            and a.occurrence == occurrence}
    return [(c, r) for c, r in expected(config, window) if (c, who(c, r)) not in have]


def escalation_due(rule: Escalation, occurrence: Occurrence) -> datetime:
    """Given an escalate rule and an occurrence, return when it looks: the offset before its milestone."""
    milestone = occurrence.start if rule.kind in ("before_stop", "at_stop") else occurrence.end
    return before(milestone, rule.offset) if rule.offset is not None else milestone

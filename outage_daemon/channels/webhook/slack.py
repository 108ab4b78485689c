"""Slack incoming webhooks: the subject in bold, the body as plain text (no mrkdwn from fields)."""

from __future__ import annotations

from datetime import datetime

from outage_daemon.channels.render import Templates
from outage_daemon.channels.webhook.base import HookKind, cut, dumps, text_of, without_subject
from outage_daemon.core.decide import Notification
from outage_daemon.core.model import Config

SECTION_LIMIT = 3000  # Slack refuses a section text over 3,000 characters (cut here in bytes: never more)


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload(notification: Notification, config: Config, env: Templates, now: datetime | None = None,
            mention: bool = False) -> bytes:
    """Given a notification, return Slack's message document (text and blocks; ``<!channel>`` when ``mention``)."""
    values, text = text_of(notification, config, env, now)
    subject = _escaped(str(values["subject"]))
    everyone = "<!channel> " if mention else ""
    return dumps({"text": everyone + subject, "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": cut(f"{everyone}*{subject}*", SECTION_LIMIT)}},
        {"type": "section", "text": {"type": "plain_text", "text": cut(without_subject(text), SECTION_LIMIT)}},
    ]})


KIND = HookKind("slack", payload)

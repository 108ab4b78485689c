"""Slack incoming webhooks: the subject in bold, the body as plain text (no mrkdwn from fields)."""

from __future__ import annotations

from datetime import datetime

from outage_daemon.channels.render import Templates
from outage_daemon.channels.webhook.base import HookKind, dumps, text_of, without_subject
from outage_daemon.core.decide import Notification
from outage_daemon.core.model import Config


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload(notification: Notification, config: Config, env: Templates, now: datetime | None = None,
            mention: bool = False) -> bytes:
    """Given a notification, return Slack's message document (text and blocks; ``<!channel>`` when ``mention``)."""
    values, text = text_of(notification, config, env, now)
    subject = _escaped(str(values["subject"]))
    everyone = "<!channel> " if mention else ""
    return dumps({"text": everyone + subject, "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{everyone}*{subject}*"}},
        {"type": "section", "text": {"type": "plain_text", "text": without_subject(text)[:2900]}},
    ]})


KIND = HookKind("slack", payload)

"""Slack incoming webhooks: the subject in bold, the body as plain text (no mrkdwn from fields)."""

from __future__ import annotations

from outage_daemon.channels.render import Templates
from outage_daemon.channels.webhook.base import HookKind, dumps, text_of, without_subject
from outage_daemon.core.decide import Notification
from outage_daemon.core.model import Config


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload(notification: Notification, config: Config, env: Templates) -> bytes:
    """Given a notification, return Slack's message document (text and blocks)."""
    values, text = text_of(notification, config, env)
    subject = _escaped(str(values["subject"]))
    return dumps({"text": subject, "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{subject}*"}},
        {"type": "section", "text": {"type": "plain_text", "text": without_subject(text)[:2900]}},
    ]})


KIND = HookKind("slack", payload)

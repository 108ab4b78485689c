"""Slack incoming webhooks: the subject in bold, the body as plain text (no mrkdwn from fields), the
links as buttons (the confirmation link first, a primary button)."""

from __future__ import annotations

from datetime import datetime

from outage_daemon.channels.render import Templates
from outage_daemon.channels.webhook.base import HookKind, cut, dumps, text_of, without_subject
from outage_daemon.core import i18n
from outage_daemon.core.decide import Notification
from outage_daemon.core.model import Config

_LINKS = (("read_it", "ack_url"), ("status_page", "status_url"), ("calendar", "feed_url"), ("notice", "notice_url"))
_CALENDAR = {"zh-CN": "订阅日历", "en": "Subscribe"}
SECTION_LIMIT = 3000  # Slack refuses a section text over 3,000 characters (cut here in bytes: never more)


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _buttons(values: dict[str, object], language: str) -> list[dict[str, object]]:
    """Given template values, return a link button per link (confirmation, status page, calendar,
    notice), http(s) only; the confirmation one is the primary button."""
    def title(word: str) -> str:
        return _CALENDAR.get(language, _CALENDAR["en"]) if word == "calendar" else i18n.label(language, word)

    return [{"type": "button", "text": {"type": "plain_text", "text": title(word)}, "url": str(values[key]),
             **({"style": "primary"} if key == "ack_url" else {})}
            for word, key in _LINKS if str(values[key]).startswith(("https://", "http://"))]


def payload(notification: Notification, config: Config, env: Templates, now: datetime | None = None,
            mention: bool = False) -> bytes:
    """Given a notification, return Slack's message document (text and blocks; ``<!channel>`` when ``mention``)."""
    values, _ = text_of(notification, config, env, now)
    unlinked = {**values, **{key: "" for _, key in _LINKS}}  # the links are buttons, not unclickable text
    text = env.text.get_template(f"{config.language}/body.txt").render(unlinked)
    subject = _escaped(str(values["subject"]))
    everyone = "<!channel> " if mention else ""
    blocks: list[dict[str, object]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": cut(f"{everyone}*{subject}*", SECTION_LIMIT)}},
        {"type": "section", "text": {"type": "plain_text", "text": cut(without_subject(text), SECTION_LIMIT)}},
    ]
    buttons = _buttons(values, config.language)
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    return dumps({"text": everyone + subject, "blocks": blocks})


KIND = HookKind("slack", payload)

"""Microsoft Teams through a Workflows (Power Automate) webhook: one Adaptive Card, fields made inert.

The flow's trigger ("When a Teams webhook request is received") takes a message with one Adaptive
Card attachment and answers 202 Accepted: the flow has the card and posts it afterwards, so 202
means "accepted for the flow", not "seen in the channel" (a failure inside the flow shows only in
its run history). 429 and 5xx are retried by the channel like any kind. Adaptive Card text reads a
markdown subset (bold, italics, lists, links) and ``{{DATE()}}``/``{{TIME()}}`` functions; every
value from the config has those characters shown as full-width look-alikes, lists and all.
"""

from __future__ import annotations

import re
from datetime import datetime

from outage_daemon.channels.render import Templates
from outage_daemon.channels.webhook.base import HookKind, cut, dumps, text_of
from outage_daemon.core import i18n
from outage_daemon.core.decide import Notification
from outage_daemon.core.model import Config

# Markup in Adaptive Card text (markdown subset, DATE/TIME functions, Teams' <at> mentions) and
# the characters that could start it, shown as full-width look-alikes.
_INERT = str.maketrans({"*": "＊", "_": "＿", "`": "｀", "[": "［", "]": "］", "<": "＜", ">": "＞", "{": "｛",
                        "}": "｝", "#": "＃", "~": "～", "|": "｜", "\\": "＼"})
_LIST_MARK = re.compile(r"^(\s*)(-|\+|\d+[.)])(?=\s|$)")  # "- x", "+ x", "1. x", "1) x" start a list
_FULL_WIDTH = str.maketrans({"-": "－", "+": "＋", ".": "．", ")": "）"})
_WORDS = {  # labels the shared i18n table has not got, as the chat templates write them
    "zh-CN": {"system": "系统", "was": "原定时间", "now": "新的时间", "zone": "时区", "calendar": "订阅日历",
              "next_when": "下一次停机", "repeats": "重复", "until": "至", "forever": "长期有效，直至另行通知",
              "status": "状态", "cancelled_when": "原定时间（已取消）",
              "late": "此提醒发出较晚：只剩{countdown}。",
              "still_down": "计划停机时段已结束，系统应可正常使用；如仍不能使用，请联系{who}。",
              "it": "运维人员", "no_action": "此次停机已取消，无需任何操作。",
              "now_tentative": "改为待定，时间尚未确定", "now_confirmed": "已确认（原为待定）"},
    "en": {"system": "System", "was": "Was", "now": "Now", "zone": "Time zone",
           "calendar": "Subscribe to the calendar", "next_when": "Next downtime", "repeats": "Repeats",
           "until": "until", "cancelled_when": "Was planned (cancelled)",
           "late": "This reminder went out late: only {countdown} left.", "it": "IT",
           "still_down": "The planned outage window is over and the system should work again; if it still does not, "
                         "contact {who}.",
           "no_action": "This outage is cancelled: no action needed.",
           "forever": "until further notice", "status": "Status",
           "now_tentative": "now tentative, the time is not certain yet", "now_confirmed": "confirmed (was tentative)"},
}
MESSAGE_LIMIT = 28_000  # bytes: Teams refuses a message (card and envelope) over about 28 KB
FIELD_LIMIT = 4096  # bytes of one field at first; halved until the message fits


def inert(text: str) -> str:
    """Given text from the config, return it with Adaptive Card markup shown literally, line by line."""
    return "\n".join(_LIST_MARK.sub(lambda m: m.group(1) + m.group(2).translate(_FULL_WIDTH), line.translate(_INERT))
                     for line in text.split("\n"))


def _word(language: str, key: str) -> str:
    """Given a language and a label key, return the label (shared table first, then this module's)."""
    if key in i18n.LABELS.get(language, i18n.LABELS["en"]):
        return i18n.label(language, key)
    return _WORDS.get(language, _WORDS["en"])[key]


def _facts(values: dict[str, object], language: str, limit: int) -> list[dict[str, str]]:
    """Given template values, return the FactSet's facts: system, times, duration, zone, services."""
    to = f" {i18n.label(language, 'to')} "
    title = values["title"]
    system = str(values["system"]) + ((f"（{title}）" if language == "zh-CN" else f" ({title})") if title else "")
    facts = [(_word(language, "system"), system)]
    if values["previous_start"]:
        facts.append((_word(language, "was"), f"{values['previous_start']}{to}{values['previous_end']}"))
        facts.append((_word(language, "now"), f"{values['start']}{to}{values['end']}"))
    else:
        when = "cancelled_when" if values["cancelled"] else "next_when" if values["next"] else "when"
        label = _word(language, when)
        facts.append((label, f"{values['start']}{to}{values['end']}"))
    if values["rule"]:
        until = f"{_word(language, 'until')} {values['repeat_until']}" if values["repeat_until"] \
            else _word(language, "forever")
        facts.append((_word(language, "repeats"), f"{values['rule']}{'，' if language == 'zh-CN' else ', '}{until}"))
    if values["status_change"]:
        facts.append((_word(language, "status"), _word(language, f"now_{values['status_change']}")))
    offset = values["utc_offset"]
    zone = f"{values['zone']}" + (f"（{offset}）" if language == "zh-CN" else f" ({offset})")
    facts += [(_word(language, "duration"), str(values["duration"])), (_word(language, "zone"), zone)]
    services = values["services"]
    if isinstance(services, list) and services:
        facts.append((_word(language, "services"), i18n.label(language, "list_sep").join(map(str, services))))
    return [{"title": title, "value": cut(inert(value), limit)} for title, value in facts]


def _text(text: str, **style: object) -> dict[str, object]:
    """Given inert text, return a wrapping TextBlock."""
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _body(values: dict[str, object], language: str, limit: int) -> list[dict[str, object]]:
    """Given template values and a limit in bytes per field, return the card's body: title, facts,
    description, the action line."""
    body: list[dict[str, object]] = [_text(cut(inert(str(values["subject"])), limit), size="Medium", weight="Bolder"),
                                     {"type": "FactSet", "facts": _facts(values, language, limit)}]
    if values["cancelled"]:  # what the email says first: nothing to do, or how late this is
        body.insert(1, _text(f"**{_word(language, 'no_action')}**", color="Good"))
    elif values["late"]:
        body.insert(1, _text(_word(language, "late").format(countdown=values["countdown"]), color="Warning"))
    elif values["kind"] == "at_restore":  # what to do if it is still down
        who = cut(inert(" ".join(str(values["contacts"]).split())), limit) or _word(language, "it")
        body.insert(1, _text(_word(language, "still_down").format(who=who)))
    description = cut(str(values["description"]), limit)
    body += [_text(inert(line), spacing="Small") for line in description.split("\n") if line.strip()]
    sep = i18n.label(language, "sep")
    for key in ("alternatives", "contacts"):  # what to do meanwhile (unless cancelled), and whom to ask
        if values[key] and not (key == "alternatives" and values["cancelled"]):
            said = cut(inert(" ".join(str(values[key]).split())), limit)
            body.append(_text(f"**{_word(language, key)}**{sep}{said}"))
    return body


def _actions(values: dict[str, object], language: str) -> list[dict[str, str]]:
    """Given template values, return an Action.OpenUrl per link (confirmation, status page, feed,
    notice), http(s) only; the confirmation one styled ``positive``."""
    links = (("read_it", "ack_url"), ("status_page", "status_url"), ("calendar", "feed_url"), ("notice", "notice_url"))
    return [{"type": "Action.OpenUrl", "title": _word(language, word), "url": str(values[key]),
             **({"style": "positive"} if key == "ack_url" else {})}
            for word, key in links if str(values[key]).startswith(("https://", "http://"))]


def card(notification: Notification, config: Config, env: Templates, now: datetime | None = None,
         limit: int = FIELD_LIMIT) -> dict[str, object]:
    """Given a notification, return its Adaptive Card (schema 1.4, which Teams renders everywhere),
    each field cut to ``limit`` bytes with a visible "…"."""
    values, _ = text_of(notification, config, env, now)
    language = config.language
    card: dict[str, object] = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                               "type": "AdaptiveCard", "version": "1.4", "body": _body(values, language, limit)}
    actions = _actions(values, language)
    if actions:
        card["actions"] = actions
    card["msteams"] = {"width": "Full"}
    return card


def payload(notification: Notification, config: Config, env: Templates, now: datetime | None = None,
            mention: bool = False) -> bytes:
    """Given a notification, return the Workflows message: one Adaptive Card attachment, at most
    MESSAGE_LIMIT bytes (the fields are cut shorter, each with a visible "…", until it fits)."""
    limit = FIELD_LIMIT
    while True:
        data = dumps({"type": "message", "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None,
            "content": card(notification, config, env, now, limit)}]})
        if len(data) <= MESSAGE_LIMIT or limit <= 16:
            return data
        limit //= 2


KIND = HookKind("teams", payload)

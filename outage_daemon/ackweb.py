"""The pages behind personal confirmation links: GET shows what is confirmed and a form; only POST
records. Mail scanners fetch every link in a message; a GET never changes anything.

A link is honoured while its signature holds and its occurrence has not ended; a forged, damaged
or expired link gets a page that says so, and nothing is recorded.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import jinja2
from aiohttp import web

from outage_daemon.core import acks, i18n
from outage_daemon.core.model import Config, Feed, Occurrence, Window

CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"


@dataclass(frozen=True)
class Desk:
    """What the pages need from the daemon: the signing key, and the ledger's two calls (off the loop)."""

    key: bytes
    record: Callable[[acks.Acknowledgement], Awaitable[bool]]
    recorded: Callable[[str | None], Awaitable[list[acks.Acknowledgement]]]  # of one window, or all


WORDS = {
    "en": {
        "confirm": "Confirm you have read this notice", "done": "Thank you: confirmed",
        "already": "Already confirmed", "forged": "This link is not valid", "expired": "This link has expired",
        "gone": "This outage is no longer planned", "system": "System", "when": "Downtime", "who": "Confirming as",
        "explain": "Press the button to tell the administrators you have read the notice and are prepared.",
        "button": "I have read this", "done_at": "Recorded at {at}.", "already_at": "You confirmed at {at}.",
        "forged_text": "It was cut or altered on the way. Open the link exactly as it is in your message, "
                       "or ask the sender for a new one. Nothing was recorded.",
        "expired_text": "The outage it is about has ended. Nothing was recorded.",
        "gone_text": "The window was removed or rescheduled; a new message will carry a new link. "
                     "Nothing was recorded.",
        "chat": "chat {name}", "count_label": "Confirmed", "count": "{done} of {expected}",
        "confirmed_by": "Confirmed by", "not_yet": "Not yet confirmed", "nobody": "nobody", "sep": ", ",
    },
    "zh-CN": {
        "confirm": "确认已阅停机通知", "done": "谢谢，已确认", "already": "此前已确认", "forged": "链接无效",
        "expired": "链接已过期", "gone": "此次停机已不在计划中", "system": "系统", "when": "停机时间",
        "who": "确认人", "explain": "点击下面的按钮，告诉管理员您已阅读通知并做好准备。", "button": "确认已阅",
        "done_at": "已于{at}记录。", "already_at": "您已于{at}确认。",
        "forged_text": "链接在传递中被截断或改动。请按消息中的原样打开链接，或请发件人重发。未作任何记录。",
        "expired_text": "所涉停机已经结束。未作任何记录。",
        "gone_text": "该停机已取消或改期，新的通知会附上新的链接。未作任何记录。", "chat": "群聊 {name}",
        "count_label": "已确认", "count": "{done}/{expected}人",
        "confirmed_by": "已确认的人", "not_yet": "尚未确认", "nobody": "无", "sep": "、",
    },
}


Count = Callable[[Window, datetime], "tuple[str, str] | None"]


def counter(config: Config, recorded: list[acks.Acknowledgement]) -> Count:
    """Given the config and every confirmation recorded, return what the status page shows for a
    window occurrence (by its start): a label and how many of those asked have confirmed (never
    who), or None when none of its audiences acknowledges."""
    words = WORDS[config.language if config.language in WORDS else "en"]

    def count(window: Window, start: datetime) -> tuple[str, str] | None:
        expected = acks.expected(config, window)
        if not expected:
            return None
        key = Occurrence(window.id, start, start).key
        done = len(expected) - len(acks.missing(config, window, key, recorded))
        return words["count_label"], words["count"].format(done=done, expected=len(expected))

    return count


def _who(words: dict[str, str], channel: str, recipient: str) -> str:
    """Given a channel and a recipient, return how a page names them (an address as written, or the chat)."""
    return recipient if channel == acks.EMAIL else words["chat"].format(name=recipient)


Names = Callable[[Window, datetime], "list[tuple[str, str]]"]


def roll(config: Config, recorded: list[acks.Acknowledgement], feed: Feed | None) -> Names:
    """Given the config, every confirmation recorded and the feed whose token the viewer gave (None:
    the public page), return what a window occurrence's card lists (by its start): who has confirmed
    and who has not, as (label, names) rows, for a window that feed's filters keep; nothing for the
    public page or a window whose audiences do not acknowledge."""
    words = WORDS[config.language if config.language in WORDS else "en"]

    def names(window: Window, start: datetime) -> list[tuple[str, str]]:
        expected = acks.expected(config, window)
        if feed is None or not expected or not feed.selects(window):
            return []
        key = Occurrence(window.id, start, start).key
        missing = acks.missing(config, window, key, recorded)
        done = [who for who in expected if who not in missing]
        return [(label, words["sep"].join(_who(words, *who) for who in people) or words["nobody"])
                for label, people in ((words["confirmed_by"], done), (words["not_yet"], missing))]

    return names


def _occurrence(config: Config, ticket: acks.Ticket) -> Occurrence | None:
    """Given a ticket, return the occurrence it names if the config still plans it at that time."""
    window = config.window(ticket.window_id)
    if window is None or window.status == "cancelled":
        return None
    start = Occurrence.start_of(ticket.occurrence)
    return next((o for o in window.occurrences(start, start) if o.key == ticket.occurrence), None)


async def answer(request: web.Request, config: Config, desk: Desk | None, now: datetime,
                 env: jinja2.Environment, counted: Callable[[str], None]) -> web.Response:
    """Given a request to /ack/TOKEN, the config, the desk (None: nobody acknowledges) and ``now``,
    return the page; record the confirmation on POST only, once (``counted(channel)`` then)."""
    if desk is None:
        raise web.HTTPNotFound(text="not found\n")
    lang = config.language if config.language in WORDS else "en"
    w = WORDS[lang]

    def page(status: int, heading: str, message: str = "", tone: str = "ok",
             more: dict[str, object] | None = None) -> web.Response:
        values = {"window": None, "ask": False, **(more or {})}
        html = env.get_template("page/ack.html").render(lang=lang, w=w, heading=heading, message=message, tone=tone,
                                                        **values)
        return web.Response(status=status, text=html, content_type="text/html", charset="utf-8",
                            headers={"Content-Security-Policy": CSP, "Cache-Control": "no-store"})

    try:
        ticket = acks.read(desk.key, request.match_info["token"], now)
    except acks.TokenError as exc:
        return page(403 if exc.reason == "forged" else 410, w[exc.reason], w[f"{exc.reason}_text"], "bad")
    occurrence = _occurrence(config, ticket)
    window = config.window(ticket.window_id)
    if occurrence is None or window is None:
        return page(410, w["gone"], w["gone_text"], "bad")

    def at(when: datetime) -> str:
        return i18n.format_time(when.astimezone(window.tz), lang)

    shown: dict[str, object] = {
        "window": window, "when": i18n.format_short(occurrence.start, occurrence.end, lang, window.all_day),
        "who": _who(w, ticket.channel, ticket.recipient)}

    async def earlier() -> list[acks.Acknowledgement]:
        return [a for a in await desk.recorded(ticket.window_id) if (a.occurrence, a.channel, a.recipient) ==
                (ticket.occurrence, ticket.channel, ticket.recipient)]

    mine = await earlier()
    if request.method == "POST" and not mine:
        ack = acks.Acknowledgement(ticket.window_id, ticket.occurrence, ticket.recipient, ticket.channel, now)
        if await desk.record(ack):
            counted(ticket.channel)
            return page(200, w["done"], w["done_at"].format(at=at(now)), more=shown)
        mine = await earlier()  # a replica (or a second click) recorded it first
    if mine:
        return page(200, w["already"], w["already_at"].format(at=at(mine[0].at)), more=shown)
    return page(200, w["confirm"], more={**shown, "ask": True})

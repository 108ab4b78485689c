"""Words and time formats in the configured language (zh-CN or en). Pure."""

from __future__ import annotations

from datetime import datetime, timedelta

WEEKDAYS = {
    "zh-CN": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}

LABELS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "when": "停机时间", "to": "至", "duration": "时长", "services": "影响业务",
        "alternatives": "替代方案", "contacts": "联系方式", "status_page": "状态页",
        "notice": "原通知", "cancelled": "已取消", "tentative": "待定",
        "sep": "：", "list_sep": "、",
        # the status page
        "subscribe": "订阅日历", "apple_outlook": "Apple 日历 / Outlook", "google": "Google 日历（从网址添加）",
        "current": "正在停机", "upcoming": "即将停机", "past": "近期已结束", "none": "无",
        "stops_in": "距停机", "back_in": "距恢复", "day": "天",
    },
    "en": {
        "when": "Downtime", "to": "to", "duration": "Duration", "services": "Affected services",
        "alternatives": "Alternatives", "contacts": "Contacts", "status_page": "Status page",
        "notice": "Original notice", "cancelled": "Cancelled",
        "tentative": "Tentative", "sep": ": ", "list_sep": ", ",
        # the status page
        "subscribe": "Subscribe", "apple_outlook": "Apple Calendar / Outlook", "google": "Google Calendar (From URL)",
        "current": "Down now", "upcoming": "Upcoming", "past": "Recently ended", "none": "None",
        "stops_in": "Stops in", "back_in": "Back in", "day": "d",
    },
}


def label(language: str, key: str) -> str:
    """Given a language and a label key, return the word."""
    return LABELS.get(language, LABELS["en"])[key]


def format_time(dt: datetime, language: str, all_day: bool = False) -> str:
    """Given an aware time, return it with weekday in its own zone: ``2023年10月15日（周日）22:00``."""
    day = WEEKDAYS.get(language, WEEKDAYS["en"])[dt.weekday()]
    if language == "zh-CN":
        text = f"{dt.year}年{dt.month}月{dt.day}日（{day}）"
        return text if all_day else f"{text}{dt:%H:%M}"
    text = f"{day} {dt.day} {dt:%B %Y}"
    return text if all_day else f"{text}, {dt:%H:%M}"


def format_span(start: datetime, end: datetime, language: str, all_day: bool = False) -> str:
    """Given a window's start and (exclusive) end, return the span in words, with the zone."""
    to = label(language, "to")
    if all_day:
        last = end - timedelta(days=1)
        return f"{format_time(start, language, True)} {to} {format_time(last, language, True)}"
    zone = getattr(start.tzinfo, "key", None) or start.tzname() or ""
    return f"{format_time(start, language)} {to} {format_time(end, language)} ({zone})"


def format_duration(delta: timedelta, language: str) -> str:
    """Given a length of time, return it in words: ``8小时``, ``1天2小时``, ``45 minutes``."""
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if language == "zh-CN":
        parts = [f"{days}天" if days else "", f"{hours}小时" if hours else "", f"{mins}分钟" if mins else ""]
        return "".join(parts) or "0分钟"
    words = [(days, "day"), (hours, "hour"), (mins, "minute")]
    return " ".join(f"{n} {w}{'s' if n != 1 else ''}" for n, w in words if n) or "0 minutes"


def plural(count: int, noun: str) -> str:
    """Given a count and an English noun with a regular plural, return ``1 window`` or ``2 windows``
    (Chinese text says counts with measure words and needs no such form)."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"

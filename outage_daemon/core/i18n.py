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
        "alternatives": "替代方案", "contacts": "联系方式", "status_page": "状态页", "read_it": "确认已阅",
        "notice": "原通知", "cancelled": "已取消", "tentative": "待定",
        "sep": "：", "list_sep": "、", "topic": "{system}「{title}」",
        # the status page
        "subscribe": "订阅日历", "apple_outlook": "Apple 日历 / Outlook", "google": "Google 日历（从网址添加）",
        "current": "正在停机", "upcoming": "即将停机", "past": "近期已结束", "none": "无",
        "stops_in": "距停机", "back_in": "距恢复", "day": "天",
        "default_name": "计划停机日历", "banner_ok": "一切正常：当前没有停机", "banner_down": "{n}个系统正在停机",
        "banner_next": "下一次停机：{system}，{when}", "banner_none": "近期没有计划停机",
        "none_current": "当前没有系统在停机。", "none_upcoming": "近期没有计划停机。",
        "none_past": "最近30天没有结束的停机。",
        "timeline": "未来四周", "next": "下一次", "then": "再下一次", "zone_line": "时区：{zone}（{offset}）",
        "show_local": "改用本机时区显示", "show_config": "改用{zone}显示", "viewer_zone": "本机时区",
        "description": "说明", "what_to_do": "停机期间", "ended": "已结束",
        "sub_intro": "订阅一次，日历会自动更新；窗口改期或取消时也会同步。",
        "sub_google": "Google 日历", "sub_google_note": "在电脑上打开，点“添加”。安卓手机：用 Chrome 打开此链接，"
        "在菜单中勾选“桌面版网站”后点“添加”，再到 Google 日历应用的设置里打开这个日历的“同步”。"
        "Google 每 12–24 小时才刷新一次订阅。",
        "sub_outlook": "Outlook.com / Microsoft 365", "sub_outlook_note": "用网页版 Outlook 登录后确认添加。",
        "sub_webcal": "Apple 日历 / Outlook 桌面版", "sub_webcal_note": "在 iPhone、Mac 或 Windows 上点开，确认订阅；"
        "安卓手机装上 ICSx⁵ 后点开也可订阅。",
        "sub_copy": "其他日历（复制网址）",
        "sub_copy_note": "在日历里选“从网址订阅/添加”，粘贴此网址。不要下载后导入：那只是一份不会更新的副本。",
        "sub_no_base": "管理员设置 calendar.base_url 后，这里会出现 Google、Outlook、Apple 日历的一键订阅链接。",
        "sub_qr": "用手机扫码，打开本页的订阅部分", "sub_private": "此日历需要专用链接，请使用管理员发给您的链接。",
        "legend_planned": "计划停机", "legend_now": "现在", "copy_url": "复制", "copied": "已复制",
    },
    "en": {
        "when": "Downtime", "to": "to", "duration": "Duration", "services": "Affected services",
        "alternatives": "Alternatives", "contacts": "Contacts", "status_page": "Status page",
        "read_it": "I have read this",
        "notice": "Original notice", "cancelled": "Cancelled",
        "tentative": "Tentative", "sep": ": ", "list_sep": ", ", "topic": "{system} ({title})",
        # the status page
        "subscribe": "Subscribe", "apple_outlook": "Apple Calendar / Outlook", "google": "Google Calendar (From URL)",
        "current": "Down now", "upcoming": "Upcoming", "past": "Recently ended", "none": "None",
        "stops_in": "Stops in", "back_in": "Back in", "day": "d",
        "default_name": "Planned outages", "banner_ok": "All systems normal: nothing is down",
        "banner_down": "{n} down now", "banner_next": "Next outage: {system}, {when}",
        "banner_none": "No planned outages ahead",
        "none_current": "Nothing is down right now.", "none_upcoming": "No planned outages ahead.",
        "none_past": "No outage ended in the last 30 days.",
        "timeline": "Next four weeks", "next": "Next", "then": "then", "zone_line": "Times in {zone} ({offset})",
        "show_local": "Show in my time zone", "show_config": "Show in {zone}", "viewer_zone": "your time zone",
        "description": "About", "what_to_do": "During the outage", "ended": "Ended",
        "sub_intro": "Subscribe once and your calendar stays up to date, including moves and cancellations.",
        "sub_google": "Google Calendar", "sub_google_note": "Open on a computer and click Add. On an Android phone: "
        "open this link in Chrome, tick “Desktop site” in its menu, click Add, then turn on Sync for the calendar "
        "in the Google Calendar app's settings. Google refreshes subscriptions only every 12–24 hours.",
        "sub_outlook": "Outlook.com / Microsoft 365", "sub_outlook_note": "Sign in to Outlook on the web and confirm.",
        "sub_webcal": "Apple Calendar / Outlook desktop", "sub_webcal_note": "Open on an iPhone, a Mac or Windows "
        "and confirm the subscription; on Android, with the ICSx⁵ app installed.",
        "sub_no_base": "One-click links for Google, Outlook and Apple Calendar appear here once the administrator "
                       "sets calendar.base_url.",
        "sub_copy": "Any other calendar (copy the address)", "sub_copy_note": "Choose “subscribe from URL” and paste "
        "it. Do not download and import the file: that is a copy that never updates.",
        "sub_qr": "Scan with a phone to open this section there",
        "sub_private": "This calendar needs a private link: use the one you were given.",
        "legend_planned": "Planned", "legend_now": "Now", "copy_url": "Copy", "copied": "Copied",
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


def format_day(dt: datetime, language: str) -> str:
    """Given an aware time, return its day without the year: ``12月6日（周日）``, ``Sun 6 Dec``."""
    day = WEEKDAYS.get(language, WEEKDAYS["en"])[dt.weekday()]
    return f"{dt.month}月{dt.day}日（{day}）" if language == "zh-CN" else f"{day} {dt.day} {dt:%b}"


def format_short(start: datetime, end: datetime, language: str, all_day: bool = False) -> str:
    """Given a span, return it compactly for a subject: ``12月6日（周日）02:00–04:00``, the second
    day only when it differs, all-day spans as days (``end`` is exclusive)."""
    if all_day:
        last = end - timedelta(days=1)
        first_day = format_day(start, language)
        return first_day if last.date() == start.date() else f"{first_day}–{format_day(last, language)}"
    second = f"{end:%H:%M}" if end.date() == start.date() else f"{format_day(end, language)} {end:%H:%M}"
    gap = "" if language == "zh-CN" else " "
    return f"{format_day(start, language)}{gap}{start:%H:%M}–{second}"


def utc_offset(dt: datetime) -> str:
    """Given an aware time, return its offset from UTC as ``UTC+08:00`` (``UTC`` when zero)."""
    offset = dt.utcoffset() or timedelta(0)
    if not offset:
        return "UTC"
    minutes = int(offset.total_seconds() // 60)
    sign, minutes = ("+" if minutes >= 0 else "-"), abs(minutes)
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def format_remaining(delta: timedelta, language: str) -> str:
    """Given the time left (rounded down: never more than is true), return it in words with
    the precision a reader needs: days and hours beyond a day, hours and minutes beyond an hour."""
    minutes = int(max(delta.total_seconds(), 0) // 60)
    if minutes < 1:
        return "不到1分钟" if language == "zh-CN" else "less than a minute"
    if minutes >= 24 * 60:
        minutes -= minutes % 60
    return format_duration(timedelta(minutes=minutes), language)


_FREQ = {"zh-CN": {"DAILY": "每天", "WEEKLY": "每周", "MONTHLY": "每月", "YEARLY": "每年"},
         "en": {"DAILY": "Daily", "WEEKLY": "Weekly", "MONTHLY": "Monthly", "YEARLY": "Yearly"}}
_BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def format_rule(rule: str, start: datetime, end: datetime, language: str, all_day: bool = False) -> str:
    """Given an RRULE and a first occurrence, return the rhythm in words: ``每周日 02:00–04:00``,
    ``Every Sun 02:00–04:00``; a rule it cannot put simply is called by its frequency."""
    parts = dict(p.split("=", 1) for p in rule.upper().split(";") if "=" in p)
    freq, days = parts.get("FREQ", ""), [d[-2:] for d in parts.get("BYDAY", "").split(",") if d]
    names = WEEKDAYS.get(language, WEEKDAYS["en"])
    hours = "" if all_day else f" {start:%H:%M}–{end:%H:%M}"
    if freq == "WEEKLY" and parts.get("INTERVAL", "1") == "1" and all(d in _BYDAY for d in days):
        chosen = [names[_BYDAY.index(d)] for d in days] or [names[start.weekday()]]
        if language == "zh-CN":
            return "每" + "、".join(chosen) + hours
        return "Every " + ", ".join(chosen) + hours
    return _FREQ.get(language, _FREQ["en"]).get(freq, "↻") + hours


def format_date_short(dt: datetime, language: str) -> str:
    """Given a time, return its day as briefly as a scale needs: ``12月6日``, ``6 Dec``."""
    return f"{dt.month}月{dt.day}日" if language == "zh-CN" else f"{dt.day} {dt:%b}"

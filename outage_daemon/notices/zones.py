"""Time zones named in a notice (UTC, GMT+8, 北京时间, ET, CEST …) as tzinfo. Pure."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from .tokens import Token

UTC = timezone.utc
# Abbreviations name the region's clock, with its DST: "EST" written in July still means New York time.
_NAMED = {
    "北京时间": "Asia/Shanghai", "中国标准时间": "Asia/Shanghai", "东八区": "Asia/Shanghai",
    "china standard time": "Asia/Shanghai", "beijing time": "Asia/Shanghai",
    "eastern": "America/New_York", "et": "America/New_York", "est": "America/New_York",
    "edt": "America/New_York", "pacific": "America/Los_Angeles", "pt": "America/Los_Angeles",
    "pst": "America/Los_Angeles", "pdt": "America/Los_Angeles", "central": "America/Chicago",
    "ct": "America/Chicago", "cdt": "America/Chicago", "mountain": "America/Denver", "mt": "America/Denver",
    "mst": "America/Denver", "mdt": "America/Denver", "central european": "Europe/Berlin",
    "cet": "Europe/Berlin", "cest": "Europe/Berlin", "british summer time": "Europe/London",
    "bst": "Europe/London", "greenwich mean time": "UTC", "coordinated universal time": "UTC",
    "singapore time": "Asia/Singapore", "sgt": "Asia/Singapore", "japan standard time": "Asia/Tokyo",
    "jst": "Asia/Tokyo", "hong kong time": "Asia/Hong_Kong", "hkt": "Asia/Hong_Kong",
    "aest": "Australia/Sydney", "aedt": "Australia/Sydney",
    "美国东部时间": "America/New_York", "美东时间": "America/New_York", "美国西部时间": "America/Los_Angeles",
    "美西时间": "America/Los_Angeles", "美国太平洋时间": "America/Los_Angeles", "太平洋时间": "America/Los_Angeles",
    "美国中部时间": "America/Chicago", "美中时间": "America/Chicago", "美国山地时间": "America/Denver",
    "伦敦时间": "Europe/London", "英国时间": "Europe/London", "中欧时间": "Europe/Berlin",
    "欧洲中欧时间": "Europe/Berlin", "欧洲中部时间": "Europe/Berlin", "东京时间": "Asia/Tokyo",
    "日本时间": "Asia/Tokyo", "新加坡时间": "Asia/Singapore", "香港时间": "Asia/Hong_Kong",
    "悉尼时间": "Australia/Sydney", "格林尼治时间": "UTC", "格林威治时间": "UTC", "格林尼治标准时间": "UTC",
    "格林威治标准时间": "UTC", "协调世界时": "UTC", "世界标准时间": "UTC",
}


def _named(name: str) -> tzinfo | None:
    """Given a zone's name or abbreviation (北京时间, EST, Pacific Time), return its zone."""
    key = name.lower()
    for word in ("eastern", "pacific", "mountain"):
        if key.startswith(word):
            key = word
    if key.startswith("central european"):
        key = "central european"
    elif key.startswith("central"):
        key = "central"
    found = _NAMED.get(key)
    if found is None:
        return None
    return UTC if found == "UTC" else ZoneInfo(found)


def zone_of(token: Token) -> tzinfo | None:
    """Given a zone token, return the zone it names (None if it names none we know)."""
    g = token.groups
    if g.get("utc") or g.get("zulu"):
        return UTC
    if g.get("oh") is not None:
        hours, minutes = int(g["oh"] or 0), int(g.get("om") or 0)
        if hours > 14 or minutes > 59:
            return None
        offset = timedelta(hours=hours, minutes=minutes)
        return timezone(-offset if g.get("sign") == "-" else offset)
    return _named(g.get("name") or "")


def resolve(naive: datetime, tz: tzinfo) -> datetime:
    """Given a wall-clock time, return it aware: a time in a DST gap moves later, a repeated one takes the first."""
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC).astimezone(tz)

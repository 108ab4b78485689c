"""What people write for a time zone when they do not know the IANA name, and what they mean. Pure.

``UTC+8``, ``GMT+8``, ``+08:00``, ``CST``, ``Beijing`` or ``Asia/Beijing`` all mean China's time,
``Asia/Shanghai``; a spelling match would offer ``UTC``, ``GMT+0`` or ``Asia/Brunei`` instead. The
hint names the zone people mean first, and only then the nearest spelling.
"""

from __future__ import annotations

import difflib
import re

from outage_daemon.core.timerules import zone_names

# Abbreviations and city names that are not IANA names, by what they most often mean. An
# abbreviation used in several places names each place, the most likely reader's first.
ALIASES: dict[str, tuple[str, ...]] = {
    "CST": ("Asia/Shanghai", "America/Chicago"), "CHINA": ("Asia/Shanghai",), "BEIJING": ("Asia/Shanghai",),
    "PEKING": ("Asia/Shanghai",), "CHONGQING": ("Asia/Shanghai",), "GUANGZHOU": ("Asia/Shanghai",),
    "SHENZHEN": ("Asia/Shanghai",), "HANGZHOU": ("Asia/Shanghai",), "CHENGDU": ("Asia/Shanghai",),
    "WUHAN": ("Asia/Shanghai",), "XIAN": ("Asia/Shanghai",), "NANJING": ("Asia/Shanghai",),
    "BEIJINGTIME": ("Asia/Shanghai",), "CHINASTANDARDTIME": ("Asia/Shanghai",), "北京": ("Asia/Shanghai",),
    "北京时间": ("Asia/Shanghai",), "中国": ("Asia/Shanghai",),
    "HKT": ("Asia/Hong_Kong",), "HONGKONG": ("Asia/Hong_Kong",), "TAIPEI": ("Asia/Taipei",),
    "JST": ("Asia/Tokyo",), "KST": ("Asia/Seoul",), "SGT": ("Asia/Singapore",), "ICT": ("Asia/Bangkok",),
    "SINGAPORETIME": ("Asia/Singapore",), "WIB": ("Asia/Jakarta",), "PHT": ("Asia/Manila",), "GST": ("Asia/Dubai",),
    "IST": ("Asia/Kolkata", "Europe/Dublin", "Asia/Jerusalem"), "INDIA": ("Asia/Kolkata",),
    "MUMBAI": ("Asia/Kolkata",), "BOMBAY": ("Asia/Kolkata",), "DELHI": ("Asia/Kolkata",),
    "NEWDELHI": ("Asia/Kolkata",), "BANGALORE": ("Asia/Kolkata",), "BENGALURU": ("Asia/Kolkata",),
    "CHENNAI": ("Asia/Kolkata",), "HANOI": ("Asia/Ho_Chi_Minh",), "SAIGON": ("Asia/Ho_Chi_Minh",),
    "MSK": ("Europe/Moscow",), "BST": ("Europe/London",), "GMTBST": ("Europe/London",),
    "CEST": ("Europe/Berlin",), "CET": ("Europe/Berlin",), "MEZ": ("Europe/Berlin",), "EEST": ("Europe/Athens",),
    "WEST": ("Europe/Lisbon",), "FRANKFURT": ("Europe/Berlin",), "MUNICH": ("Europe/Berlin",),
    "GENEVA": ("Europe/Zurich",), "MILAN": ("Europe/Rome",), "BARCELONA": ("Europe/Madrid",),
    "PST": ("America/Los_Angeles",), "PDT": ("America/Los_Angeles",), "PT": ("America/Los_Angeles",),
    "PACIFIC": ("America/Los_Angeles",), "SANFRANCISCO": ("America/Los_Angeles",),
    "SEATTLE": ("America/Los_Angeles",), "MST": ("America/Denver",), "MDT": ("America/Denver",),
    "CDT": ("America/Chicago",), "CT": ("America/Chicago",), "EST": ("America/New_York",),
    "EDT": ("America/New_York",), "ET": ("America/New_York",), "EASTERN": ("America/New_York",),
    "BOSTON": ("America/New_York",), "WASHINGTON": ("America/New_York",), "DALLAS": ("America/Chicago",),
    "HOUSTON": ("America/Chicago",), "BRT": ("America/Sao_Paulo",), "RIO": ("America/Sao_Paulo",),
    "AEST": ("Australia/Sydney",), "AEDT": ("Australia/Sydney",), "CANBERRA": ("Australia/Sydney",),
    "NZST": ("Pacific/Auckland",), "NZDT": ("Pacific/Auckland",), "WELLINGTON": ("Pacific/Auckland",),
    "SAST": ("Africa/Johannesburg",), "CAPETOWN": ("Africa/Johannesburg",), "WAT": ("Africa/Lagos",),
    "EAT": ("Africa/Nairobi",), "TOKYOSTANDARDTIME": ("Asia/Tokyo",), "INDIASTANDARDTIME": ("Asia/Kolkata",),
    "PACIFICSTANDARDTIME": ("America/Los_Angeles",), "EASTERNSTANDARDTIME": ("America/New_York",),
    "CENTRALSTANDARDTIME": ("America/Chicago",), "GMTSTANDARDTIME": ("Europe/London",),
    "WEUROPESTANDARDTIME": ("Europe/Berlin",), "CENTRALEUROPESTANDARDTIME": ("Europe/Budapest",),
}
# For an offset written instead of a zone: the zone most people writing it mean (by minutes east of UTC).
BY_OFFSET = {480: "Asia/Shanghai", 540: "Asia/Tokyo", 330: "Asia/Kolkata", 420: "Asia/Bangkok",
             345: "Asia/Kathmandu", 360: "Asia/Dhaka", 300: "Asia/Karachi", 240: "Asia/Dubai",
             210: "Asia/Tehran", 180: "Europe/Moscow", 120: "Europe/Athens", 60: "Europe/Berlin",
             0: "UTC", -180: "America/Sao_Paulo", -300: "America/New_York", -360: "America/Chicago",
             -420: "America/Denver", -480: "America/Los_Angeles", -600: "Pacific/Honolulu",
             600: "Australia/Sydney", 720: "Pacific/Auckland"}
_OFFSET = re.compile(r"(?:UTC|GMT|Z)?\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?(?:\s*h(?:ours?)?)?", re.IGNORECASE)


def _offset_minutes(text: str) -> int | None:
    """Given text such as ``UTC+8``, ``GMT+08:00``, ``+0800``, return the minutes east of UTC, or None."""
    m = _OFFSET.fullmatch(text.strip())
    if m is None:
        return None
    sign, hours, minutes = m.group(1), int(m.group(2)), int(m.group(3) or 0)
    if hours > 14 or minutes >= 60:
        return None
    return (1 if sign == "+" else -1) * (hours * 60 + minutes)


def _fixed(minutes: int) -> str:
    """Given an offset in minutes, return how to write it as a fixed zone (Etc/GMT-8 is UTC+8), or ''."""
    if minutes % 60 or not minutes:
        return ""
    hours = -minutes // 60
    return f"Etc/GMT{hours:+d}"


def _key(text: str) -> str:
    return re.sub(r"[\s_'.-]+", "", text).upper()


def meant(text: str) -> list[str]:
    """Given a zone name that is not one, return the IANA zones its writer most likely meant (most
    likely first), or an empty list when nothing is known about it."""
    minutes = _offset_minutes(text)
    if minutes is not None:
        found = [BY_OFFSET[minutes]] if minutes in BY_OFFSET else []
        return found + ([_fixed(minutes)] if _fixed(minutes) else [])
    names = zone_names()
    city = text.strip().rsplit("/", 1)[-1]
    if _key(city) in ALIASES or _key(text) in ALIASES:
        return list(ALIASES.get(_key(text)) or ALIASES[_key(city)])
    by_city = {_key(n.rsplit("/", 1)[-1]): n for n in names if "/" in n and not n.startswith(("Etc/", "SystemV/"))}
    if _key(city) in by_city:
        return [by_city[_key(city)]]
    return []


def hint(text: str) -> str:
    """Given a zone name that is not one, return how to write it: the zone meant, else the nearest
    spelling, else an example."""
    found = meant(text)
    named = [z for z in found if not z.startswith("Etc/")]
    fixed = [z for z in found if z.startswith("Etc/")]
    if fixed:
        minutes = _offset_minutes(text) or 0
        tail = f"for a fixed UTC{minutes // 60:+d} without daylight saving, write {fixed[0]} (its sign is reversed)"
        return f"did you mean {' or '.join(named)}? Or, {tail}" if named else tail[0].upper() + tail[1:]
    if named:
        return f"did you mean {' or '.join(named)}?"
    near = difflib.get_close_matches(text, zone_names(), n=1, cutoff=0.6)
    return f"did you mean {near[0]}?" if near else "an IANA zone name such as Asia/Shanghai or Europe/Berlin"

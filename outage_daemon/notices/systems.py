"""The system a notice or a sentence names: 关于…的公告 → the system; "the Acme Billing API". Pure."""

from __future__ import annotations

import re
from functools import lru_cache

_CN_SUFFIX = (r"系统|平台|网银|网上银行|手机银行|企业银行|客户端|App|APP|电子税务局|门户|网站|邮箱|邮件系统|VPN|"
              r"网关|接口|"
              r"数据库|校园网|一卡通|云盘|服务器|专线|公众号|小程序|中台")
_CN_NAME = re.compile(r"[\u4e00-\u9fffA-Za-z0-9·\-]{0,18}?(?:" + _CN_SUFFIX + r")+")
_CUT = re.compile(r"^.*(?:关于|根据|按照|通过|使用|登录|访问|完成|提升|优化|保障|升级|维护|对|将|的|在|为|于|及|和|与|"
                  r"把|由|请|暂停|停止|影响|届时|期间|其中|包括|以及|导致|"
                  r"本次|此次|我行|我局|我司|我校|我院|我中心|我们|涉及|进行|开展|所有|全部|部分|相关|"
                  r"整个|该|此|本|各|新|原|\d+\s*[时点分日号]|次日|当日|翌日|每晚|每日|每天|凌晨|晚上|上午|下午)")
_GENERIC = {"系统", "平台", "网站", "接口", "数据库", "服务器", "客户端", "App", "APP", "门户", "网关", "业务系统",
            "信息系统", "管理系统", "相关系统", "操作系统", "应用系统", "新系统", "老系统", "主系统", "子系统"}
_EN_NAME = re.compile(
    r"\b(?:[A-Z][\w&.+-]*\s+){0,4}?(?:[A-Z][\w&.+-]*\s+)?(?:API|Portal|Console|Service|Platform|System|Gateway|"
    r"VPN|E-?mail|Mail|Dashboard|Network|Wi-?Fi|Banking|App|Cloud|Database|Storage|Registry|CDN|DNS|LMS|"
    r"Website|Helpdesk|Directory|Payroll|Library|Workspace)s?\b")
_EN_LOWER = re.compile(r"\b(?:online|mobile|internet|corporate)\s+banking\b", re.IGNORECASE)
_EN_SKIP = re.compile(r"^(?:The|This|Our|All|Any|Scheduled|Planned|Emergency|Maintenance|Update|Notice|Upcoming|"
                      r"Reminder|During|Please|We|Your|Re|Fwd|Subject|Dear)\s+")
_TITLE_CN = [
    re.compile(r"关于(?:暂停|停止)(?P<s>.+?)(?:服务|业务|运行)?的"),
    re.compile(r"关于(?:对)?(?P<s>.+?)(?:分阶段|分批|分[两三四五]次|例行|定期|临时|紧急|计划)?(?:的)?(?:进行)?"
               r"(?:停机|暂停|停止|升级|维护|割接|迁移|切换|调整|停服|升级改造)"),
    re.compile(r"^(?P<s>.{2,40}?(?:" + _CN_SUFFIX + r"))"),
]


@lru_cache(maxsize=64)  # asked once per window of a sentence: a sentence with many windows is scanned once
def _chinese(text: str) -> tuple[tuple[int, str], ...]:
    """Return :func:`chinese` as a tuple (cached)."""
    return tuple(chinese(text))


@lru_cache(maxsize=64)
def _english(text: str) -> tuple[tuple[int, str], ...]:
    """Return :func:`english` as a tuple (cached)."""
    return tuple(english(text))


def chinese(text: str) -> list[tuple[int, str]]:
    """Given a sentence, return the Chinese system names in it with their offsets (generic words left out)."""
    out: list[tuple[int, str]] = []
    for match in _CN_NAME.finditer(text):
        name = _CUT.sub("", match.group(0))
        if len(name) >= 2 and name not in _GENERIC:
            out.append((match.end() - len(name), name))
    return out


def english(text: str) -> list[tuple[int, str]]:
    """Given a sentence, return the English system names in it with their offsets."""
    out: list[tuple[int, str]] = []
    for match in _EN_NAME.finditer(text):
        name = match.group(0)
        while _EN_SKIP.match(name):
            name = _EN_SKIP.sub("", name, count=1)
        if " " in name or name.isupper() or (name[:1].isupper() and len(name) > 3):
            out.append((match.end() - len(name), name.strip()))
    out.extend((m.start(), m.group(0)) for m in _EN_LOWER.finditer(text))
    return sorted(out)


def of_title(title: str) -> str | None:
    """Given a notice's title (or an email's subject), return the system it names, if any."""
    title = re.sub(r"^(?:re|fwd?|转发|回复)\s*[:：]\s*", "", title.strip(), flags=re.IGNORECASE)
    title = re.sub(r"^(?:\s*(?:【[^】]{0,20}】|\[[^\]]{0,30}\]))+\s*", "", title)  # 【计划维护】, [Scheduled]
    for pattern in _TITLE_CN:
        found = pattern.search(title)
        if found:
            name = _CUT.sub("", found.group("s")).strip(" 的“”\"'")
            if 2 <= len(name) <= 40 and name not in _GENERIC:
                return name
    named = english(title) or chinese(title)
    return named[0][1] if named else None


def mentioned(text: str, before: int) -> str | None:
    """Given a sentence and the offset of its window, return the system named in it: the last named
    before the window, else the first after it."""
    found = sorted(_chinese(text) + _english(text))
    earlier = [name for at, name in found if at < before]
    if earlier:
        return earlier[-1]
    return found[0][1] if found else None

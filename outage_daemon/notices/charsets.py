"""Bytes of a notice as text: the declared charset with its common supersets (GB2312 → GB18030). Pure."""

from __future__ import annotations

import codecs

# Mail and web pages label GBK text "gb2312" and HKSCS text "big5": decode with the superset.
_SUPERSET = {"gb2312": "gb18030", "gbk": "gb18030", "cp936": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030",
             "euc-cn": "gb18030", "big5": "big5hkscs", "x-big5": "big5hkscs", "cp950": "big5hkscs"}


# Characters common in outage notices, simplified and traditional: they tell GB18030 text from Big5.
_COMMON = set("的年月日时分至于将停机系统维护服务暂期间恢复通知公告请网银行业务升级務時間於將統維護暫")


def codec(charset: str | None) -> str | None:
    """Given a declared charset, return the text codec to decode it with (None if unknown, or if it
    names a codec that is not a text encoding: zlib, base64, rot13, undefined …)."""
    name = (charset or "").strip().lower()
    name = _SUPERSET.get(name, name)
    if not name:
        return None
    try:
        b"a".decode(name)  # LookupError for bytes-to-bytes codecs, a bare UnicodeError for "undefined"
    except UnicodeDecodeError:
        pass  # a text encoding that cannot decode this byte alone (UTF-16)
    except (LookupError, UnicodeError):
        return None
    return codecs.lookup(name).name


def guess(data: bytes) -> str | None:
    """Given bytes that are not UTF-8, return them as GB18030 or Big5 text, whichever decodes strictly
    with more characters common in notices; None if neither decodes."""
    found: list[tuple[int, str]] = []
    for name in ("gb18030", "big5hkscs"):
        try:
            text = data.decode(name)
        except UnicodeDecodeError:
            continue
        found.append((sum(ch in _COMMON for ch in text), text))
    return max(found, key=lambda f: f[0])[1] if found else None


def decode(data: bytes, charset: str | None, fallback: str = "gb18030") -> str:
    """Given bytes and the charset they declare, return the text (a BOM wins; then the declared
    charset, UTF-8 and ``fallback``; undecodable bytes replaced only as a last resort)."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", "replace")
    tried = [c for c in (codec(charset), "utf-8", fallback) if c]
    for name in dict.fromkeys(tried):
        try:
            return data.decode(name)
        except UnicodeDecodeError:
            continue
    return data.decode(tried[0], "replace")

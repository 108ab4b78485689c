"""Bytes of a notice as text: the declared charset with its common supersets (GB2312 → GB18030). Pure."""

from __future__ import annotations

import codecs

# Mail and web pages label GBK text "gb2312" and HKSCS text "big5": decode with the superset.
_SUPERSET = {"gb2312": "gb18030", "gbk": "gb18030", "cp936": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030",
             "euc-cn": "gb18030", "big5": "big5hkscs", "x-big5": "big5hkscs", "cp950": "big5hkscs"}


def codec(charset: str | None) -> str | None:
    """Given a declared charset, return the codec to decode it with (None if unknown)."""
    name = (charset or "").strip().lower()
    name = _SUPERSET.get(name, name)
    try:
        return codecs.lookup(name).name if name else None
    except LookupError:
        return None


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

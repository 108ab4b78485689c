"""Fetch a notice from a URL (the shell: network I/O, through aiohttp)."""

from __future__ import annotations

import asyncio

import aiohttp

from .sources import NoticeError

MAX_BYTES = 10 * 1024 * 1024


async def _get(url: str, timeout: float) -> tuple[bytes, str | None]:
    """GET the URL; return its bytes and content type; raise NoticeError unless 200."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout),
                                     headers={"User-Agent": "outage-daemon import-notice"}) as session, \
            session.get(url) as response:
        if response.status != 200:
            raise NoticeError(f"HTTP {response.status} {response.reason or ''}".strip())
        if (response.content_length or 0) > MAX_BYTES:
            raise NoticeError("larger than 10 MiB")
        data = bytearray()
        async for chunk in response.content.iter_any():  # to the end, however many writes it comes in
            data += chunk
            if len(data) > MAX_BYTES:
                raise NoticeError("larger than 10 MiB (read up to the limit, then stopped)")
        return bytes(data), response.headers.get("Content-Type")


def fetch(url: str, timeout: float = 30.0) -> tuple[bytes, str | None]:
    """Given an http(s) URL, return the page's bytes and content type; raise NoticeError (one line)."""
    if not url.lower().startswith(("http://", "https://")):
        raise NoticeError("only http:// and https:// URLs can be fetched")
    try:
        return asyncio.run(_get(url, timeout))
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        raise NoticeError(f"cannot fetch: {exc.__class__.__name__}: {exc}".rstrip(": ")) from exc

"""import-notice against hostile inputs (issue 22, items 4–6): a page sent in several writes and a
body past the 10 MiB limit from a real loopback server, charsets that name codecs which are not text
encodings, emails nested thousands of levels deep, endless and huge inputs. Each ends in windows or one
line, never a traceback, and every input is bounded (its cost is measured in bench/notice_bench.py)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web

from faults.peers import Handler, Peer
from outage_daemon.notices import read
from outage_daemon.notices.reading import MAX_TEXT
from outage_daemon.notices.segment import MAX_SENTENCE
from outage_daemon.notices.statements import MAX_STATED

NOTICE = "关于网上银行系统升级的公告\n我行将于2024年3月9日22:00至3月10日06:00对网上银行系统进行升级，期间暂停服务。\n"
PAGE = (f"<!DOCTYPE html><html><head><title>网上银行系统升级公告</title></head><body>"
        f"<p>{NOTICE.splitlines()[1]}</p><p>客服热线：95xxx</p></body></html>").encode()
NOT_TEXT = ["zlib", "base64", "hex", "rot13", "uu", "bz2", "quopri", "undefined"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the real import-notice; return its exit code, stdout and stderr."""
    return subprocess.run([sys.executable, "-m", "outage_daemon", "import-notice", *args], capture_output=True,
                          text=True, timeout=90, check=False)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """Assert the command's stderr is one line without a traceback, and return it."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_url_reads_a_page_sent_in_two_writes(peer: Callable[[Handler], Peer]) -> None:
    """The page's second half arrives 0.3 s after the first: it is read too, and the window found."""
    async def two_writes(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/html; charset=utf-8"})
        await response.prepare(request)
        half = len(PAGE) // 2
        await response.write(PAGE[:half])
        await asyncio.sleep(0.3)
        await response.write(PAGE[half:])
        await response.write_eof()
        return response

    result = run("--url", peer(two_writes).url("notice.html"))
    assert result.returncode == 0, result.stderr
    assert "start: 2024-03-09 22:00+08:00" in result.stdout and "end: 2024-03-10 06:00+08:00" in result.stdout


def test_url_body_past_the_limit_is_refused_by_name(peer: Callable[[Handler], Peer]) -> None:
    """A body streamed past 10 MiB (chunked, no length) ends in "larger than 10 MiB", not "no window"."""
    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/plain; charset=utf-8"})
        await response.prepare(request)
        chunk = NOTICE.encode() + b"x" * 65536
        for _ in range(400):  # about 26 MB: bounded, well past the limit
            try:
                await response.write(chunk)
            except (ConnectionResetError, RuntimeError):
                break
        return response

    result = run("--url", peer(endless).url("big.txt"))
    assert result.returncode == 1
    assert "larger than 10 MiB" in one_line(result)


@pytest.mark.parametrize("codec", NOT_TEXT)
def test_a_meta_charset_that_is_not_a_text_encoding(tmp_path: Path, codec: str) -> None:
    page = tmp_path / "notice.html"
    page.write_bytes(PAGE.replace(b"<head>", f'<head><meta charset="{codec}">'.encode()))
    result = run(str(page))
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 0 and "2024-03-09 22:00+08:00" in result.stdout, result.stderr


@pytest.mark.parametrize("codec", NOT_TEXT)
def test_an_email_charset_that_is_not_a_text_encoding(tmp_path: Path, codec: str) -> None:
    mail = tmp_path / "notice.eml"
    mail.write_bytes(f"From: it@example.cn\nTo: all@example.cn\nSubject: =?{codec}?b?5Y2H57qn?=\n"
                     f"Date: Mon, 4 Mar 2024 10:00:00 +0800\nMIME-Version: 1.0\n"
                     f"Content-Type: text/plain; charset={codec}\nContent-Transfer-Encoding: 8bit\n\n"
                     .encode() + NOTICE.encode())
    result = run(str(mail))
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 0 and "2024-03-09 22:00+08:00" in result.stdout, result.stderr


@pytest.mark.parametrize("codec", NOT_TEXT)
def test_an_http_charset_that_is_not_a_text_encoding(peer: Callable[[Handler], Peer], codec: str) -> None:
    async def labelled(request: web.Request) -> web.StreamResponse:
        kind = "text/html" if request.path.endswith(".html") else "text/plain"
        body = PAGE if kind == "text/html" else NOTICE.encode()
        return web.Response(body=body, headers={"Content-Type": f"{kind}; charset={codec}"})

    server = peer(labelled)
    for path in ("notice.html", "notice.txt"):
        result = run("--url", server.url(path))
        assert "Traceback" not in result.stderr, result.stderr
        assert result.returncode == 0 and "2024-03-09 22:00+08:00" in result.stdout, (path, result.stderr)


@pytest.mark.parametrize("depth", [2000, 20000])
def test_an_email_nested_thousands_of_levels_deep(tmp_path: Path, depth: int) -> None:
    head = "From: a@example.cn\nSubject: nested\nDate: Mon, 4 Mar 2024 10:00:00 +0800\nMIME-Version: 1.0\n"
    parts = "".join(f'Content-Type: multipart/mixed; boundary="b{n}"\n\n--b{n}\n' for n in range(depth))
    mail = tmp_path / "nested.eml"
    mail.write_text(head + parts + "Content-Type: text/plain\n\n" + NOTICE, encoding="utf-8")
    result = run(str(mail))
    assert result.returncode == 1
    assert "nested" in one_line(result)


def test_an_endless_file_is_read_up_to_the_limit() -> None:
    """/dev/zero is read up to 10 MiB and refused by name, not until the kernel kills the process."""
    result = run("/dev/zero")
    assert result.returncode == 1
    assert "larger than 10 MiB" in one_line(result)


def test_a_long_text_is_read_up_to_the_bound() -> None:
    """Past MAX_TEXT characters the rest of a notice is not read, and a warning says so."""
    text = NOTICE + "客服热线95xxx。\n" * (MAX_TEXT // 10)
    reading = read(text, ZoneInfo("Asia/Shanghai"), 2024)
    assert [w.start.isoformat() for w in reading.windows] == ["2024-03-09T22:00:00+08:00"]
    assert any(f"longer than {MAX_TEXT:,} characters" in w for w in reading.warnings), reading.warnings


def test_a_sentence_of_a_thousand_dates_is_read_in_parts() -> None:
    """A "sentence" listing 1,500 dates is read in parts of MAX_SENTENCE characters, so its cost is
    linear; the dates in the part with the time range get their windows, none is invented, and a
    warning says the sentence was read in parts."""
    days = [date(2024, 1, 1) + timedelta(days=n) for n in range(1500)]
    text = "关于系统维护的通知\n系统将于" + "、".join(f"{d.year}年{d.month}月{d.day}日" for d in days) + \
        "22:00至次日06:00停机维护。\n"
    reading = read(text, ZoneInfo("Asia/Shanghai"), 2024)
    assert reading.windows and len(reading.windows) <= MAX_SENTENCE // 10
    stated = {(d, d + timedelta(days=1)) for d in days}
    assert all((w.start.date(), w.end.date()) in stated and w.start.hour == 22 for w in reading.windows)
    assert days[-1] == reading.windows[-1].start.date()
    assert any(f"longer than {MAX_SENTENCE} characters" in w for w in reading.warnings), reading.warnings


def test_the_windows_of_one_notice_are_bounded() -> None:
    """A notice stating thousands of windows (one a line) yields at most MAX_STATED, with a warning."""
    start = datetime(2024, 1, 1, 22, tzinfo=timezone.utc)
    lines = [f"{start + timedelta(days=n):%Y-%m-%d %H:%M}至{start + timedelta(days=n, hours=2):%H:%M}系统停机维护。"
             for n in range(MAX_STATED + 200)]
    reading = read("关于系统维护的通知\n" + "\n".join(lines) + "\n", timezone.utc, 2024)
    assert len(reading.windows) == MAX_STATED
    assert any(f"more than {MAX_STATED} windows" in w for w in reading.warnings), reading.warnings[-3:]

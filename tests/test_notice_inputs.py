"""import-notice on real inputs: HTML pages, emails (GBK, GB18030, Big5; quoted-printable and base64),
standard input and --url (a local aiohttp server), run as the real command; and its output taken by
the real config loader, pasted under a ``windows:`` list or included as a whole file."""

from __future__ import annotations

import asyncio
import base64
import quopri
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from aiohttp import web

from outage_daemon.loader import load

COMMAND = [sys.executable, "-m", "outage_daemon"]


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real command line; return its exit code, stdout and stderr."""
    done = subprocess.run([*COMMAND, *args], input=stdin, capture_output=True, timeout=60, check=False)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(), done.stderr.decode())


def windows_of(stdout: str) -> list[tuple[str, str, str]]:
    """Return (system, start, end) of each window the command printed."""
    return [(w["system"], w["start"], w["end"]) for w in yaml.safe_load(stdout)["windows"]]


PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>关于增值税发票服务平台停机维护的公告</title>
<script>var published = "2024-03-01 10:00"; var next = "2024-03-09 22:00至23:00停机";</script>
<style>td { padding: 2px }</style></head>
<body><div class="nav">首页 &gt; 通知公告 &gt; 正文　发布时间：2024-03-01 10:00:00</div>
<h1>关于增值税发票服务平台停机维护的公告</h1>
<p>各位纳税人：</p>
<p>为提升服务质量，我局将对以下系统进行停机维护，具体安排如下：</p>
<table border="1">
<tr><th>系统名称</th><th>维护时间</th><th>影响业务</th></tr>
<tr><td>增值税发票服务平台</td><td>2024年3月9日22:00<br>至3月10日06:00</td><td>发票开具、勾选</td></tr>
<tr><td>电子税务局</td><td>2024年3月10日00:00至04:00</td><td>网上申报</td></tr>
</table>
<p>纳税服务热线：12366（工作日9:00-17:00）。请于2024年3月8日前完成当期申报。</p>
</body></html>
"""


def test_html_page_tables_in_reading_order(tmp_path: Path) -> None:
    page = tmp_path / "notice.html"
    page.write_text(PAGE, encoding="utf-8")
    result = run("import-notice", str(page))
    assert result.returncode == 0, result.stderr
    assert windows_of(result.stdout) == [
        ("增值税发票服务平台", "2024-03-09 22:00+08:00", "2024-03-10 06:00+08:00"),
        ("电子税务局", "2024-03-10 00:00+08:00", "2024-03-10 04:00+08:00"),
    ]
    assert result.stderr == ""  # two systems, two windows: no contradiction


def test_html_page_in_gbk_declared_by_meta(tmp_path: Path) -> None:
    page = tmp_path / "notice.htm"
    page.write_bytes(PAGE.replace('charset="utf-8"', 'charset="gb2312"').encode("gbk"))
    result = run("import-notice", str(page))
    assert result.returncode == 0, result.stderr
    assert len(windows_of(result.stdout)) == 2


def _mail(headers: dict[str, str], body: bytes) -> bytes:
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return head.encode("ascii") + b"\r\n" + body


def _encoded_word(text: str, charset: str) -> str:
    return f"=?{charset}?B?{base64.b64encode(text.encode(charset)).decode()}?="


def test_email_gbk_base64_relative_days_from_its_date(tmp_path: Path) -> None:
    body = ("各位同事：\r\n明晚22:00至后天凌晨2:00，财务报销系统停机升级，届时无法提交报销单。\r\n"
            "报销请于3月5日前提交。咨询电话8123（工作时间）。\r\n财务处\r\n").encode("gbk")
    eml = tmp_path / "notice.eml"
    eml.write_bytes(_mail({
        "From": "=?gb2312?B?" + base64.b64encode("财务处".encode("gb2312")).decode() + "?= <finance@example.com>",
        "To": "all@example.com", "Subject": _encoded_word("关于报销系统停机的通知", "gb2312"),
        "Date": "Fri, 01 Mar 2024 10:00:00 +0800", "MIME-Version": "1.0",
        "Content-Type": 'text/plain; charset="gbk"', "Content-Transfer-Encoding": "base64",
    }, base64.encodebytes(body)))
    result = run("import-notice", str(eml))
    assert result.returncode == 0, result.stderr
    assert windows_of(result.stdout) == [("财务报销系统", "2024-03-02 22:00+08:00", "2024-03-03 02:00+08:00")]
    assert "relative days read against the notice's own date, 2024-03-01" in result.stderr


def test_email_big5_quoted_printable(tmp_path: Path) -> None:
    body = ("親愛的客戶：\n本行將於2024年5月4日（星期六）晚上10時至翌日淩晨2時進行系統升級，"
            "屆時網上銀行暫停服務。\n客戶服務熱線：2233 3000（每日9:00至18:00）。\n").encode("big5")
    eml = tmp_path / "notice.eml"
    eml.write_bytes(_mail({
        "From": "bank@example.hk", "To": "customer@example.com",
        "Subject": _encoded_word("關於網上銀行系統升級的公告", "big5"), "Date": "Mon, 29 Apr 2024 09:00:00 +0800",
        "MIME-Version": "1.0", "Content-Type": "text/plain; charset=big5",
        "Content-Transfer-Encoding": "quoted-printable"}, quopri.encodestring(body)))
    result = run("import-notice", str(eml), "--timezone", "Asia/Hong_Kong")
    assert result.returncode == 0, result.stderr
    [window] = yaml.safe_load(result.stdout)["windows"]
    assert (window["system"], window["start"], window["end"]) == (
        "網上銀行系統", "2024-05-04 22:00+08:00", "2024-05-05 02:00+08:00")
    assert "（星期六）" in window["source"]  # the notice's own characters and punctuation


def test_email_multipart_gb18030_plain_preferred_over_html(tmp_path: Path) -> None:
    plain = "维护时间：2024年6月15日（周六）01:00-05:00\n维护期间核心网关暂停服务。\n".encode("gb18030")
    html = "<p>维护时间：2024年6月15日 01:00-05:00</p>".encode()
    parts = (b"--BOUNDARY\r\nContent-Type: text/plain; charset=GB18030\r\nContent-Transfer-Encoding: quoted-printable"
             b"\r\n\r\n" + quopri.encodestring(plain) + b"\r\n--BOUNDARY\r\nContent-Type: text/html; charset=utf-8\r\n"
             b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(html) + b"--BOUNDARY--\r\n")
    eml = tmp_path / "mail.eml"
    eml.write_bytes(_mail({"From": "noc@example.com", "To": "ops@example.com",
                           "Subject": _encoded_word("【维护通知】核心网关升级", "gb18030"),
                           "Date": "Tue, 11 Jun 2024 18:00:00 +0800", "MIME-Version": "1.0",
                           "Content-Type": 'multipart/alternative; boundary="BOUNDARY"'}, parts))
    result = run("import-notice", str(eml))
    assert result.returncode == 0, result.stderr
    [window] = yaml.safe_load(result.stdout)["windows"]
    assert (window["start"], window["end"]) == ("2024-06-15 01:00+08:00", "2024-06-15 05:00+08:00")
    assert "（周六）" in window["source"]  # from the plain part, not the HTML one


def test_email_html_only_base64_with_table(tmp_path: Path) -> None:
    html = (b"<html><body><p>Dear customer,</p><p>The following services will be unavailable:</p>"
            b"<table><tr><th>Service</th><th>Start (UTC)</th><th>End (UTC)</th></tr>"
            b"<tr><td>Email</td><td>2024-05-11 01:00</td><td>2024-05-11 03:00</td></tr></table>"
            b"<p>Support: 9:00-17:00 UTC on weekdays.</p></body></html>")
    eml = tmp_path / "html.eml"
    eml.write_bytes(_mail({"From": "it@example.com", "To": "staff@example.com", "Subject": "IT maintenance",
                           "Date": "Mon, 06 May 2024 09:00:00 +0000", "MIME-Version": "1.0",
                           "Content-Type": "text/html; charset=utf-8", "Content-Transfer-Encoding": "base64"},
                          base64.encodebytes(html)))
    result = run("import-notice", str(eml), "--timezone", "UTC")
    assert result.returncode == 0, result.stderr
    assert windows_of(result.stdout) == [("Email", "2024-05-11 01:00+00:00", "2024-05-11 03:00+00:00")]


def test_standard_input() -> None:
    notice = "关于档案系统停机的通知\n2024年11月2-3日，档案管理系统停机迁移。\n".encode()
    result = run("import-notice", "-", stdin=notice)
    assert result.returncode == 0, result.stderr
    assert windows_of(result.stdout) == [("档案管理系统", "2024-11-02", "2024-11-03")]
    empty = run("import-notice", "-", stdin="没有时间的通知。".encode())
    assert empty.returncode == 1 and empty.stderr == "<stdin>: no outage window found\n"


@contextmanager
def serving(routes: dict[str, tuple[int, str, bytes]]) -> Iterator[str]:
    """Serve the routes (path → status, content type, body) on 127.0.0.1; yield the base URL."""
    loop = asyncio.new_event_loop()

    async def handler(request: web.Request) -> web.Response:
        status, kind, body = routes.get(request.path, (404, "text/plain", b"not here"))
        return web.Response(status=status, body=body, headers={"Content-Type": kind})

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.run_until_complete(runner.cleanup())
        loop.close()


def test_url_fetches_a_page_in_the_charset_its_server_names() -> None:
    page = PAGE.replace('<meta charset="utf-8">', "").encode("gbk")
    with serving({"/notice": (200, "text/html; charset=GBK", page)}) as base:
        result = run("import-notice", "--url", f"{base}/notice", "--format", "include")
        missing = run("import-notice", "--url", f"{base}/gone")
    assert result.returncode == 0, result.stderr
    items = yaml.safe_load(result.stdout)["windows"]
    assert [(w["system"], w["start"]) for w in items] == [("增值税发票服务平台", "2024-03-09 22:00+08:00"),
                                                          ("电子税务局", "2024-03-10 00:00+08:00")]
    assert {w["url"] for w in items} == {f"{base}/notice"} and {w["timezone"] for w in items} == {"Asia/Shanghai"}
    assert missing.returncode == 1 and missing.stderr == f"{base}/gone: HTTP 404 Not Found\n"


def test_url_errors_are_one_line() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    refused = run("import-notice", "--url", f"http://127.0.0.1:{port}/notice")
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert refused.stderr.startswith(f"http://127.0.0.1:{port}/notice: cannot fetch") and "Traceback" not in refused.stderr
    scheme = run("import-notice", "--url", "file:///etc/passwd")
    assert scheme.returncode == 1 and "only http:// and https://" in scheme.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["import-notice"], "give a FILE"),
    (["import-notice", "x.txt", "--url", "http://127.0.0.1/"], "not both"),
    (["import-notice", "x.txt", "--published", "1.3.2024"], "YYYY-MM-DD"),
    (["import-notice", "x.txt", "--format", "ical"], "invalid choice"),
], ids=["no-input", "file-and-url", "bad-published", "bad-format"])
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    result = run(*args)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    result = run("import-notice", str(tmp_path / "nope.txt"))
    assert result.returncode == 1
    assert result.stderr == f"{tmp_path / 'nope.txt'}: cannot read: No such file or directory\n"


TRICKY = """Maintenance notice: "Core" API
- FoundWindow: Saturday, March 2, 2024, 22:00–23:00 UTC # all regions: EU & US
"""


def test_output_pastes_under_an_indented_windows_list(tmp_path: Path) -> None:
    notice = tmp_path / "notice.txt"
    notice.write_text(TRICKY, encoding="utf-8")
    result = run("import-notice", str(notice), "--timezone", "UTC", "--prefix", "core")
    assert result.returncode == 0, result.stderr
    items = result.stdout.split("windows:\n", 1)[1]
    config = tmp_path / "cfg.yaml"
    config.write_text("timezone: UTC\nwindows:\n  - id: existing\n    system: Core\n    start: 2024-01-06 02:00\n"
                      "    end: 2024-01-06 04:00\n" + items, encoding="utf-8")
    windows = load(str(config)).windows
    assert [w.id for w in windows] == ["existing", "core-2024-03-02"]
    assert windows[1].source == "- FoundWindow: Saturday, March 2, 2024, 22:00–23:00 UTC # all regions: EU & US"


def test_include_format_is_taken_by_the_config_loader(tmp_path: Path) -> None:
    notice = tmp_path / "notice.html"
    notice.write_text(PAGE, encoding="utf-8")
    result = run("import-notice", str(notice), "--format", "include", "--prefix", "vat")
    assert result.returncode == 0, result.stderr
    (tmp_path / "windows.d").mkdir()
    (tmp_path / "windows.d" / "vat.yaml").write_text(result.stdout, encoding="utf-8")
    config = tmp_path / "cfg.yaml"
    config.write_text("timezone: UTC\ninclude: [windows.d/*.yaml]\n", encoding="utf-8")
    check = run("check", "-c", str(config))
    assert check.returncode == 0, check.stderr
    windows = load(str(config)).windows
    assert [(w.id, w.status) for w in windows] == [("vat-2024-03-09", "tentative"), ("vat-2024-03-10", "tentative")]


def test_a_weekly_rule_is_a_repeat_that_check_accepts(tmp_path: Path) -> None:
    """A weekly rule stated from a first day on is printed as one window with ``repeat:``, which the
    config loader takes as a repeating window (its first occurrence the first such weekday)."""
    notice = tmp_path / "notice.txt"
    notice.write_text("统一身份认证平台例行维护公告\n自2024年7月起，统一身份认证平台每周日凌晨2:00至4:00进行例行维护，"
                      "期间无法登录。\n服务热线工作时间为工作日8:00-17:30。\n", encoding="utf-8")
    result = run("import-notice", str(notice), "--prefix", "sso")
    assert result.returncode == 0, result.stderr
    [item] = yaml.safe_load(result.stdout)["windows"]
    assert (item["start"], item["end"], item["repeat"]) == ("2024-07-07 02:00+08:00", "2024-07-07 04:00+08:00",
                                                            "FREQ=WEEKLY;BYDAY=SU")
    config = tmp_path / "cfg.yaml"
    config.write_text("timezone: Asia/Shanghai\n" + result.stdout, encoding="utf-8")
    check = run("check", "-c", str(config))
    assert check.returncode == 0, check.stderr
    [window] = load(str(config)).windows
    assert window.repeat == "FREQ=WEEKLY;BYDAY=SU"


@pytest.mark.parametrize(("encoding", "text"), [
    ("gbk", "关于网上银行系统升级的公告\n我行将于2024年3月9日22:00至3月10日06:00对网上银行系统进行升级，期间暂停服务。\n"),
    ("gb18030", "关于电子税务局停机的公告\n电子税务局将于2024年3月9日22:00至3月10日06:00停机维护。\n咨询热线：12366。\n"),
    ("big5", "有關網上銀行系統升級的通知\n本行將於2024年3月9日22:00至3月10日06:00進行系統升級，期間網上銀行服務將暫停。\n"),
], ids=["gbk", "gb18030", "big5"])
def test_plain_text_in_a_chinese_legacy_encoding_is_detected(tmp_path: Path, encoding: str, text: str) -> None:
    """A plain-text notice saved in GBK, GB18030 or Big5 (no charset to declare) is read, and its
    source quoted as written."""
    notice = tmp_path / "notice.txt"
    notice.write_bytes(text.encode(encoding))
    result = run("import-notice", str(notice))
    assert result.returncode == 0, result.stderr
    [item] = yaml.safe_load(result.stdout)["windows"]
    assert (item["start"], item["end"]) == ("2024-03-09 22:00+08:00", "2024-03-10 06:00+08:00")
    assert item["source"] == text.splitlines()[1]


def test_drafts_of_windows_whose_time_is_not_understood(tmp_path: Path) -> None:
    """With --drafts, a day whose time is not understood is printed as a commented-out window to
    complete; completed and uncommented, the config loader takes it. Without the flag: nothing."""
    notice = tmp_path / "notice.txt"
    notice.write_text("关于核心业务系统升级的预告\n6月8日至9日夜间，核心业务系统进行升级，具体停机时间另行通知。\n"
                      "运维值班电话：8801。\n2024年6月3日\n", encoding="utf-8")
    plain = run("import-notice", str(notice))
    assert plain.returncode == 1 and plain.stdout == "" and "'夜间' is not understood" in plain.stderr
    drafted = run("import-notice", str(notice), "--drafts", "--prefix", "core")
    assert drafted.returncode == 1 and "no outage window found" in drafted.stderr
    lines = drafted.stdout.splitlines()
    assert lines[0] == "# Not understood: '夜间'. Write the start and end, then uncomment:"
    assert all(line.startswith("#") for line in lines)
    item = "\n".join(line[2:] for line in lines[1:]).replace("HH:MM", "22:00", 1).replace("HH:MM", "23:30", 1)
    config = tmp_path / "cfg.yaml"
    config.write_text("timezone: Asia/Shanghai\nwindows:\n" + item + "\n", encoding="utf-8")
    [window] = load(str(config)).windows
    assert (window.id, window.system, window.status) == ("core-2024-06-08", "核心业务系统", "tentative")

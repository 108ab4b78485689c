"""Notifications end to end against a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import mailbox
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import icalendar
import pytest
from ledgers import ledger_in
from smtpsink import Server, Sink, free_port, make_cert, wait_for

from outage_daemon.core.model import Config
from outage_daemon.core.timerules import UTC
from outage_daemon.loader import load
from outage_daemon.pipeline import Notifier, Tally

T0 = datetime.now(UTC).replace(microsecond=0)


def shifted_clock() -> Callable[[], datetime]:
    """Real elapsed time from T0: retries really wait, and due times stay explicit."""
    start = time.monotonic()
    return lambda: T0 + timedelta(seconds=time.monotonic() - start)


def config_text(port: int, addresses: list[str], security: str = "none", extra: str = "",
                title: str = "系统升级停机", start: datetime | None = None) -> str:
    begin = start or T0 + timedelta(hours=2)
    emails = ", ".join(f'"{a}"' for a in addresses)
    return f"""
timezone: Asia/Shanghai
notify: {{before_stop: [2h], at_stop: false, before_restore: [], at_restore: false, late_limit: 1h}}
email:
  from: "运维中心 <ops@example.com>"
  smtp: {{host: 127.0.0.1, port: {port}, security: {security}, retry: 1s, connections: 4{extra}}}
audiences: {{team: {{email: [{emails}]}}}}
calendar: {{base_url: "https://status.example.com"}}
windows:
  - id: vat
    system: 西安增值税发票管理系统
    title: {json.dumps(title, ensure_ascii=False)}
    start: {begin:%Y-%m-%dT%H:%M:%SZ}
    end: {begin + timedelta(hours=8):%Y-%m-%dT%H:%M:%SZ}
"""


def once(config: Config, state: Path, retry_for: float = 30) -> Tally:
    async def go() -> Tally:
        notifier = Notifier.open(config, str(state), shifted_clock())
        try:
            return await notifier.run_once(timedelta(seconds=retry_for))
        finally:
            await notifier.close()

    return asyncio.run(go())


def test_fan_out_to_500_then_restart_sends_nothing(config_of: Callable[[str], Config], tmp_path: Path) -> None:
    sink = Sink()
    people = [f"user{i}@example.com" for i in range(500)]
    with Server(sink) as server:
        config = config_of(config_text(server.port, people))
        tally = once(config, tmp_path)
        assert (tally.sent, tally.failed) == (500, 0)
        assert sorted(sink.recipients()) == sorted(people)
        again = once(config, tmp_path)
        assert (again.decided, again.sent) == (0, 0) and len(sink.recipients()) == 500
    ids = {m["Message-ID"] for _, m in sink.received}
    assert len(ids) == 500  # one per recipient, derived from key and recipient
    with ledger_in(tmp_path) as ledger:
        assert ledger.counts() == {"sent": 500}
        assert all(d.payload is None for d in ledger.deliveries())  # sent bodies are not kept


def test_451_twice_then_accepted(config_of: Callable[[str], Config], tmp_path: Path) -> None:
    sink = Sink(temporary=2)
    with Server(sink) as server:
        tally = once(config_of(config_text(server.port, ["a@example.com"])), tmp_path)
    assert tally.sent == 1 and sink.recipients() == ["a@example.com"] and sink.transactions == 3
    with ledger_in(tmp_path) as ledger:
        [delivery] = ledger.deliveries()
    assert delivery.state == "sent" and delivery.attempts == 3 and "451" in (delivery.last_error or "451")


def test_550_fails_one_recipient_alone(config_of: Callable[[str], Config], tmp_path: Path) -> None:
    sink = Sink(refuse={"bad@example.com": "550 5.1.1 no such user"})
    people = [f"p{i}@example.com" for i in range(9)] + ["bad@example.com"]
    with Server(sink) as server:
        tally = once(config_of(config_text(server.port, people)), tmp_path)
    assert (tally.sent, tally.failed) == (9, 1)
    assert Counter(sink.recipients()) == Counter({p: 1 for p in people if p != "bad@example.com"})
    with ledger_in(tmp_path) as ledger:
        [bad] = [d for d in ledger.deliveries() if d.recipient == "bad@example.com"]
    assert bad.state == "failed" and bad.attempts == 1 and bad.last_error == "550 5.1.1 no such user"


def test_server_down_then_up(config_of: Callable[[str], Config], tmp_path: Path) -> None:
    sink, port = Sink(), free_port()
    config = config_of(config_text(port, ["a@example.com", "b@example.com"]))
    server = Server(sink, port=port)

    def start_later() -> None:
        time.sleep(1.5)
        server.__enter__()

    import threading

    thread = threading.Thread(target=start_later)
    thread.start()
    try:
        tally = once(config, tmp_path)
    finally:
        thread.join()
        server.__exit__()
    assert tally.sent == 2 and sorted(sink.recipients()) == ["a@example.com", "b@example.com"]


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls_with_checked_certificate(config_of: Callable[[str], Config], tmp_path: Path, security: str) -> None:
    cert = make_cert(tmp_path)
    sink = Sink()
    with Server(sink, tls=security, cert=cert) as server:
        trusted = config_of(config_text(server.port, ["a@example.com"], security, f", ca_file: {cert[0]}"))
        assert once(trusted, tmp_path / "ok").sent == 1
        untrusted = config_of(config_text(server.port, ["b@example.com"], security))
        tally = once(untrusted, tmp_path / "untrusted", retry_for=0)
    assert sink.recipients() == ["a@example.com"] and tally.sent == 0
    with ledger_in(tmp_path / "untrusted") as ledger:
        [delivery] = ledger.deliveries()
    assert delivery.state == "pending" and "CERTIFICATE_VERIFY_FAILED" in (delivery.last_error or "")


def test_hostile_title_is_one_wellformed_message(config_of: Callable[[str], Config], tmp_path: Path) -> None:
    sink = Sink()
    title = "x\nBcc: victim@example.com\n\n<script>alert(1)</script>" + "长" * 140
    with Server(sink) as server:
        assert once(config_of(config_text(server.port, ["a@example.com"], title=title)), tmp_path).sent == 1
    [(rcpt, raw)] = sink.received
    msg = email.message_from_bytes(raw.as_bytes(), policy=email.policy.default)
    assert rcpt == "a@example.com" and msg["Bcc"] is None and len(msg.get_all("Subject")) == 1
    subject = str(msg["Subject"])
    assert "\n" not in subject and subject.startswith(
        "【停机提醒】西安增值税发票管理系统「x Bcc: victim@example.com  <s…」将于2小时后停机：")  # title cut at 30
    html = msg.get_body(("html",)).get_content()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    text = msg.get_body(("plain",)).get_content()
    assert "x Bcc: victim@example.com  <script>" in text
    assert all(len(line) <= 998 for line in raw.as_bytes().split(b"\n"))


def test_announcement_and_cancellation_carry_itip(write: Callable[..., Path], tmp_path: Path) -> None:
    sink = Sink()
    with Server(sink) as server:
        text = config_text(server.port, ["李娜 <li.na@example.com>"], start=T0 + timedelta(days=10))
        path = write(text)
        once(load(str(path)), tmp_path)  # first start: known windows are not announced
        assert sink.received == []
        path.write_text(text.replace("  - id: vat", "  - id: vat2\n    system: ERP\n"
                                     f"    start: {T0 + timedelta(days=20):%Y-%m-%dT%H:%M:%SZ}\n"
                                     f"    end: {T0 + timedelta(days=21):%Y-%m-%dT%H:%M:%SZ}\n  - id: vat"))
        once(load(str(path)), tmp_path)
        path.write_text(path.read_text().replace("    system: ERP\n", "    system: ERP\n    status: cancelled\n"))
        once(load(str(path)), tmp_path)
    (_, announced), (_, cancelled) = sink.received
    assert str(announced["Subject"]).startswith("【停机通知】ERP将于")
    assert str(cancelled["Subject"]).startswith("【取消通知】ERP原定")
    calendars = []
    for msg in (announced, cancelled):
        [part] = [p for p in msg.walk() if p.get_content_type() == "text/calendar"]
        cal = icalendar.Calendar.from_ical(part.get_payload(decode=True))
        calendars.append((part.get_param("method"), cal["METHOD"], cal.walk("VEVENT")[0]))
    (m1, c1, e1), (m2, c2, e2) = calendars
    assert (m1, c1, m2, c2) == ("REQUEST", "REQUEST", "CANCEL", "CANCEL")
    assert e1["UID"] == e2["UID"] == "vat2@status.example.com" and e2["SEQUENCE"] > e1["SEQUENCE"]
    assert str(e1["ATTENDEE"]) == "mailto:li.na@example.com" and e1["ATTENDEE"].params["CN"] == "李娜"
    assert str(e1["ORGANIZER"]) == "mailto:ops@example.com"


def test_run_once_into_the_maildir_outbox(write: Callable[..., Path], tmp_path: Path) -> None:
    text = config_text(1, ["a@example.com"]).replace(
        "  smtp: {host: 127.0.0.1, port: 1, security: none, retry: 1s, connections: 4}\n", "")
    path = write(text)
    state = tmp_path / "state"
    run = [sys.executable, "-m", "outage_daemon", "run", "--once", "-c", str(path), "--state-dir", str(state)]
    first = subprocess.run(run, capture_output=True, text=True, timeout=60, check=False)
    assert first.returncode == 0 and "ERROR" not in first.stderr and "Traceback" not in first.stderr, first.stderr
    assert "sent 1" in first.stdout
    second = subprocess.run(run, capture_output=True, text=True, timeout=60, check=False)
    assert second.returncode == 0 and second.stdout == "" and second.stderr == ""  # issue 15: cron-quiet when idle
    [message] = list(mailbox.Maildir(str(state / "outbox")))
    # issue 14: the subject states the time really left when it is rendered (T0 was taken at import, so
    # the 2h reminder may be minutes late by now), then the absolute time
    subject = str(email.header.make_header(email.header.decode_header(message["Subject"])))
    assert message["To"] == "a@example.com" and re.search(r"将于(2小时|1小时\d+分钟)后停机：\d+月\d+日（周.）", subject), subject


def test_kill_9_in_the_middle_of_a_fan_out(write: Callable[..., Path], tmp_path: Path) -> None:
    """A real process killed mid fan-out and restarted: nobody lost, duplicates bounded and
    recognisable by their Message-ID."""
    sink = Sink(delay=0.02)
    people = [f"user{i}@example.com" for i in range(300)]
    with Server(sink) as server:
        path = write(config_text(server.port, people, start=datetime.now(UTC) + timedelta(hours=2, seconds=-5)))
        run = [sys.executable, "-m", "outage_daemon", "run", "--once", "-c", str(path),
               "--state-dir", str(tmp_path / "state")]
        victim = subprocess.Popen(run, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_for(lambda: len(sink.recipients()) >= 100, 60)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        killed_at = len(sink.recipients())
        assert killed_at < 300
        rerun = subprocess.run(run, capture_output=True, text=True, timeout=120, check=False)
        assert rerun.returncode == 0, rerun.stderr
    counts = Counter(sink.recipients())
    assert set(counts) == set(people)
    duplicates = [p for p, n in counts.items() if n > 1]
    assert len(duplicates) <= 4 and all(counts[p] == 2 for p in duplicates)
    for person in duplicates:
        ids = {m["Message-ID"] for r, m in sink.received if r == person}
        assert len(ids) == 1


def test_user_templates_override_and_html_stays_escaped(config_of: Callable[[str], Config], tmp_path: Path) -> None:
    folder = tmp_path / "templates" / "zh-CN"
    folder.mkdir(parents=True)
    (folder / "subject.txt").write_text("自定义：{{ system }} {{ countdown }}", encoding="utf-8")
    (folder / "body.html").write_text("<p>{{ title }}</p>", encoding="utf-8")
    sink = Sink()
    with Server(sink) as server:
        text = config_text(server.port, ["a@example.com"], title="<b>x</b>")
        text = text.replace("timezone: Asia/Shanghai\n", f"timezone: Asia/Shanghai\ntemplates: {tmp_path / 'templates'}\n")
        assert once(config_of(text), tmp_path / "state").sent == 1
    [(_, msg)] = sink.received
    assert str(msg["Subject"]) == "自定义：西安增值税发票管理系统 2小时"
    assert msg.get_body(("html",)).get_content().strip() == "<p>&lt;b&gt;x&lt;/b&gt;</p>"
    assert "系统：西安增值税发票管理系统" in msg.get_body(("plain",)).get_content()  # not overridden: shipped


@pytest.mark.parametrize("source", ["password_file", "password_credential", "password_env"])
def test_smtp_auth_password_sources(config_of: Callable[[str], Config], tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch, source: str) -> None:
    from aiosmtpd.smtp import AuthResult

    seen: list[tuple[bytes, bytes]] = []

    def authenticator(server: object, session: object, envelope: object, mechanism: str, data: object) -> AuthResult:
        seen.append((data.login, data.password))  # type: ignore[attr-defined]
        return AuthResult(success=data.password == b"hunter2")  # type: ignore[attr-defined]

    (tmp_path / "creds").mkdir()
    (tmp_path / "creds" / "smtp-password").write_text("hunter2\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path / "creds"))
    monkeypatch.setenv("SMTP_PASSWORD", "hunter2")
    where = {"password_file": str(tmp_path / "creds" / "smtp-password"), "password_credential": "smtp-password",
             "password_env": "SMTP_PASSWORD"}[source]
    sink = Sink()
    with Server(sink, authenticator=authenticator, auth_require_tls=False) as server:  # plain AUTH: loopback only
        text = config_text(server.port, ["a@example.com"], extra=f", username: ops, {source}: {where}")
        assert once(config_of(text), tmp_path / "state").sent == 1
    assert seen == [(b"ops", b"hunter2")] and sink.recipients() == ["a@example.com"]


def test_run_once_reports_a_refused_recipient(write: Callable[..., Path], tmp_path: Path) -> None:
    sink = Sink(refuse={"bad@example.com": "550 5.1.1 no such user"})
    with Server(sink) as server:
        path = write(config_text(server.port, ["ok@example.com", "bad@example.com"]))
        result = subprocess.run([sys.executable, "-m", "outage_daemon", "run", "--once", "-c", str(path),
                                 "--state-dir", str(tmp_path / "state")], capture_output=True, text=True,
                                timeout=60, check=False)
    assert result.returncode == 1 and "sent 1, failed 1" in result.stdout
    # issue 15: outside journald a log line starts with its time stamp
    assert re.search(r"^\S+ \S+ ERROR delivery of vat/\S+/before_stop/2h to bad@example.com failed: 550 5.1.1 no such user$",
                     result.stderr, re.M), result.stderr
    assert sink.recipients() == ["ok@example.com"]

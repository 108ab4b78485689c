"""Faults 9, 14 and 15 through the real daemon's HTTP: what a token protects, the Host header,
ETags behind a proxy, gzip;q=0, hardening headers on errors, /api/windows served like the feeds,
control and bidi characters, confusable names."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from daemonproc import Daemon

from outage_daemon.core.timerules import UTC

TOKEN = "t0ken-for-the-board"  # noqa: S105 - the test feed's token


def config_text(tmp_path: Path) -> str:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    end = start + timedelta(hours=1)
    (tmp_path / "token").write_text(TOKEN)
    return f"""
timezone: UTC
audiences:
  everyone: {{email: [all@example.com]}}
  board: {{email: [board@example.com], public: false}}
calendar:
  feeds: [{{name: board, audiences: [board], token_file: token}}]
windows:
  - {{id: open, system: "Mail\\u0085Server\\u202eevil", title: t, audiences: [everyone],
      start: "{start:%Y-%m-%dT%H:%M:%S}Z", end: "{end:%Y-%m-%dT%H:%M:%S}Z"}}
  - {{id: merger-prep, system: Secret-System, title: t, audiences: [board],
      start: "{start:%Y-%m-%dT%H:%M:%S}Z", end: "{end:%Y-%m-%dT%H:%M:%S}Z"}}
"""


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    tmp_path = tmp_path_factory.mktemp("http")
    path = tmp_path / "c.yaml"
    path.write_text(config_text(tmp_path))
    running = Daemon(path, tmp_path / "state", watchdog_usec=None)
    assert running.read_notify("READY=1"), running.output()
    yield running
    assert running.stop() == 0


def test_private_audiences_stay_off_the_public_feed_page_and_api(daemon: Daemon) -> None:
    """Fault 9: a `public: false` audience's windows need its feed's token."""
    for path in ("/calendar.ics", "/", "/api/windows"):
        status, _, body = daemon.get(path)
        assert status == 200 and b"Secret-System" not in body and b"merger-prep" not in body, path
        assert b"Mail" in body
    assert daemon.get("/feeds/board.ics")[0] == 403
    status, _, body = daemon.get(f"/feeds/board.ics?token={TOKEN}")
    assert status == 200 and b"Secret-System" in body


def test_the_host_header_is_not_reflected(daemon: Daemon) -> None:
    """Fault 9: without base_url, links are relative; a forged Host never shows in the page."""
    status, _, body = daemon.get("/", headers={"Host": "evil.example"})
    assert status == 200 and b"evil.example" not in body


def test_etags_behind_a_gzip_proxy_and_gzip_q0(daemon: Daemon) -> None:
    """Fault 14: W/"…" matches, gzip;q=0 gets identity, gzip and identity have different ETags."""
    _, plain, body = daemon.get("/calendar.ics", headers={"Accept-Encoding": "identity"})
    _, zipped, data = daemon.get("/calendar.ics", headers={"Accept-Encoding": "gzip"})
    assert zipped.get("Content-Encoding") == "gzip" and gzip.decompress(data) == body
    assert plain["ETag"] != zipped["ETag"]
    for tag in (plain["ETag"], zipped["ETag"], "W/" + plain["ETag"], "W/" + zipped["ETag"]):
        assert daemon.get("/calendar.ics", headers={"If-None-Match": tag})[0] == 304, tag
    _, headers, again = daemon.get("/calendar.ics", headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in headers and again == body
    _, headers, _ = daemon.get("/calendar.ics", headers={"Accept-Encoding": "*;q=0.5"})
    assert headers.get("Content-Encoding") == "gzip"


def test_errors_carry_the_hardening_headers(daemon: Daemon) -> None:
    """Fault 14: 403, 404 and 405 answers lack nosniff, X-Frame-Options, Referrer-Policy."""
    for status, (path, method) in ((403, ("/feeds/board.ics", "GET")), (404, ("/nothing", "GET")),
                                   (405, ("/calendar.ics", "POST"))):
        got, headers, _ = daemon.get(path, method=method)
        assert got == status
        assert headers.get("X-Content-Type-Options") == "nosniff", (path, headers)
        assert headers.get("X-Frame-Options") == "DENY" and headers.get("Referrer-Policy") == "no-referrer"


def test_api_windows_is_served_like_a_feed(daemon: Daemon) -> None:
    """Fault 14: /api/windows has an ETag, answers 304 and gzip (rendered once per 10 s)."""
    status, headers, body = daemon.get("/api/windows")
    assert status == 200 and "ETag" in headers and json.loads(body)["windows"]
    assert headers["Content-Type"].startswith("application/json")
    assert daemon.get("/api/windows", headers={"If-None-Match": headers["ETag"]})[0] == 304


def test_c1_controls_and_bidi_overrides_are_stripped(daemon: Daemon) -> None:
    """Fault 15: NEL (U+0085) and RIGHT-TO-LEFT OVERRIDE (U+202E) reached the page, feed and API."""
    for path in ("/calendar.ics", "/", "/api/windows"):
        text = daemon.get(path)[2].decode()
        assert "\u0085" not in text and "\u202e" not in text and "\\u202e" not in text.lower(), path
        assert "Mail Server" in text or "Mail Serverevil" not in text


def test_confusable_names_are_warned_about(tmp_path: Path) -> None:
    """Fault 15: `ops` and Cyrillic `оps` were two silently different audiences."""
    path = tmp_path / "c.yaml"
    path.write_text("audiences:\n  ops: {email: [a@example.com]}\n  \u043eps: {email: [b@example.com]}\nwindows: []\n")
    done = subprocess.run([sys.executable, "-m", "outage_daemon", "check", "-c", str(path)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert "looks like 'ops'" in done.stdout + done.stderr, done

"""Faults 1-3 against the real daemon process and a real SMTP relay and webhook peer on loopback:
the reload race and the SIGHUP storm, head-of-line blocking under a slow relay, SIGTERM during a
fan-out."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from daemonproc import Daemon
from smtpsink import Server, Sink, wait_for

from faults.peers import Peer
from outage_daemon.core.timerules import UTC


def config(port: int, windows: str, recipients: int = 1, connections: int = 4, hook_url_env: bool = False) -> str:
    people = ", ".join(f"u{i}@example.com" for i in range(recipients))
    hooks = "webhooks: {robot: {kind: generic, url_env: FAULT_HOOK_URL, timeout: 5s, retry: 1s}}\n" \
        if hook_url_env else ""
    chat = "  chat: {webhooks: [robot]}\n" if hook_url_env else ""
    return f"""
timezone: UTC
language: en
notify: {{before_stop: [], at_stop: false, before_restore: [], at_restore: false, late_limit: 1h,
          on_change: false}}
email:
  from: ops@example.com
  smtp: {{host: 127.0.0.1, port: {port}, security: none, retry: 1s, timeout: 10s, connections: {connections}}}
{hooks}audiences:
  team: {{email: [{people}]}}
{chat}windows:
{windows}"""


def window(ident: str, start: datetime, title: str = "t", audience: str = "team", before: str = "") -> str:
    notify = f"    notify: {{before_stop: [{before}]}}\n" if before else ""
    return (f"  - id: {ident}\n    system: s\n    title: {title}\n    audiences: [{audience}]\n"
            f"    start: {start:%Y-%m-%dT%H:%M:%S}Z\n    end: {start + timedelta(hours=1):%Y-%m-%dT%H:%M:%S}Z\n{notify}")


def replace(path: Path, text: str) -> None:
    """Write the config atomically, as an editor or a deployment tool does."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


@pytest.fixture
def relay() -> Iterator[tuple[Sink, int]]:
    box = Sink()
    with Server(box) as server:
        yield box, server.port


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def test_reload_race_and_sighup_storm_apply_the_newest_file_one_at_a_time(
        tmp_path: Path, relay: tuple[Sink, int]) -> None:
    """Fault 1: a slow load of an older file must not win over a newer one, and 40 SIGHUPs in about
    a second run a few reloads one after another, the last of the newest file."""
    _, port = relay
    far = now() + timedelta(days=3)
    many = [window(f"w{i}", far + timedelta(hours=2 * i), "old") for i in range(1500)]
    big = "".join(many)
    path = tmp_path / "c.yaml"
    path.write_text(config(port, window("probe", far, "v0")))
    daemon = Daemon(path, tmp_path / "state", watchdog_usec=None)
    try:
        assert daemon.read_notify("READY=1"), daemon.output()
        replace(path, config(port, window("probe", far, "big-and-old") + big))  # slow to load
        daemon.signal(signal.SIGHUP)
        time.sleep(0.1)  # its load is under way
        replace(path, config(port, window("probe", far, "newest")))  # fast to load
        daemon.signal(signal.SIGHUP)
        assert wait_for(lambda: "newest" in daemon.get("/calendar.ics")[2].decode(), 30), daemon.output()
        time.sleep(3)  # an older load finishing last would have replaced it by now
        feed = daemon.get("/calendar.ics")[2].decode()
        assert "newest" in feed and "big-and-old" not in feed, daemon.output()[-2000:]

        before = daemon.output().count("reloaded ")
        for i in range(40):  # the storm: each signal with a newer file
            replace(path, config(port, window("probe", far, f"storm{i}") + big))
            daemon.signal(signal.SIGHUP)
            time.sleep(0.025)
        assert wait_for(lambda: "storm39" in daemon.get("/calendar.ics")[2].decode(), 30), daemon.output()[-2000:]
        time.sleep(2)
        assert "storm39" in daemon.get("/calendar.ics")[2].decode()
        ran = daemon.output().count("reloaded ") - before
        assert 1 <= ran <= 10, ran  # coalesced: not 40 reloads at once
        assert daemon.get("/healthz")[0] == 200
    finally:
        assert daemon.stop() == 0


def test_a_slow_relay_holds_up_no_webhook_and_no_reload(
        tmp_path: Path, relay: tuple[Sink, int], peer: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault 2: 12 mails through a relay that takes 1 s per message on one connection (12 s), and a
    webhook reminder due meanwhile: the webhook goes out on time, a SIGHUP is applied at once."""
    box, port = relay
    box.delay = 1.0

    async def ok(request: web.Request) -> web.StreamResponse:
        await request.read()
        return web.json_response({"ok": True})

    robot: Peer = peer(ok)  # type: ignore[operator]
    monkeypatch.setenv("FAULT_HOOK_URL", robot.url("hook"))
    start = now() + timedelta(seconds=30)
    mails = window("mail", start, "mail", "team", before="27s")  # due at +3 s
    chats = window("chat", start + timedelta(minutes=5), "chat", "chat", before="5m 25s")  # due at +5 s
    path = tmp_path / "c.yaml"
    path.write_text(config(port, mails + chats, recipients=12, connections=1, hook_url_env=True))
    daemon = Daemon(path, tmp_path / "state", watchdog_usec=None)
    try:
        assert daemon.read_notify("READY=1"), daemon.output()
        due = time.monotonic() + (start - timedelta(seconds=25) - datetime.now(UTC)).total_seconds()
        assert wait_for(lambda: robot.hits, 20), daemon.output()
        late = robot.hits[0][1] - due
        assert late < 2.5, f"the webhook was {late:.1f} s late"
        assert len(box.recipients()) < 6  # the mails were still going out meanwhile
        daemon.signal(signal.SIGHUP)
        t0 = time.monotonic()
        assert daemon.read_notify("RELOADING=1", 5) and daemon.read_notify("READY=1", 5), daemon.output()
        assert time.monotonic() - t0 < 3
        assert wait_for(lambda: len(box.recipients()) == 12, 30)
        assert sorted(box.recipients()) == sorted(f"u{i}@example.com" for i in range(12))
    finally:
        assert daemon.stop() == 0


def test_sigterm_during_a_fan_out_stops_within_the_grace_and_loses_nothing(
        tmp_path: Path, relay: tuple[Sink, int]) -> None:
    """Fault 3: SIGTERM while 2 of 10 mails are in flight through a slow relay: the daemon lets them
    finish and exits within the grace (10 s); a restart sends the rest; duplicates at most 2."""
    box, port = relay
    box.delay = 1.5
    start = now() + timedelta(seconds=30)
    path = tmp_path / "c.yaml"
    path.write_text(config(port, window("fan", start, "fan", before="27s"), recipients=10, connections=2))
    daemon = Daemon(path, tmp_path / "state", watchdog_usec=None)
    assert daemon.read_notify("READY=1"), daemon.output()
    assert wait_for(lambda: box.transactions >= 2, 15), daemon.output()  # two in flight
    t0 = time.monotonic()
    daemon.signal(signal.SIGTERM)
    daemon.proc.wait(30)
    took = time.monotonic() - t0
    log = daemon.output()
    daemon.stop()
    assert daemon.proc.returncode == 0 and took < 10 + 2, (took, log[-2000:])
    first = len(box.recipients())
    assert first >= 2, log[-2000:]  # the two in flight were let finish
    again = Daemon(path, tmp_path / "state", watchdog_usec=None)
    try:
        assert again.read_notify("READY=1"), again.output()
        assert wait_for(lambda: len(set(box.recipients())) == 10, 30), again.output()
        time.sleep(1)
        got = box.recipients()
        assert len(got) == 10, got  # the grace applied: the two in flight finished and were marked sent
        assert not re.search(r"Traceback", log + again.output())
    finally:
        assert again.stop() == 0


def test_1100_idle_sockets_under_a_1024_descriptor_limit_delay_no_reminder(
        tmp_path: Path, relay: tuple[Sink, int]) -> None:
    """Fault 4: 1,100 idle HTTP connections with `ulimit -n 1024` (soft and hard) in the daemon: the
    reminder still goes out on time, /healthz still answers, and the log stays small."""
    import resource
    import socket

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))

    box, port = relay
    start = now() + timedelta(seconds=40)
    path = tmp_path / "c.yaml"
    path.write_text(config(port, window("w", start, before="32s")))  # due at +8 s
    daemon = Daemon(path, tmp_path / "state", watchdog_usec=None, preexec=limit)
    sockets: list[socket.socket] = []
    try:
        assert daemon.read_notify("READY=1"), daemon.output()
        for _ in range(1100):  # bounded: 1,100 sockets, closed below
            s = socket.socket()
            s.settimeout(5)
            try:
                s.connect(("127.0.0.1", daemon.port))
            except OSError:
                s.close()
                continue
            sockets.append(s)
        assert daemon.get("/healthz")[0] == 200
        due = time.monotonic() + (start - timedelta(seconds=32) - datetime.now(UTC)).total_seconds()
        assert wait_for(lambda: box.recipients(), 20), daemon.output()[-3000:]
        assert time.monotonic() - due < 3, "the reminder was late"
        assert daemon.get("/healthz")[0] == 200
        assert len(daemon.output()) < 20_000, daemon.output()[-3000:]
    finally:
        for s in sockets:
            s.close()
        assert daemon.stop() == 0

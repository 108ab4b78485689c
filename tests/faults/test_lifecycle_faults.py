"""Faults 11-13: a reload that fails for another reason, start-up faults, a full disk, `run --once`
when nothing could be delivered, a ledger deleted under a running service."""

from __future__ import annotations

import asyncio
import errno
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from daemonproc import Daemon
from smtpsink import free_port, wait_for

from outage_daemon.channels.email.maildir import Outbox
from outage_daemon.core.timerules import UTC


def window(ident: str, days: int = 3) -> str:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=days)
    return (f'  - {{id: {ident}, system: s, title: t, audiences: [team], start: "{start:%Y-%m-%dT%H:%M:%S}Z", '
            f'end: "{start + timedelta(hours=1):%Y-%m-%dT%H:%M:%S}Z"}}\n')


BASE = "timezone: UTC\naudiences: {team: {email: [a@example.com]}}\nwindows:\n"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "outage_daemon", *args], capture_output=True, text=True,
                          timeout=90, check=False)


def test_a_reload_that_fails_otherwise_keeps_the_old_config_and_says_so(tmp_path: Path) -> None:
    """Fault 11: an unwritable --feeds-dir made a reload half-applied and unreported."""
    path, feeds = tmp_path / "c.yaml", tmp_path / "feeds"
    path.write_text(BASE + window("old"))
    daemon = Daemon(path, tmp_path / "state", watchdog_usec=None, feeds=feeds)
    try:
        assert daemon.read_notify("READY=1"), daemon.output()
        assert wait_for(lambda: (feeds / "calendar.ics").exists(), 10)
        shutil.rmtree(feeds)
        feeds.write_text("not a folder")
        path.write_text(BASE + window("old") + window("added", 4))
        daemon.signal(signal.SIGHUP)
        assert daemon.read_notify("RELOADING=1", 10) and daemon.read_notify("READY=1", 10), daemon.output()
        assert "reload refused" in daemon.messages[-1]
        status, _, body = daemon.get("/healthz")
        assert status == 503, body
        assert b"added" not in daemon.get("/calendar.ics")[2] and b"UID:old@" in daemon.get("/calendar.ics")[2]
        assert "reload refused" in daemon.output() and "Traceback" not in daemon.output()
    finally:
        assert daemon.stop() == 0


def test_start_up_faults_are_one_line(tmp_path: Path) -> None:
    """Fault 12: a state folder that cannot be made and a damaged ledger gave tracebacks or no way out."""
    path = tmp_path / "c.yaml"
    path.write_text(BASE + window("w"))
    (tmp_path / "file").write_text("x")
    done = cli("run", "-c", str(path), "--state-dir", str(tmp_path / "file" / "state"), "--listen", "127.0.0.1:0")
    assert done.returncode == 1 and "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1, done.stderr
    state = tmp_path / "state"
    state.mkdir()
    (state / "ledger.sqlite3").write_bytes(os.urandom(4096))
    done = cli("run", "--once", "-c", str(path), "--state-dir", str(state))
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "damaged" in done.stderr and "move it aside" in done.stderr


def test_run_once_fails_when_nothing_could_be_delivered(tmp_path: Path) -> None:
    """Fault 13: `run --once` exited 0 with every delivery still waiting for a retry."""
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1, seconds=-5)
    path = tmp_path / "c.yaml"
    path.write_text(f"""
timezone: UTC
notify: {{before_stop: [1h], at_stop: false, before_restore: [], at_restore: false}}
email:
  from: ops@example.com
  smtp: {{host: 127.0.0.1, port: {free_port()}, security: none, retry: 10m, timeout: 2s}}
audiences: {{team: {{email: [a@example.com]}}}}
windows:
  - {{id: w, system: s, start: "{start:%Y-%m-%dT%H:%M:%S}Z", end: "{start + timedelta(hours=1):%Y-%m-%dT%H:%M:%S}Z"}}
""")
    done = cli("run", "--once", "-c", str(path), "--state-dir", str(tmp_path / "state"))
    assert "sent 0" in done.stdout and "still to retry 1" in done.stdout, done
    assert done.returncode == 1


def test_a_full_disk_leaves_nothing_in_the_outbox_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault 13: a write that fails on a full disk left an empty file in tmp/ each time."""
    box = Outbox(str(tmp_path / "outbox"))

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    outcome = asyncio.run(box.send("a@example.com", "b@example.com", b"Subject: x\r\n\r\nbody\r\n"))
    assert not outcome.ok and outcome.temporary and "No space left" in (outcome.error or "")
    assert os.listdir(tmp_path / "outbox" / "tmp") == [] and os.listdir(tmp_path / "outbox" / "new") == []


def test_a_deleted_ledger_is_warned_about_loudly(tmp_path: Path, write: Callable[..., Path]) -> None:
    """Fault 13: a ledger deleted under a running service was silently a first start on restart."""
    path = tmp_path / "c.yaml"
    path.write_text(BASE + window("w"))
    state = tmp_path / "state"
    first = cli("run", "--once", "-c", str(path), "--state-dir", str(state))
    assert first.returncode == 0 and "THE LEDGER IS NEW" not in first.stderr, first.stderr
    for name in os.listdir(state):
        if name.startswith("ledger.sqlite3"):
            os.unlink(state / name)
    again = cli("run", "--once", "-c", str(path), "--state-dir", str(state))
    assert "THE LEDGER IS NEW" in again.stderr, again.stderr

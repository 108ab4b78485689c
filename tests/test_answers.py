"""Answers (issue 15): `announce` sends a window's announcement deliberately, once, through the
ledger; `history` says what was decided, sent, skipped (and why) and failed, when, to whom."""

from __future__ import annotations

import fcntl
import json
import mailbox
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from outage_daemon.core.timerules import UTC


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "outage_daemon", *args], capture_output=True, text=True,
                          timeout=60, check=False)


def write_config(write: Callable[..., Path]) -> Path:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=5)
    return write(f"""
timezone: Asia/Shanghai
language: en
audiences: {{finance: {{email: [a@example.com, "李娜 <li.na@example.com>"]}}}}
windows:
  - id: vat
    system: VAT invoices
    start: {start:%Y-%m-%dT%H:%M:%S}Z
    end: {start + timedelta(hours=8):%Y-%m-%dT%H:%M:%S}Z
  - id: gone
    system: VAT invoices
    status: cancelled
    start: {start + timedelta(days=1):%Y-%m-%dT%H:%M:%S}Z
    end: {start + timedelta(days=1, hours=8):%Y-%m-%dT%H:%M:%S}Z
""")


def test_announce_once_then_history(write: Callable[..., Path], tmp_path: Path) -> None:
    path, state = write_config(write), str(tmp_path / "state")
    common = ["-c", str(path), "--state-dir", state]
    assert cli("run", "--once", *common).returncode == 0  # first start: the windows are taken as announced
    assert not list(mailbox.Maildir(f"{state}/outbox"))
    first = cli("announce", *common, "vat")
    assert first.returncode == 0 and first.stdout.strip() == "vat: announced — sent 2, failed 0, still to retry 0", \
        first.stdout + first.stderr
    again = cli("announce", *common, "vat")
    assert again.returncode == 0 and "vat: already announced (decided " in again.stdout
    box = list(mailbox.Maildir(f"{state}/outbox"))
    assert len(box) == 2 and "a@example.com" in [str(m["To"]) for m in box]
    table = cli("history", *common)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["decided", "window", "kind", "offset", "due", "late", "state", "last", "try", "to",
                                "channel", "note"]
    for line, person in zip(lines[1:3], ["a@example.com", "<li.na@example.com>"], strict=True):
        cells = line.split()  # decided (2), window, kind, offset, due (2), late, state, last try (2), to…, channel
        assert (cells[2], cells[3], cells[4], cells[7], cells[8], cells[-2], cells[-1]) == (
            "vat", "announced", "-", "-", "sent", person, "email")
    assert lines[-1] == "2 entries (times in Asia/Shanghai)"
    doc = json.loads(cli("history", *common, "--json", "--recipient", "li.na@example.com").stdout)
    assert [(d["window"], d["kind"], d["state"], d["recipient"], d["channel"]) for d in doc] == [
        ("vat", "announced", "sent", "李娜 <li.na@example.com>", "email")]
    assert json.loads(cli("history", *common, "--json", "--window", "gone").stdout) == []


def test_announce_while_the_daemon_runs_records_for_it(write: Callable[..., Path], tmp_path: Path) -> None:
    path, state = write_config(write), tmp_path / "state"
    common = ["-c", str(path), "--state-dir", str(state)]
    assert cli("run", "--once", *common).returncode == 0  # the daemon's first start made its ledger
    with (state / "lock").open("a") as held:  # as a running daemon holds it
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = cli("announce", *common, "vat")
    assert result.returncode == 0 and "recorded for 2 recipients; the running daemon sends it" in result.stdout
    doc = json.loads(cli("history", *common, "--json").stdout)
    assert [d["state"] for d in doc] == ["pending", "pending"]
    assert cli("run", "--once", *common).returncode == 0  # whoever sends next delivers it, once
    assert [d["state"] for d in json.loads(cli("history", *common, "--json").stdout)] == ["sent", "sent"]


def test_announce_refuses_unknown_and_cancelled_windows(write: Callable[..., Path], tmp_path: Path) -> None:
    path = write_config(write)
    common = ["-c", str(path), "--state-dir", str(tmp_path / "s")]
    unknown = cli("announce", *common, "nope")
    assert unknown.returncode == 2 and "no window 'nope'" in unknown.stderr
    cancelled = cli("announce", *common, "gone")
    assert cancelled.returncode == 2 and "is cancelled" in cancelled.stderr


def test_a_wrong_state_directory_is_not_a_new_empty_ledger(write: Callable[..., Path], tmp_path: Path) -> None:
    path = write_config(write)
    for command in (["history"], ["announce", "vat"]):
        result = cli(*command, "-c", str(path), "--state-dir", str(tmp_path / "typo"))
        assert result.returncode == 1 and "no ledger at " in result.stderr and "--state-dir" in result.stderr
        assert not (tmp_path / "typo").exists()


def test_history_shows_the_offset_and_how_late_a_reminder_went_out(write: Callable[..., Path], tmp_path: Path) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1, minutes=-7)
    path = write(f"""
timezone: UTC
notify: {{before_stop: [1d, 2h], at_stop: true, before_restore: [], at_restore: false}}
audiences: {{finance: {{email: [a@example.com]}}}}
windows:
  - id: soon
    system: VAT invoices
    start: {start:%Y-%m-%dT%H:%M:%S}Z
    end: {start + timedelta(hours=1):%Y-%m-%dT%H:%M:%S}Z
""")
    common = ["-c", str(path), "--state-dir", str(tmp_path / "state")]
    assert cli("run", "--once", *common).returncode == 0  # the 1d reminder went out 7 minutes late
    doc = json.loads(cli("history", *common, "--json").stdout)
    by_offset = {d["offset"]: d for d in doc}
    assert by_offset["1d"]["state"] == "sent" and 7 * 60 <= by_offset["1d"]["late_seconds"] < 9 * 60
    table = cli("history", *common).stdout.splitlines()
    [sent] = [line for line in table if " sent " in line]
    cells = sent.split()
    assert (cells[3], cells[4]) == ("before_stop", "1d") and cells[7] in ("+7m", "+8m"), sent

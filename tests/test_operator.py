"""The operator's path (issue 15): start-up failures in one line, cron-quiet runs, time-stamped logs,
plurals, send-test that reads only the channel it tests, and STATUS/metric beyond the horizon."""

from __future__ import annotations

import fcntl
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from daemonproc import Daemon

from outage_daemon.core import i18n
from outage_daemon.core.model import Config
from outage_daemon.core.planner import next_reminder
from outage_daemon.core.timerules import UTC


def cli(*args: str, env: dict[str, str] | None = None, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "outage_daemon", *args], capture_output=True, text=True,
                          timeout=60, check=False, env=env, **kwargs)  # type: ignore[call-overload, no-any-return]


def config(start: datetime, extra: str = "") -> str:
    return f"""
timezone: Asia/Shanghai
language: en
notify: {{before_stop: [1d], at_stop: true, before_restore: [], at_restore: false}}
{extra}audiences: {{team: {{email: [a@example.com]}}}}
windows:
  - id: later
    system: db
    start: {start:%Y-%m-%dT%H:%M:%S}Z
    end: {start + timedelta(hours=1):%Y-%m-%dT%H:%M:%S}Z
"""


@pytest.fixture
def far(write: Callable[..., Path]) -> Path:
    """A config whose next reminder is ten days away (far beyond the daemon's 2-hour horizon)."""
    return write(config(datetime.now(UTC).replace(microsecond=0) + timedelta(days=11)))


def one_line(result: subprocess.CompletedProcess[str], *words: str) -> str:
    lines = [line for line in result.stderr.splitlines() if " INFO " not in line]
    assert result.returncode == 1 and len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert all(w in lines[0] for w in words), lines[0]
    return lines[0]


# --- start-up failures --------------------------------------------------------------------------


def test_port_in_use_is_one_line(far: Path, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("run", "-c", str(far), "--state-dir", str(tmp_path / "s"), "--listen", f"127.0.0.1:{port}")
    one_line(result, f"cannot listen on 127.0.0.1:{port}", "in use", "--listen")


def test_a_start_that_fails_on_its_port_records_nothing(far: Path, tmp_path: Path) -> None:
    state = str(tmp_path / "s")
    assert cli("run", "--once", "-c", str(far), "--state-dir", state).returncode == 0  # the ledger exists
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=20)
    with far.open("a") as more:  # a new window, that the next start announces
        more.write(f"  - id: added\n    system: erp\n    start: {start:%Y-%m-%dT%H:%M:%S}Z\n"
                   f"    end: {start + timedelta(hours=1):%Y-%m-%dT%H:%M:%S}Z\n")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("run", "-c", str(far), "--state-dir", state, "--listen", f"127.0.0.1:{port}")
    one_line(result, "in use")
    history = cli("history", "-c", str(far), "--state-dir", state, "--json")
    assert json.loads(history.stdout) == [], history.stdout  # not recorded: the next real start announces it


def test_unusable_state_directory_is_one_line(far: Path) -> None:
    for once in ([], ["--once"]):
        result = cli("run", *once, "-c", str(far), "--state-dir", f"{far}/state", "--listen", "127.0.0.1:0")
        one_line(result, "cannot use the state directory", "--state-dir")


def test_lock_held_is_one_line(far: Path, tmp_path: Path) -> None:
    state = tmp_path / "s"
    state.mkdir()
    with (state / "lock").open("a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = cli("run", "-c", str(far), "--state-dir", str(state), "--listen", "127.0.0.1:0")
    one_line(result, "another outage-daemon is running", "systemctl stop")


def test_missing_credential_is_one_line(write: Callable[..., Path], tmp_path: Path) -> None:
    start = datetime.now(UTC) + timedelta(days=3)
    path = write(config(start, "email:\n  smtp: {host: 127.0.0.1, port: 1, security: none, "
                               "password_env: OUTAGE_TEST_NO_SUCH_VAR}\n"))
    env = {k: v for k, v in os.environ.items() if k != "OUTAGE_TEST_NO_SUCH_VAR"}
    result = cli("run", "-c", str(path), "--state-dir", str(tmp_path / "s"), "--listen", "127.0.0.1:0", env=env)
    one_line(result, "OUTAGE_TEST_NO_SUCH_VAR is not set")


def test_corrupt_ledger_is_one_line(far: Path, tmp_path: Path) -> None:
    state = tmp_path / "s"
    state.mkdir()
    (state / "ledger.sqlite3").write_bytes(b"not a database at all\n" * 100)
    result = cli("run", "-c", str(far), "--state-dir", str(state), "--listen", "127.0.0.1:0")
    one_line(result, "ledger.sqlite3", "move it aside")


# --- cron-quiet, time stamps, plurals -------------------------------------------------------------


def test_run_once_quiet_prints_nothing_when_nothing_happened(far: Path, tmp_path: Path) -> None:
    state = str(tmp_path / "s")
    cli("run", "--once", "-c", str(far), "--state-dir", state)  # the first start takes the window as known
    quiet = cli("run", "--once", "--quiet", "-c", str(far), "--state-dir", state)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    # On a terminal (without --quiet) the summary is printed even when nothing happened.
    primary, secondary = os.openpty()
    try:
        loud = subprocess.run([sys.executable, "-m", "outage_daemon", "run", "--once", "-c", str(far),
                               "--state-dir", state], stdout=secondary, stderr=subprocess.PIPE, timeout=60, check=False)
        os.close(secondary)
        said = os.read(primary, 4096).decode()
    finally:
        os.close(primary)
    assert loud.returncode == 0 and said.startswith("decided 0, skipped 0; sent 0"), said


def test_run_once_quiet_prints_only_its_summary_when_something_happened(write: Callable[..., Path],
                                                                        tmp_path: Path) -> None:
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1, minutes=-5)
    path = write(config(soon))  # its 1d reminder was due 5 minutes ago
    result = cli("run", "--once", "--quiet", "-c", str(path), "--state-dir", str(tmp_path / "s"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "decided 1, skipped 0; sent 1, failed 0, still to retry 0\n"
    assert result.stderr == ""  # no INFO lines ("first start: …", "1 notification to send") for cron to mail


def test_log_lines_have_time_stamps_unless_under_journald(far: Path, tmp_path: Path) -> None:
    log = tmp_path / "err.log"
    with log.open("w") as err:
        subprocess.run([sys.executable, "-m", "outage_daemon", "run", "--once", "-c", str(far), "--state-dir",
                        str(tmp_path / "a")], stdout=subprocess.DEVNULL, stderr=err, timeout=60, check=False)
    line = log.read_text().splitlines()[0]
    datetime.strptime(line[:24], "%Y-%m-%d %H:%M:%S%z")
    assert " INFO first start: 1 window taken as already announced" in line
    with log.open("w") as err:
        stat = os.fstat(err.fileno())
        env = dict(os.environ, JOURNAL_STREAM=f"{stat.st_dev}:{stat.st_ino}")
        subprocess.run([sys.executable, "-m", "outage_daemon", "run", "--once", "-c", str(far), "--state-dir",
                        str(tmp_path / "b")], stdout=subprocess.DEVNULL, stderr=err, timeout=60, check=False, env=env)
    assert log.read_text().splitlines()[0] == "INFO first start: 1 window taken as already announced"


@pytest.mark.parametrize(("count", "noun", "text"), [(0, "window", "0 windows"), (1, "window", "1 window"),
                                                      (2, "error", "2 errors"), (1, "warning", "1 warning")])
def test_plural(count: int, noun: str, text: str) -> None:
    assert i18n.plural(count, noun) == text


@pytest.mark.parametrize(("delta", "language", "text"), [
    (timedelta(days=1), "en", "1 day"), (timedelta(days=2, minutes=1), "en", "2 days 1 minute"),
    (timedelta(days=1), "zh-CN", "1天"), (timedelta(hours=2, minutes=30), "zh-CN", "2小时30分钟"),
])
def test_countdowns_read_right_in_both_languages(delta: timedelta, language: str, text: str) -> None:
    assert i18n.format_duration(delta, language) == text


# --- send-test reads only the channel under test ------------------------------------------------


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def robot() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def test_send_test_reads_only_the_channel_it_tests(write: Callable[..., Path], tmp_path: Path, robot: str) -> None:
    start = datetime.now(UTC) + timedelta(days=3)
    path = write(config(start, "email:\n  smtp: {host: 127.0.0.1, port: 1, security: none, password_env: NO_SMTP_PW}\n"
                        "webhooks:\n  good: {kind: generic, url_env: GOOD_URL}\n"
                        "  other: {kind: wecom, url_env: UNSET_OTHER_URL}\n"))
    env = {k: v for k, v in os.environ.items() if k not in ("UNSET_OTHER_URL", "NO_SMTP_PW")}
    env["GOOD_URL"] = robot
    hooked = cli("send-test", "-c", str(path), "--webhook", "good", "--state-dir", str(tmp_path / "s"), env=env)
    assert hooked.returncode == 0 and "through webhook good (generic)" in hooked.stdout, hooked.stderr
    # Without smtp, --to goes to the outbox; the unset webhook variable is not read.
    no_smtp = write(config(start, "webhooks:\n  other: {kind: wecom, url_env: UNSET_OTHER_URL}\n"), "mail.yaml")
    mailed = cli("send-test", "-c", str(no_smtp), "--to", "a@example.com", "--state-dir", str(tmp_path / "s"), env=env)
    assert mailed.returncode == 0 and "through the outbox" in mailed.stdout, mailed.stderr


# --- the next reminder, however far ---------------------------------------------------------------


def test_next_reminder_beyond_any_horizon(config_of: Callable[[str], Config]) -> None:
    start = datetime(2026, 12, 20, 2, 0, tzinfo=UTC)
    cfg = config_of(config(start))
    now = datetime(2026, 3, 1, tzinfo=UTC)
    found = next_reminder(cfg, now)
    assert found is not None and (found.kind, found.due) == ("before_stop", start - timedelta(days=1))
    assert next_reminder(cfg, now, reach=timedelta(days=30)) is None
    assert next_reminder(cfg, start + timedelta(hours=2)) is None


def test_status_and_metric_show_a_reminder_ten_days_away(far: Path, tmp_path: Path) -> None:
    daemon = Daemon(far, tmp_path / "state", watchdog_usec=None)
    try:
        assert daemon.read_notify("READY=1"), daemon.output()
        status = next(m for m in daemon.messages if "STATUS=" in m)
        assert "STATUS=1 window; next reminder " in status and "(later, before_stop)" in status, status
        metrics = daemon.get("/metrics")[2].decode()
        [value] = [line.split()[-1] for line in metrics.splitlines()
                   if line.startswith("outage_next_reminder_timestamp_seconds")]
        due = datetime.fromtimestamp(float(value), UTC)
        assert timedelta(days=9) < due - datetime.now(UTC) < timedelta(days=11), due
    finally:
        assert daemon.stop() == 0

"""Faults 7 and 8: empty or unreadable tokens, `*_file` paths relative to the config, includes
that read any file and errors that quote it, through the real command line and daemon."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from daemonproc import Daemon

from outage_daemon.core.timerules import UTC
from outage_daemon.loader import load

SECRET_LINE = "root:$6$hunter2hash:19000:0:99999:7:::"  # noqa: S105 - a fake shadow line


def feed_config(token: str = "token_file: token") -> str:  # noqa: S107 - a file name
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    return f"""
timezone: UTC
calendar:
  feeds: [{{name: private, {token}}}]
windows:
  - {{id: w, system: s, title: t, start: "{start:%Y-%m-%dT%H:%M:%S}Z", end: "{start + timedelta(hours=1):%Y-%m-%dT%H:%M:%S}Z"}}
"""


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "outage_daemon", *args], capture_output=True, text=True,
                          timeout=60, check=False, cwd=cwd)


def test_an_empty_token_file_is_an_error_at_start(tmp_path: Path) -> None:
    """Fault 7: an empty token compared with an empty ?token= made a private feed public."""
    (tmp_path / "token").write_text("\n")
    path = tmp_path / "c.yaml"
    path.write_text(feed_config(f"token_file: {tmp_path / 'token'}"))
    done = cli("run", "-c", str(path), "--state-dir", str(tmp_path / "state"), "--listen", "127.0.0.1:0")
    assert done.returncode != 0 and "is empty" in done.stderr and "Traceback" not in done.stderr, done.stderr
    (tmp_path / "token").write_bytes(b"\xff\xfe\x00token")
    done = cli("run", "-c", str(path), "--state-dir", str(tmp_path / "state"), "--listen", "127.0.0.1:0")
    assert done.returncode != 0 and "not UTF-8" in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_file_paths_are_relative_to_the_config_and_an_empty_token_is_refused_on_reload(tmp_path: Path) -> None:
    """Fault 7: `token_file: token` is read next to the config (not from the working directory),
    and a reload to an empty token is refused: the feed stays private."""
    (tmp_path / "token").write_text("s3cret-token\n")
    path = tmp_path / "c.yaml"
    path.write_text(feed_config())
    assert load(str(path)).calendar.feeds[0].token_file == str(tmp_path / "token")
    daemon = Daemon(path, tmp_path / "state", watchdog_usec=None)  # working directory: the repository
    try:
        assert daemon.read_notify("READY=1"), daemon.output()
        assert daemon.get("/feeds/private.ics?token=s3cret-token")[0] == 200
        assert daemon.get("/feeds/private.ics?token=")[0] in (403, 404)
        (tmp_path / "token").write_text("")
        daemon.signal(signal.SIGHUP)
        assert daemon.read_notify("RELOADING=1") and daemon.read_notify("READY=1")
        assert daemon.get("/healthz")[0] == 503
        assert daemon.get("/feeds/private.ics?token=")[0] in (403, 404)
        assert daemon.get("/feeds/private.ics")[0] in (403, 404)
        assert daemon.get("/feeds/private.ics?token=s3cret-token")[0] == 200  # the old config, whole
    finally:
        assert daemon.stop() == 0


def test_includes_stay_in_the_config_folder_and_errors_never_quote_another_file(tmp_path: Path) -> None:
    """Fault 8: `include: [/etc/shadow]` put its lines on /healthz and in `check`'s output."""
    secret = tmp_path / "shadow"
    secret.write_text(SECRET_LINE + "\n" + SECRET_LINE.replace("root", "daemon") + "\n")
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "link.yaml").symlink_to(secret)
    path = folder / "c.yaml"
    base = feed_config("token_env: HOME")
    for include in (f"[{secret}]", "[../shadow]", "[link.yaml]"):
        path.write_text(f"include: {include}\n" + base)
        done = cli("check", "-c", str(path))
        assert done.returncode != 0 and "outside the config's folder" in done.stdout + done.stderr, done
        assert "hunter2" not in done.stdout + done.stderr
    path.write_text(f"include: [{secret}]\ninclude_absolute: true\n" + base)
    done = cli("check", "-c", str(path))
    assert done.returncode != 0 and "is not a config file" in done.stdout + done.stderr, done
    assert "hunter2" not in done.stdout + done.stderr

    path.write_text(base)
    daemon = Daemon(path, tmp_path / "state", watchdog_usec=None)
    try:
        assert daemon.read_notify("READY=1"), daemon.output()
        path.write_text(f"include: [{secret}]\ninclude_absolute: true\n" + base)
        daemon.signal(signal.SIGHUP)
        assert daemon.read_notify("RELOADING=1") and daemon.read_notify("READY=1")
        status, _, body = daemon.get("/healthz")
        assert status == 503 and "hunter2" not in body.decode() and "hunter2" not in daemon.output()
        assert json.loads(body)["locations"] == [f"{secret}:1"]
    finally:
        assert daemon.stop() == 0

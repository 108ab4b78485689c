"""Issue 22, point 7: an error about a file that is not a config names the file and the kind of
value, never the value: `include:` naming a credential file printed it ("expected a mapping, got
'postgresql://outage:…'"), and a reload logged it."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from daemonproc import Daemon
from smtpsink import wait_for

PASSWORD = "s3cret-pw-4711"  # noqa: S105 - a fake credential
WINDOWS = "timezone: UTC\nwindows: []\n"


def check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "outage_daemon", "check", "-c", str(path)], capture_output=True,
                          text=True, timeout=60, check=False)


@pytest.mark.parametrize("content,said", [
    pytest.param(f"postgresql://outage:{PASSWORD}@db/outage\n", "got text", id="url-line"),
    pytest.param(f"- outage:{PASSWORD}\n", "got a list", id="list"),
    pytest.param(f"password: {PASSWORD}\n", "is not a config file", id="key-value"),
    pytest.param(f"{PASSWORD}\n", "got text", id="bare-token"),
])
@pytest.mark.parametrize("how", ["include", "main"])
def test_a_file_that_is_not_a_config_is_named_never_quoted(how: str, content: str, said: str, tmp_path: Path) -> None:
    secret = tmp_path / "ledger-url"
    secret.write_text(content)
    path = tmp_path / "c.yaml"
    path.write_text(f"include: [ledger-url]\n{WINDOWS}")
    done = check(path if how == "include" else secret)
    out = done.stdout + done.stderr
    assert done.returncode == 1 and said in out and "ledger-url" in out, out
    assert PASSWORD not in out and "Traceback" not in out, out


def test_a_reload_that_includes_a_credential_file_does_not_log_it(tmp_path: Path) -> None:
    (tmp_path / "ledger-url").write_text(f"postgresql://outage:{PASSWORD}@db/outage\n")
    path = tmp_path / "c.yaml"
    path.write_text(WINDOWS)
    daemon = Daemon(path, tmp_path / "state", watchdog_usec=None)
    try:
        assert daemon.read_notify("READY=1"), daemon.output()
        path.write_text(f"include: [ledger-url]\n{WINDOWS}")
        daemon.signal(signal.SIGHUP)
        assert wait_for(lambda: "reload refused" in daemon.output(), 30), daemon.output()
        status, _, body = daemon.get("/healthz")
        assert status == 503 and PASSWORD not in body.decode()
        assert "ledger-url" in daemon.output() and PASSWORD not in daemon.output(), daemon.output()
    finally:
        assert daemon.stop() == 0

"""The unit in systemd/: verified and hardened, checked by systemd-analyze where it exists."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

UNIT = ROOT / "systemd" / "outage-daemon.service"
DROP_IN = ROOT / "systemd" / "smtp-password.conf"
ANALYZE = shutil.which("systemd-analyze")
pytestmark = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")


def test_unit_verifies(tmp_path: Path) -> None:
    # verify checks that ExecStart exists: point a copy at the entry point installed for the tests.
    entry = Path(sys.executable).with_name("outage-daemon")
    copy = tmp_path / "outage-daemon.service"
    copy.write_text(UNIT.read_text().replace("/usr/local/bin/outage-daemon", str(entry)))
    result = subprocess.run([ANALYZE, "verify", str(copy)], capture_output=True, text=True, check=False)  # type: ignore[list-item]
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr


def test_unit_exposure_at_most_2() -> None:
    result = subprocess.run([ANALYZE, "security", "--offline=true", "--threshold=20", str(UNIT)],  # type: ignore[list-item]
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "Overall exposure level for outage-daemon.service: 1." in result.stdout


def test_unit_has_what_the_readme_promises() -> None:
    text = UNIT.read_text()
    for line in ("Type=notify", "DynamicUser=yes", "StateDirectory=outage-daemon", "ConfigurationDirectory=outage-daemon",
                 "ExecStartPre=/usr/local/bin/outage-daemon check",
                 "ExecReload=/bin/kill -HUP $MAINPID", "WatchdogSec=", "Restart=on-failure"):
        assert line in text, line
    # issue 15: the SMTP credential moved to a drop-in, so that the unit as shipped starts without SMTP
    assert "LoadCredential=smtp-password:" in DROP_IN.read_text()


def _installed_copy(folder: Path) -> Path:
    """Copy the unit into ``folder`` with ExecStart pointing at the entry point installed for the tests."""
    entry = Path(sys.executable).with_name("outage-daemon")
    copy = folder / "outage-daemon.service"
    copy.write_text(UNIT.read_text().replace("/usr/local/bin/outage-daemon", str(entry)))
    return copy


def test_unit_as_shipped_needs_no_smtp_credential() -> None:
    """Without SMTP nothing is to be deleted by hand: the shipped unit loads no credential (a
    LoadCredential= whose file is missing stops the service from starting)."""
    assert "LoadCredential" not in "\n".join(line for line in UNIT.read_text().splitlines()
                                             if not line.startswith("#"))


def test_unit_with_the_smtp_drop_in_verifies(tmp_path: Path) -> None:
    copy = _installed_copy(tmp_path)
    folder = tmp_path / "outage-daemon.service.d"
    folder.mkdir()
    (folder / "smtp-password.conf").write_text(DROP_IN.read_text())
    result = subprocess.run([ANALYZE, "verify", str(copy)], capture_output=True, text=True, check=False)  # type: ignore[list-item]
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr


def test_feeds_folder_is_outside_the_private_state_and_readable() -> None:
    """DynamicUser= puts StateDirectory= under /var/lib/private (0700): the feeds go to the runtime
    directory instead, 0755, which systemd does not make private."""
    text = UNIT.read_text()
    assert "--feeds-dir /run/outage-daemon" in text and "--feeds-dir ${STATE_DIRECTORY}" not in text
    for line in ("RuntimeDirectory=outage-daemon", "RuntimeDirectoryMode=0755", "RuntimeDirectoryPreserve=restart"):
        assert line in text, line

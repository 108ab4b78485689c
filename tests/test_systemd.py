"""The unit in systemd/: verified and hardened, checked by systemd-analyze where it exists."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

UNIT = ROOT / "systemd" / "outage-daemon.service"
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
                 "LoadCredential=smtp-password:", "ExecStartPre=/usr/local/bin/outage-daemon check",
                 "ExecReload=/bin/kill -HUP $MAINPID", "WatchdogSec=", "Restart=on-failure"):
        assert line in text, line

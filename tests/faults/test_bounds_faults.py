"""Issue 22, point 6 (outside the notice importer): every config read is bounded — `announce -c
/dev/zero` read until the kernel killed it, while printing the error that the file is too large —
and `check` splits a file once, however many warnings it prints (the figures: bench/run.py,
section "check: print … warnings")."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from outage_daemon.cli import sources

MEMORY = 1 << 30  # bytes of address space the command may use: a bounded read needs far less


def limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "outage_daemon", *args], capture_output=True, text=True, timeout=120,
                          check=False, preexec_fn=limited)


@pytest.mark.parametrize("command", [["announce", "w"], ["check"], ["preview"], ["run", "--once"]],
                         ids=["announce", "check", "preview", "run-once"])
def test_a_config_that_never_ends_is_refused_within_bounds(command: list[str], tmp_path: Path) -> None:
    extra = ["--state-dir", str(tmp_path / "state")] if command[0] in ("announce", "run") else []
    done = cli(command[0], "-c", "/dev/zero", *extra, *command[1:])
    assert done.returncode == 1 and "Traceback" not in done.stderr and "MemoryError" not in done.stderr, done.stderr
    assert "/dev/zero: larger than 64 MiB" in done.stderr, done.stderr


def test_a_secret_file_that_never_ends_is_refused_within_bounds(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("timezone: UTC\nwebhooks: {h: {kind: generic, url_file: /dev/zero}}\nwindows: []\n")
    done = cli("run", "--once", "-c", str(path), "--state-dir", str(tmp_path / "state"))
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "larger than 64 KiB" in done.stderr, done.stderr


def test_check_reads_and_splits_each_file_once(tmp_path: Path) -> None:
    """Every warning used to split the whole file again (20,000 overlapping windows: 45 s)."""
    path = tmp_path / "c.yaml"
    path.write_text("a: 1\nb: 2\n")
    read = sources()
    lines = read(str(path))
    assert lines == ["a: 1", "b: 2"] and read(str(path)) is lines

"""The real command line in a subprocess: exit codes, error format, preview's JSON contract."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import ROOT

EXAMPLE = str(ROOT / "config" / "example.yaml")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "outage_daemon", *args], capture_output=True,
                          text=True, timeout=60, check=False)


def test_check_example_ok_with_warnings_and_strict() -> None:
    ok = run("check", "-c", EXAMPLE, "--now", "2026-11-28T00:00:00Z")
    assert ok.returncode == 0, ok.stderr
    assert "OK — 4 windows (1 repeating)" in ok.stdout
    assert "has 3 differing schedules" in ok.stderr and "entirely in the past" in ok.stderr
    strict = run("check", "-c", EXAMPLE, "--strict", "--now", "2026-11-28T00:00:00Z")
    assert strict.returncode == 1 and "failing because of --strict" in strict.stderr


def test_check_reports_every_error_without_traceback(write: Callable[..., Path]) -> None:
    path = write("timezone: Nowhere/Land\nwindows:\n  - {id: a, system: s, start: 2026-01-01 10:00,"
                 " end: 2025-01-01 10:00, audiences: [x]}\n")
    result = run("check", "-c", str(path))
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith(str(path))]  # heads, not excerpts
    assert lines[0] == f"{path}:1:11: timezone: unknown time zone 'Nowhere/Land'"
    assert lines[1].startswith(f"{path}:3:54: windows[0].end: end 2025-01-01 10:00 is before start 2026-01-01 10:00")
    assert lines[2].startswith(f"{path}:3:84: windows[0].audiences[0]: unknown audience 'x'")
    assert lines[-1] == f"{path}: 3 errors" and "Traceback" not in result.stderr


def test_preview_json_contract() -> None:
    result = run("preview", "-c", EXAMPLE, "--now", "2026-11-28T12:00:00Z", "--until", "2026-12-07T00:00:00Z",
                 "--json")
    assert result.returncode == 0, result.stderr
    items = json.loads(result.stdout)
    assert [(i["window"], i["kind"], i["offset"], i["due"]) for i in items][:4] == [
        ("weekly-db", "before_stop", "15m", "2026-11-29T01:45:00+08:00"),
        ("weekly-db", "at_stop", None, "2026-11-29T02:00:00+08:00"),
        ("weekly-db", "at_restore", None, "2026-11-29T04:00:00+08:00"),
        ("weekly-db", "before_stop", "1d", "2026-12-05T02:00:00+08:00"),
    ]
    assert all(i["audiences"] == ["ops"] for i in items)
    assert items[0]["due_utc"] == "2026-11-28T17:45:00Z"


def test_preview_table_local_time_in_config_zone() -> None:
    result = run("preview", "-c", EXAMPLE, "--now", "2026-11-28 20:00", "--until", "2d")
    assert result.returncode == 0, result.stderr
    header, first = result.stdout.splitlines()[:2]
    assert header.split() == ["due", "(local)", "UTC", "window", "kind", "offset", "audiences"]
    assert first.split() == ["2026-11-29", "Sun", "01:45", "CST", "2026-11-28", "17:45Z", "weekly-db",
                             "before_stop", "15m", "ops"]


@pytest.mark.parametrize("args", [
    pytest.param(["preview", "-c", EXAMPLE, "--now", "yesterday"], id="bad-now"),
    pytest.param(["preview", "-c", EXAMPLE, "--now", "2026-01-02T00:00Z", "--until", "2026-01-01T00:00Z"],
                 id="until-before-now"),
    pytest.param(["preview"], id="no-config"),
    pytest.param(["frobnicate"], id="unknown-command"),
])
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = run(*args)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0 and result.stdout.startswith("outage-daemon ")


COMMANDS = ["check", "preview", "render", "run", "send-test", "announce", "history", "schema", "import-notice", "ledger"]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_of_each_command_ends_with_an_example(command: str) -> None:
    result = run(command, "--help")
    assert result.returncode == 0, result.stderr
    example = result.stdout.split("example:\n", 1)[1]
    assert example.lstrip().startswith(f"outage-daemon {command} "), example


def test_every_command_has_a_help_example() -> None:
    from outage_daemon.cli import EXAMPLES, parser

    choices = next(a for a in parser()._actions if a.dest == "command").choices
    assert sorted(choices or ()) == sorted(COMMANDS) == sorted(EXAMPLES)

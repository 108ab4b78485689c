"""Fault 10: valid YAML that crashed or hung the loader, through the real loader and `check`."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from outage_daemon.core.errors import ConfigError
from outage_daemon.loader import load

WINDOW = '{id: w, system: s, start: "2027-01-01T00:00:00Z", end: "2027-01-01T01:00:00Z"}'


def check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "outage_daemon", "check", "-c", str(path)], capture_output=True,
                          text=True, timeout=60, check=False)


def test_aliases_to_lists_and_mappings_are_read(write: Callable[..., Path]) -> None:
    path = write(f"""
        audiences:
          ops: {{email: &e [a@example.com, b@example.com]}}
          dev: {{email: *e}}
          qa: &q {{email: [c@example.com]}}
          qa2: *q
        windows:
          - {WINDOW[:-1]}, audiences: [ops, dev, qa2]}}
        """)
    config = load(str(path))
    assert config.audiences["dev"].emails == ("a@example.com", "b@example.com")
    assert config.audiences["qa2"].emails == ("c@example.com",)


def test_an_alias_with_another_meaning_is_an_error_not_a_crash(errors_of: Callable[[str], list[str]]) -> None:
    errors = errors_of("audiences:\n  ops: &a {email: [a@example.com]}\nwindows:\n  - *a\n")
    assert errors and all("Traceback" not in e for e in errors)


def test_a_long_string_is_an_error_not_a_crash(errors_of: Callable[[str], list[str]]) -> None:
    """A text over 100,000 characters where the schema sets no max_length raised KeyError."""
    errors = errors_of("windows:\n  - " + WINDOW[:-1] + ', repeat: "FREQ=DAILY;' + "BYHOUR=1," * 12_000 + '"}\n')
    assert errors == ["cfg.yaml:2: windows[0].repeat: longer than 100,000 characters"]


@pytest.mark.parametrize("start,end", [("9999-12-30", "9999-12-31"), ("0001-01-01T00:00:00+05:00", "0001-01-01T01:00:00+05:00")])
def test_dates_at_the_ends_of_the_calendar_are_errors_not_crashes(start: str, end: str,
                                                                  errors_of: Callable[[str], list[str]]) -> None:
    errors = errors_of(f'windows:\n  - {{id: w, system: s, start: "{start}", end: "{end}"}}\n')
    assert errors and all("are supported" in e for e in errors), errors


def test_many_windows_are_not_an_alias_bomb(write: Callable[..., Path]) -> None:
    """41,000 windows used to be refused as 'too deeply nested or too many aliases'."""
    lines = ["windows:"] + [f'  - {{id: w{i}, system: s, start: "2027-01-01T00:00:00Z", end: '
                            f'"2027-01-01T01:00:00Z"}}' for i in range(41_000)]
    assert len(load(str(write("\n".join(lines) + "\n"))).windows) == 41_000


def test_a_nul_is_reported_on_its_line(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(b'windows:\n  - id: w\n    system: s\n    start: "2027-01-01T00:00:00Z"\n'
                     b'    end: "2027-01-01T01:00:00Z"\n    title: "a\x00b"\n')
    with pytest.raises(ConfigError) as caught:
        load(str(path))
    assert [p.loc.line for p in caught.value.problems] == [6]


def test_a_huge_repeat_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    for rule in ("FREQ=MINUTELY;COUNT=100000000", "FREQ=MINUTELY;UNTIL=20300101T000000Z"):
        path.write_text(f'windows:\n  - {WINDOW[:-1]}, end: "2027-01-01T00:00:30Z", repeat: "{rule}"}}\n'
                        .replace('end: "2027-01-01T01:00:00Z", ', ""))
        t0 = time.monotonic()
        done = check(path)
        assert time.monotonic() - t0 < 10 and done.returncode == 1, done
        assert "occurrences" in done.stderr and "Traceback" not in done.stderr

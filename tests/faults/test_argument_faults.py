"""Issue 22, point 5: bad arguments to every command are one line on stderr and a non-zero exit,
never a traceback (`send-test --to` with a malformed address, `--ledger 'postgresql://[::1'`, …),
and a PostgreSQL ledger whose schema version is not a number is refused in one line."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

CONFIG = """timezone: UTC
windows:
  - {id: w, system: s, start: "2027-01-01T00:00:00Z", end: "2027-01-01T01:00:00Z"}
"""
PASSWORD = "pw-4711"  # noqa: S105 - a fake credential
BAD_URL = f"postgresql://outage:{PASSWORD}@[::1"

# (command line with C for the config and S for a state folder, what stderr must say)
CASES = {
    "check-missing-config": (["check", "-c", "MISSING"], "cannot read"),
    "check-folder": (["check", "-c", "S"], ""),
    "check-bad-now": (["check", "-c", "C", "--now", "yesterday-ish"], ""),
    "preview-bad-until": (["preview", "-c", "C", "--until", "forever"], ""),
    "preview-bad-now": (["preview", "-c", "C", "--now", "2026-13-45"], ""),
    "render-output-is-a-file": (["render", "-c", "C", "--state-dir", "S", "-o", "C"], ""),
    "render-bad-ledger": (["render", "-c", "C", "--ledger", BAD_URL], "not a URL"),
    "schema-extra": (["schema", "extra"], "unrecognized arguments"),
    "import-notice-missing-file": (["import-notice", "MISSING"], ""),
    "run-bad-listen": (["run", "-c", "C", "--state-dir", "S", "--listen", "nowhere"], "--listen"),
    "run-bad-ledger": (["run", "-c", "C", "--state-dir", "S", "--ledger", BAD_URL], "not a URL"),
    "run-once-bad-ledger": (["run", "--once", "-c", "C", "--state-dir", "S", "--ledger", BAD_URL], "not a URL"),
    "send-test-empty-to": (["send-test", "-c", "C", "--state-dir", "S", "--to", ""], "--to"),
    "send-test-angle-brackets": (["send-test", "-c", "C", "--state-dir", "S", "--to", "<>"], "--to"),
    "send-test-crlf": (["send-test", "-c", "C", "--state-dir", "S", "--to", "a@b.c\r\nBcc: x@y.z"], "--to"),
    "send-test-unknown-webhook": (["send-test", "-c", "C", "--state-dir", "S", "--webhook", "nope"], "no webhook"),
    "send-test-unknown-window": (["send-test", "-c", "C", "--state-dir", "S", "--to", "a@b.c", "--window", "x"],
                                 "no window"),
    "announce-unknown-window": (["announce", "-c", "C", "--state-dir", "S", "nope"], ""),
    "announce-bad-ledger": (["announce", "-c", "C", "--ledger", BAD_URL, "w"], "not a URL"),
    "history-bad-ledger": (["history", "-c", "C", "--ledger", BAD_URL], "not a URL"),
    "history-no-ledger": (["history", "-c", "C", "--state-dir", "S/none"], ""),
    "ledger-copy-bad-urls": (["ledger", "copy", BAD_URL, "sqlite:///x"], "not a URL"),
    "ledger-copy-unknown-scheme": (["ledger", "copy", "mysql://a@b/c", "sqlite:///x"], "unknown scheme"),
    "no-command": ([], ""),
    "unknown-command": (["frobnicate"], "invalid choice"),
}


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "c.yaml").write_text(CONFIG)
    (tmp_path / "state").mkdir()
    yield tmp_path


@pytest.mark.parametrize("case", list(CASES))
def test_bad_arguments_are_one_line_and_a_failure(case: str, folder: Path) -> None:
    argv, said = CASES[case]
    names = {"C": str(folder / "c.yaml"), "S": str(folder / "state"), "S/none": str(folder / "none"),
             "MISSING": str(folder / "missing.yaml")}
    done = subprocess.run([sys.executable, "-m", "outage_daemon", *(names.get(a, a) for a in argv)],
                          capture_output=True, text=True, timeout=60, check=False, cwd=folder)
    assert done.returncode in (1, 2), done
    assert "Traceback" not in done.stderr and done.stderr.strip(), done.stderr
    assert said in done.stderr, done.stderr
    assert PASSWORD not in done.stderr + done.stdout
    if done.returncode == 1:  # argparse's own usage errors (2) print the usage line first
        assert len(done.stderr.strip().splitlines()) <= 3, done.stderr  # a config error: line, caret, count


def test_a_postgres_ledger_whose_version_is_not_a_number_is_one_line(tmp_path: Path, pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE outage_daemon_schema (version text NOT NULL)")
        conn.execute("INSERT INTO outage_daemon_schema VALUES ('two')")
    (tmp_path / "c.yaml").write_text(CONFIG)
    done = subprocess.run([sys.executable, "-m", "outage_daemon", "run", "--once", "-c", str(tmp_path / "c.yaml"),
                           "--ledger", pg_url], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "schema version that is not a number" in done.stderr and len(done.stderr.strip().splitlines()) == 1

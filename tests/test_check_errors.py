"""Error messages for the mistakes people make, table-driven: each names the line and column of the
mistake, says what is wrong (with the values where they help) and hints at the fix."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from outage_daemon.core.errors import ConfigError, Problem
from outage_daemon.loader import load

OK_WINDOW = "  - id: w1\n    system: db\n    start: 2026-05-01 10:00\n    end: 2026-05-01 11:00\n"
TOP = "timezone: Asia/Shanghai\naudiences:\n  ops: {email: [ops@example.com]}\nwindows:\n"
# TOP is 4 lines; OK_WINDOW lines 5-8; a case's own lines follow from line 9.

CASES = [
    # (id, text, line, column, in the message, in the hint)
    ("unquoted-colon", TOP + OK_WINDOW + "    title: Upgrade: phase 1\n", 9, 19, "not quoted",
     'title: "Upgrade: phase 1"'),
    ("tab-indent", TOP + OK_WINDOW + "\ttitle: x\n", 9, 1, "tab", "spaces"),
    ("over-indented", TOP + OK_WINDOW + "      title: x\n", 9, 12, "indented more", "same column"),
    ("under-indented", TOP + OK_WINDOW + "   title: x\n", 9, 4, "does not line up", "line 5, column 3"),
    ("full-width-colon-key", TOP + OK_WINDOW + "    title： x\n    status: confirmed\n", 9, 10,
     "full-width colon", "ASCII colon"),
    ("full-width-colon-top", "timezone： Asia/Shanghai\nlanguage: en\n", 1, 9, "full-width colon", "ASCII colon"),
    ("no-space-after-colon", TOP + "  - id:w1\n    system: db\n", 5, 7, "without a space", "key: value"),
    ("unclosed-quote", TOP + OK_WINDOW + '    title: "Upgrade\n    status: confirmed\n', 9, 12, "never closed",
     "quote mark"),
    ("unclosed-bracket", TOP + OK_WINDOW + "    services: [a, b\n", 10, 1, "'[' at line 9, column 15", "close it"),
    ("at-sign-value", TOP + OK_WINDOW + "    contacts: @ops\n", 9, 15, "cannot start with '@'", '"@ops"'),
    ("unknown-key-typo", TOP + OK_WINDOW + "    titel: x\n", 9, 5, "did you mean title?", "keys allowed here"),
    ("key-glued-to-value", TOP + OK_WINDOW + "    title:x\n", 9, 10, "without a space", "key: value"),
    ("duplicate-key", TOP + OK_WINDOW + "    start: 2026-05-02 10:00\n", 9, 5, "duplicate key (first at line 7)",
     "keep only one"),
    ("missing-end", TOP + "  - id: w1\n    system: db\n    start: 2026-05-01 10:00\n", 5, 5, "missing (required)",
     "add `end:`"),
    ("list-expected", TOP + OK_WINDOW + "    services: 发票开具\n", 9, 15, "expected a list", "[发票开具]"),
    ("unknown-zone", "timezone: Asia/Shangai\n", 1, 11, "unknown time zone 'Asia/Shangai'", "Asia/Shanghai"),
    ("enum-typo", TOP + OK_WINDOW + "    status: confirmd\n", 9, 13, "is not one of", "did you mean confirmed?"),
    ("yes-not-bool", TOP + OK_WINDOW + "    notify: {at_stop: yes}\n", 9, 23, "expected true or false", "yes/no"),
    ("bad-duration", TOP + OK_WINDOW + "    notify: {before_stop: [1d, 2hours]}\n", 9, 32, "bad duration '2hours'",
     "1h30m"),
    ("bad-id", TOP + "  - id: vat 2026\n    system: db\n    start: 2026-05-01 10:00\n    end: 2026-05-01 11:00\n",
     5, 9, "an id is letters, digits", "without spaces"),
    ("end-before-start", TOP + "  - id: w1\n    system: db\n    start: 2026-12-06 04:00\n    end: 2026-12-06 02:00\n",
     8, 10, "end 2026-12-06 02:00 is before start 2026-12-06 04:00", "swap them"),
    ("date-and-time", TOP + "  - id: w1\n    system: db\n    start: 2026-05-01\n    end: 2026-05-01 10:00\n",
     8, 10, "both be dates", "start is 2026-05-01, end is 2026-05-01 10:00"),
    ("bad-month", TOP + "  - id: w1\n    system: db\n    start: 2026-13-01 10:00\n    end: 2026-05-01 11:00\n",
     7, 12, "month must be in 1..12", "2026-05-01 22:00"),
    ("dst-gap", "timezone: America/New_York\nwindows:\n  - id: w1\n    system: db\n    start: 2026-03-08 02:30\n"
     "    end: 2026-03-08 04:00\n", 5, 12, "does not exist", "DST starts"),
    ("unknown-audience", TOP + OK_WINDOW + "    audiences: [ops, finance]\n", 9, 22, "unknown audience 'finance'",
     "define it under audiences"),
    ("bad-address", "audiences:\n  ops: {email: [ops.example.com]}\n", 2, 17, "is not an email address",
     "a@example.com"),
    ("bad-port", "email:\n  smtp: {host: mail, port: 587a}\n", 2, 28, "expected a whole number", "digits"),
    ("two-passwords", "email:\n  smtp: {host: mail, password_env: A, password_file: /x}\n", 2, 9, "set only one of",
     "remove all but one of password_file, password_env"),
    ("bad-rrule", TOP + OK_WINDOW + "    repeat: FREQ=FORTNIGHTLY\n", 9, 13, "bad repeat rule", "FREQ=WEEKLY"),
    ("except-without-repeat", TOP + OK_WINDOW + "    except: [2026-05-08]\n", 9, 13, "only applies", "repeat:"),
    ("python-tag", TOP + OK_WINDOW + "    title: !!python/object:os.system x\n", 9, 12, "YAML tags", "plain text"),
    ("zero-offset", TOP + OK_WINDOW + "    notify: {before_stop: [0m]}\n", 9, 28, "longer than 0", "at_stop: true"),
    ("undefined-alias", TOP + OK_WINDOW + "    audiences: *everyone\n", 9, 16, "anchor", "'&name'"),
    ("bad-env-name", "webhooks:\n  ops: {kind: wecom, url_env: 1URL}\n", 2, 31, "environment variable name",
     "WECOM_OPS_URL"),
    ("unknown-webhook-kind", "webhooks:\n  ops: {kind: wechat, url_env: URL}\n", 2, 15, "is not one of", "wecom"),
    ("lease-shorter-than-a-send", "email:\n  smtp: {host: mail}\nledger: {lease: 5s}\n", 3, 17,
     "a lease of 5s cannot outlive one send: email.smtp.timeout is 30s", "lease: 60s or more"),
    ("lease-shorter-than-a-webhook", "webhooks:\n  ops: {kind: wecom, url_env: URL, timeout: 20s}\n"
     "ledger:\n  lease: 30s\n", 4, 10, "webhooks.ops.timeout is 20s", "lease: 40s or more"),
]

LEASES = [
    # (id, text, the lease in effect)
    ("no-channel", "windows: []\n", timedelta(seconds=15)),
    ("default-smtp-timeout", "email:\n  smtp: {host: mail}\n", timedelta(seconds=60)),
    ("short-timeouts", "email:\n  smtp: {host: mail, timeout: 5s}\nwebhooks: {ops: {kind: wecom, url_env: U}}\n",
     timedelta(seconds=20)),
    ("written", "email:\n  smtp: {host: mail, timeout: 5s}\nledger: {lease: 10s}\n", timedelta(seconds=10)),
]


@pytest.mark.parametrize(("text", "lease"), [pytest.param(*case[1:], id=case[0]) for case in LEASES])
def test_a_lease_not_written_outlives_every_send(write: Callable[..., Path], text: str, lease: timedelta) -> None:
    """Issue 21: the default lease is 15s, or twice the longest send timeout when that is longer."""
    assert load(str(write(text))).ledger.lease == lease


@pytest.mark.parametrize(("text", "line", "column", "message", "hint"),
                         [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_mistake_is_pointed_at(write: Callable[..., Path], text: str, line: int, column: int, message: str,
                               hint: str) -> None:
    path = write(text)
    with pytest.raises(ConfigError) as info:
        load(str(path))
    problems: list[Problem] = info.value.problems
    found = [p for p in problems if message in p.message]
    assert found, [f"{p} | {p.hint}" for p in problems]
    problem = found[0]
    assert (problem.loc.line, problem.loc.column) == (line, column), str(problem)
    assert problem.hint is not None and hint in problem.hint, problem.hint


def test_at_least_25_mistakes() -> None:
    assert len(CASES) >= 25


def test_check_prints_source_line_caret_and_hint(write: Callable[..., Path]) -> None:
    path = write("windows:\n  - id: a\n    system： 发票系统\n    start: 2026-05-01 10:00\n")
    result = subprocess.run([sys.executable, "-m", "outage_daemon", "check", "-c", str(path)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert result.stderr.splitlines()[:4] == [
        f"{path}:3:11: (yaml): a full-width colon '：' after a key",
        " 3 |     system： 发票系统",
        "   |           ^",
        "  hint: type the ASCII colon ':' and a space (switch the input method to half-width)",
    ]
    assert result.stderr.splitlines()[-1] == f"{path}: 1 error"


WARNED = [
    # (id, text, line, column, in the message, in the hint)
    ("no-timezone", "audiences: {ops: {email: [ops@example.com]}}\nwindows:\n" + OK_WINDOW, 1, 1,
     "no timezone: every time written without an offset is UTC", "timezone: Asia/Shanghai"),
    ("year-typo", TOP + "  - id: w1\n    system: db\n    start: 2026-05-01 10:00\n    end: 2027-05-01 11:00\n", 5, 5,
     "lasts 365 days 1 h, longer than check.longest_window (30d)", "year and month"),
    ("no-audience-defined", "timezone: UTC\nwindows:\n" + OK_WINDOW, 3, 5, "notifies nobody: it has no audience",
     "audiences: [NAME]"),
    ("empty-audience", TOP.replace("{email: [ops@example.com]}", "{email: []}") + OK_WINDOW, 5, 5,
     "notifies nobody: its audiences (ops) are empty", "notify: false"),
    ("dotless-domain", TOP.replace("ops@example.com", "ops@example") + OK_WINDOW, 3, 17,
     "'ops@example' has no dot in its domain", "a@example.com"),
    ("no-base-url", TOP + OK_WINDOW, 1, 1, "no calendar.base_url: emails and chat messages go out without a link",
     "base_url: https://"),
    ("calendar-without-base-url", "calendar: {name: x}\n" + TOP + OK_WINDOW, 1, 11, "no calendar.base_url",
     "under calendar:"),
]


@pytest.mark.parametrize(("text", "line", "column", "message", "hint"),
                         [pytest.param(*case[1:], id=case[0]) for case in WARNED])
def test_likely_mistake_is_warned(config_of: Callable[[str], object], text: str, line: int, column: int,
                                  message: str, hint: str) -> None:
    from datetime import datetime, timezone

    from outage_daemon.core.checks import warnings

    found = [p for p in warnings(config_of(text), datetime(2026, 1, 1, tzinfo=timezone.utc))  # type: ignore[arg-type]
             if message in p.message]
    assert found, [str(p) for p in warnings(config_of(text), datetime(2026, 1, 1, tzinfo=timezone.utc))]  # type: ignore[arg-type]
    assert (found[0].loc.line, found[0].loc.column) == (line, column) and hint in (found[0].hint or "")


def test_longest_window_is_configurable(config_of: Callable[[str], object]) -> None:
    from datetime import datetime, timezone

    from outage_daemon.core.checks import warnings

    text = (TOP.replace("timezone:", "check: {longest_window: 400d}\ncalendar: {base_url: https://s.example.com}\n"
                        "timezone:") +
            "  - id: w1\n    system: db\n    start: 2026-05-01 10:00\n    end: 2027-05-01 11:00\n")
    assert not [p for p in warnings(config_of(text), datetime(2026, 1, 1, tzinfo=timezone.utc))]  # type: ignore[arg-type]
    assert "lasts 365 days" in str(warnings(config_of(text.replace("400d", "1w")),  # type: ignore[arg-type]
                                            datetime(2026, 1, 1, tzinfo=timezone.utc)))


def test_check_shows_warnings_with_excerpt_and_counts_in_words(write: Callable[..., Path]) -> None:
    path = write("windows:\n" + OK_WINDOW + "audiences: {ops: {email: [a@example.com]}}\n"
                 "calendar: {base_url: https://status.example.com}\n")
    result = subprocess.run([sys.executable, "-m", "outage_daemon", "check", "-c", str(path), "--now",
                             "2026-01-01T00:00:00Z"], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[:4] == [
        f"{path}:1:1: timezone: warning: no timezone: every time written without an offset is UTC",
        " 1 | windows:",
        "   | ^",
        "  hint: add `timezone: Asia/Shanghai` (the zone your users live in) at the top, or `timezone: UTC`",
    ]
    assert result.stdout.strip() == f"{path}: OK — 1 window (0 repeating), 1 audience, 1 warning"

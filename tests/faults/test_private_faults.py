"""Issue 22, point 2: a window only private audiences see never reaches a feed without a token, the
page, /healthz or the folder a static server publishes; `check` refuses a token-less feed that
would hold one."""

from __future__ import annotations

import dataclasses
import json
import stat
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from daemonproc import Daemon

from outage_daemon.core.model import Config
from outage_daemon.core.timerules import UTC
from outage_daemon.formats.ical import published

START = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)


def config_text(feed: str) -> str:
    return f"""
timezone: UTC
audiences:
  board: {{public: false}}
  staff: {{}}
calendar:
  feeds: [{feed}]
windows:
  - {{id: secret, system: db, title: merger, audiences: [board],
     start: "{START:%Y-%m-%dT%H:%M:%S}Z", end: "{START + timedelta(hours=1):%Y-%m-%dT%H:%M:%S}Z"}}
  - {{id: open, system: db, title: disks, audiences: [board, staff],
     start: "{START:%Y-%m-%dT%H:%M:%S}Z", end: "{START + timedelta(hours=1):%Y-%m-%dT%H:%M:%S}Z"}}
"""


@pytest.mark.parametrize("feed", [
    pytest.param("{name: dbs, systems: [db]}", id="systems-filter"),
    pytest.param("{name: board, audiences: [board]}", id="private-audience"),
    pytest.param("{name: all}", id="no-filter"),
])
def test_a_token_less_feed_that_would_hold_a_private_window_is_an_error(
        feed: str, errors_of: Callable[[str], list[str]]) -> None:
    errors = errors_of(config_text(feed))
    assert len(errors) == 1 and "has no token but selects windows only private audiences see (secret)" in errors[0], errors
    assert errors[0].startswith("cfg.yaml:6: calendar.feeds[0]: "), errors


@pytest.mark.parametrize("feed", ["{name: dbs, systems: [db]}", "{name: board, audiences: [board]}"])
def test_a_feed_without_a_token_never_shows_a_private_window(feed: str, config_of: Callable[[str], Config]) -> None:
    """Whatever the checks let through, the publisher filters too: the same config with the token
    taken away renders no private window in that feed."""
    config = config_of(config_text(feed[:-1] + ", token_env: HOME}"))
    with_token = config.calendar.feeds[0]
    assert [w.id for w in published(config, START, with_token)] == ["secret", "open"]
    open_feed = dataclasses.replace(with_token, token_env=None)
    assert [w.id for w in published(config, START, open_feed)] == ["open"]
    assert [w.id for w in published(config, START)] == ["open"]


def test_token_feeds_stay_out_of_the_feeds_folder_and_healthz_counts_public_windows(tmp_path: Path) -> None:
    """`--feeds-dir` is what the README's nginx recipe serves to anyone: the token feed is served by
    the daemon only (a file left by an older version is removed); /healthz counts what the public sees."""
    path = tmp_path / "c.yaml"
    path.write_text(config_text("{name: board, audiences: [board], token_env: HOME}"))
    folder = tmp_path / "feeds"
    folder.mkdir()
    (folder / "board.ics").write_text("BEGIN:VCALENDAR\nSUMMARY:merger\n")  # written by an older version
    daemon = Daemon(path, tmp_path / "state", watchdog_usec=None, feeds=folder)
    try:
        assert daemon.read_notify("READY=1"), daemon.output()
        assert daemon.get("/calendar.ics")[0] == 200
        assert daemon.get("/feeds/board.ics")[0] == 403
        status, _, body = daemon.get("/healthz")
        assert status == 200 and json.loads(body)["windows"] == 1
        assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == ["calendar.ics"]
        assert b"merger" not in (folder / "calendar.ics").read_bytes()
    finally:
        assert daemon.stop() == 0


def test_render_writes_a_token_feed_for_its_owner_only(tmp_path: Path) -> None:
    """`render -o DIR` is the static-publishing recipe too: a feed with a token is written 0600 (a
    web server's user cannot read it), every other feed 0644, also over a file an older version left."""
    path = tmp_path / "c.yaml"
    path.write_text(config_text("{name: board, audiences: [board], token_env: HOME}"))
    out = tmp_path / "out"
    out.mkdir()
    (out / "board.ics").write_text("old")
    (out / "board.ics").chmod(0o644)
    done = subprocess.run([sys.executable, "-m", "outage_daemon", "render", "-c", str(path), "-o", str(out),
                           "--state-dir", str(tmp_path / "state")], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done
    assert stat.S_IMODE((out / "board.ics").stat().st_mode) == 0o600
    assert stat.S_IMODE((out / "calendar.ics").stat().st_mode) == 0o644

"""Issue 22, point 1: a refused reload is refused whole: nothing of the new config is served,
counted or recorded, and a failure after the swap swaps the old config back."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from daemonproc import Daemon
from smtpsink import wait_for

from outage_daemon.core.timerules import UTC
from outage_daemon.daemon import Daemon as InProcess
from outage_daemon.loader import load

START = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)


def config_text(count: int, extra_feed: bool = False) -> str:
    feed = "calendar: {feeds: [{name: extra}]}\n" if extra_feed else ""
    rows = "".join(f'  - {{id: w{i}, system: s, title: t, audiences: [team], start: "{START:%Y-%m-%dT%H:%M:%S}Z", '
                   f'end: "{START + timedelta(hours=1):%Y-%m-%dT%H:%M:%S}Z"}}\n' for i in range(count))
    return f"timezone: UTC\naudiences: {{team: {{email: [a@example.com]}}}}\n{feed}windows:\n{rows}"


def notices(state: Path) -> int:
    with sqlite3.connect(state / "ledger.sqlite3") as db:
        return int(db.execute("SELECT count(*) FROM decisions WHERE kind = 'announced'").fetchone()[0])


def test_a_reload_whose_feeds_cannot_be_written_changes_nothing(tmp_path: Path) -> None:
    """5 → 400 windows with a feed file that cannot be replaced: the refusal said "still running on
    the previous config" while /api/windows and the metrics showed 400 and the announcements went out."""
    path, feeds, state = tmp_path / "c.yaml", tmp_path / "feeds", tmp_path / "state"
    path.write_text(config_text(5))
    daemon = Daemon(path, state, watchdog_usec=None, feeds=feeds)
    try:
        assert daemon.read_notify("READY=1"), daemon.output()
        assert wait_for(lambda: (feeds / "calendar.ics").exists(), 10)
        (feeds / "extra.ics").mkdir()  # the new config's feed cannot be written: as a full disk would refuse it
        (feeds / "extra.ics" / "keep").write_text("x")
        before = (feeds / "calendar.ics").read_bytes()
        path.write_text(config_text(400, extra_feed=True))
        daemon.signal(signal.SIGHUP)
        assert wait_for(lambda: "still running on the previous config" in daemon.output(), 30), daemon.output()
        assert len(json.loads(daemon.get("/api/windows")[2])["windows"]) == 5
        assert "outage_windows 5.0" in daemon.get("/metrics")[2].decode()
        assert daemon.get("/feeds/extra.ics")[0] == 404
        assert (feeds / "calendar.ics").read_bytes() == before
        assert not [p for p in feeds.iterdir() if p.name.endswith(".tmp")]
        assert daemon.get("/healthz")[0] == 503
        assert notices(state) == 0  # nothing recorded for the refused config
        (feeds / "extra.ics" / "keep").unlink()
        (feeds / "extra.ics").rmdir()
        daemon.signal(signal.SIGHUP)
        assert wait_for(lambda: "reloaded " in daemon.output(), 30), daemon.output()
        assert len(json.loads(daemon.get("/api/windows")[2])["windows"]) == 400
        assert notices(state) == 395
    finally:
        assert daemon.stop() == 0


def test_a_failure_after_the_swap_swaps_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever fails after the new config was swapped in (here: the ledger, after the feeds were
    renamed into place) leaves the old config current, its channels open, its feed files back, and
    nothing recorded."""
    path, state = tmp_path / "c.yaml", tmp_path / "state"
    path.write_text(config_text(2))
    old = load(str(path))
    path.write_text(config_text(3))
    new = load(str(path))

    async def scenario() -> None:
        daemon = InProcess(old, str(state), lambda: datetime.now(UTC), str(tmp_path / "feeds"), ("127.0.0.1", 0))
        await daemon.adopt(old)
        await daemon.republish(daemon.tokens(old))
        channels = daemon.notifier.channels

        before = (tmp_path / "feeds" / "calendar.ics").read_bytes()
        real = daemon.notifier.ledger.save_schedules

        def broken(schedules: object) -> None:
            real(schedules)  # type: ignore[arg-type]
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(daemon.notifier.ledger, "save_schedules", broken)
        with pytest.raises(OSError, match="No space"):
            await daemon.apply(new, daemon.notifier.build(new))
        assert (tmp_path / "feeds" / "calendar.ics").read_bytes() == before
        assert daemon.notifier.config is old and daemon.state.config is old
        assert daemon.notifier.channels is channels
        assert {r.window.id for r in daemon.upcoming} <= {"w0", "w1"}
        assert b"w2@" not in daemon.state.feeds["calendar.ics"].data
        await daemon.notifier.close()

    asyncio.run(scenario())
    assert notices(state) == 0


def test_a_reload_naming_an_unreadable_alertmanager_token_is_refused_whole(tmp_path: Path) -> None:
    """Every secret the new config names is read before it is adopted (the Alertmanager's token was
    read only at each silence pass: the reload was taken, then every pass failed)."""
    path, state = tmp_path / "c.yaml", tmp_path / "state"
    path.write_text(config_text(5))
    daemon = Daemon(path, state, watchdog_usec=None)
    try:
        assert daemon.read_notify("READY=1"), daemon.output()
        path.write_text(config_text(6) + "monitoring:\n  alertmanager:\n    - {url: 'http://127.0.0.1:9/', "
                        f"token_file: {tmp_path}/missing-token, systems: {{s: ['job=\"s\"']}}}}\n")
        daemon.signal(signal.SIGHUP)
        assert wait_for(lambda: "still running on the previous config" in daemon.output(), 30), daemon.output()
        assert "missing-token" in daemon.output()
        assert len(json.loads(daemon.get("/api/windows")[2])["windows"]) == 5
        assert notices(state) == 0
    finally:
        assert daemon.stop() == 0

"""Fault 4: a pass that fails (no descriptors left) must never turn into a "too late" skip once
passes work again, and /healthz says so while they fail. The real Daemon, in-process, with an
injected clock and a ledger call that fails."""

from __future__ import annotations

import asyncio
import errno
import mailbox
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from smtpsink import free_port

from outage_daemon.core.model import Config
from outage_daemon.core.timerules import UTC
from outage_daemon.daemon import Daemon


def test_a_failed_pass_is_retried_and_never_becomes_a_skip(tmp_path: Path,
                                                           config_of: Callable[[str], Config]) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0)
    start = t0 + timedelta(hours=1)
    config = config_of(f"""
        timezone: UTC
        notify: {{before_stop: [1h], at_stop: false, before_restore: [], at_restore: false, late_limit: 1m}}
        audiences: {{team: {{email: [a@example.com]}}}}
        windows:
          - {{id: w, system: s, start: "{start:%Y-%m-%dT%H:%M:%S}Z", end: "{start + timedelta(hours=1):%Y-%m-%dT%H:%M:%S}Z"}}
        """)
    now = [t0 - timedelta(seconds=5)]

    async def go() -> tuple[int, list[Any], int, int]:
        daemon = Daemon(config, str(tmp_path / "state"), lambda: now[0], None, ("127.0.0.1", free_port()))
        await daemon.notifier.recover()
        await daemon.adopt(config)
        real = daemon.notifier.record

        async def broken(*args: Any, **kwargs: Any) -> Any:
            raise OSError(errno.EMFILE, "Too many open files")

        daemon.notifier.record = broken  # type: ignore[method-assign]
        now[0] = t0 + timedelta(seconds=1)  # the reminder is due: the pass fails
        await daemon.tick()
        failing = 1 if daemon.state.pass_error and "Too many open files" in daemon.state.pass_error else 0
        daemon.notifier.record = real  # type: ignore[method-assign]
        now[0] = t0 + timedelta(minutes=5)  # passes work again, 5 min later: past late_limit (1 min)
        await daemon.watch()
        await asyncio.gather(*daemon.tasks)
        rows = await daemon.notifier.db(daemon.notifier.ledger.deliveries)
        skipped = await daemon.notifier.db(daemon.notifier.ledger.decided, [r.key for r in daemon.upcoming])
        recovered = 0 if daemon.state.pass_error else 1
        await daemon.notifier.close()
        return failing, rows, len(skipped), recovered

    failing, rows, decided, recovered = asyncio.run(go())
    assert failing == 1 and recovered == 1
    assert [(d.recipient, d.state) for d in rows] == [("a@example.com", "sent")], rows
    assert decided == 1
    assert len(list(mailbox.Maildir(str(tmp_path / "state" / "outbox")))) == 1

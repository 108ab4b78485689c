"""The notifier keeps the event loop free: every ledger call runs on the ledger's own thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from outage_daemon.core.model import Config
from outage_daemon.core.timerules import UTC
from outage_daemon.ledger import default_url, open_ledger
from outage_daemon.pipeline import Notifier


class Watched:
    """A ledger that notes the thread of every call."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.threads = inner, set[str]()
        self.url, self.shared = inner.url, inner.shared

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self.threads.add(threading.current_thread().name)
            return method(*args, **kwargs)

        return call


def test_a_pass_makes_no_ledger_call_on_the_event_loop(config_of: Callable[[str], Config], tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    config = config_of(f"""
timezone: UTC
notify: {{before_stop: [1h], at_stop: false, before_restore: [], at_restore: false}}
audiences: {{team: {{email: [a@example.com, b@example.com]}}}}
windows:
  - {{id: soon, system: Ledger, start: '{now + timedelta(minutes=50):%Y-%m-%dT%H:%M:%SZ}',
     end: '{now + timedelta(hours=2):%Y-%m-%dT%H:%M:%SZ}'}}
""")
    ledger = Watched(open_ledger(default_url(str(tmp_path))))

    async def go() -> tuple[int, str]:
        notifier = Notifier(config, ledger, str(tmp_path), lambda: datetime.now(UTC))  # type: ignore[arg-type]
        try:
            tally = await notifier.run_once(timedelta(seconds=5))
        finally:
            await notifier.close()
        return tally.sent, threading.current_thread().name

    sent, loop_thread = asyncio.run(go())
    assert sent == 2 and len(list((tmp_path / "outbox" / "new").iterdir())) == 2
    assert ledger.threads and loop_thread not in ledger.threads
    assert all(name.startswith("ledger") for name in ledger.threads), ledger.threads

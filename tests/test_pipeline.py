"""The notifier keeps the event loop free: every ledger call runs on the ledger's own thread, and
a replaced config is freed off it."""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

from outage_daemon.core.model import Config
from outage_daemon.core.timerules import UTC
from outage_daemon.daemon import bury
from outage_daemon.ledger import LedgerError, default_url, open_ledger
from outage_daemon.loader import free_gradually
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


def soon(config_of: Callable[[str], Config], now: datetime, people: list[str], extra: str = "") -> Config:
    """Given the present and the recipients, return a config whose window "soon" starts 50 minutes on,
    with one email reminder an hour before its start (due 10 minutes ago); ``extra`` adds top-level keys."""
    return config_of(f"""
timezone: UTC
{extra}
notify: {{before_stop: [1h], at_stop: false, before_restore: [], at_restore: false}}
audiences: {{team: {{email: [{', '.join(people)}]}}}}
windows:
  - {{id: soon, system: Ledger, start: '{now + timedelta(minutes=50):%Y-%m-%dT%H:%M:%SZ}',
     end: '{now + timedelta(hours=2):%Y-%m-%dT%H:%M:%SZ}'}}
""")


def test_a_pass_makes_no_ledger_call_on_the_event_loop(config_of: Callable[[str], Config], tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    config = soon(config_of, now, ["a@example.com", "b@example.com"])
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


class Held(Watched):
    """A ledger whose writes of outcomes wait until ``go`` is set (a slow or unreachable database)."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.writing, self.go = threading.Event(), threading.Event()

    def mark(self, attempts: Any) -> list[bool]:
        self.writing.set()
        assert self.go.wait(10)
        return list(self.inner.mark(attempts))


def test_outcomes_waiting_for_the_ledger_are_recorded_after_a_halt(config_of: Callable[[str], Config],
                                                                   tmp_path: Path) -> None:
    """SIGTERM cancels the batches still waiting for their outcomes to be written: the outcomes are
    written all the same (the messages went out), and the writer does not fail on the cancelled waits."""
    now = datetime.now(UTC).replace(microsecond=0)
    config = soon(config_of, now, ["a@example.com", "b@example.com", "c@example.com"])
    ledger = Held(open_ledger(default_url(str(tmp_path))))

    async def go() -> list[str]:
        notifier = Notifier(config, ledger, str(tmp_path), lambda: datetime.now(UTC))
        try:
            await notifier.recover()
            tally = await notifier.reload(config, candidates=await notifier.plan(timedelta(microseconds=1)))
            sending = asyncio.ensure_future(notifier.deliver(tally))
            assert await asyncio.to_thread(ledger.writing.wait, 10)
            for _ in range(1000):  # all three sent: the first outcome being written, two waiting
                if len(notifier.marks) == 2:
                    break
                await asyncio.sleep(0.01)
            assert await notifier.halt(0) == 1  # the batch waited for its outcomes: cancelled
            ledger.go.set()
            assert notifier.writer is not None
            await notifier.writer  # raised InvalidStateError when it set a cancelled wait's result
            await asyncio.gather(sending, return_exceptions=True)
            return sorted(d.state for d in await notifier.db(ledger.inner.history, "soon"))
        finally:
            ledger.go.set()
            await notifier.close()

    assert asyncio.run(go()) == ["sent"] * 3
    assert len(list((tmp_path / "outbox" / "new").iterdir())) == 3


class Claims(Watched):
    """A ledger that notes, at every claim of email, how many sends were in flight (``flying``)."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.flying, self.at_claims = [0], list[int]()

    def claim(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("channel") == "email":
            self.at_claims.append(self.flying[0])
        return self.inner.claim(*args, **kwargs)


def test_the_next_batch_is_claimed_while_the_last_sends_of_the_one_before_are_in_flight(
        config_of: Callable[[str], Config], tmp_path: Path) -> None:
    """The connections never wait for a claim; still, no more sends at once than the channel's
    concurrency, and in the order claimed."""
    now = datetime.now(UTC).replace(microsecond=0)
    people = [f"r{i:02}@example.com" for i in range(10)]
    config = soon(config_of, now, list(reversed(people)), "ledger: {batch: 4}")
    ledger = Claims(open_ledger(default_url(str(tmp_path))))
    most, order = [0], list[str]()

    async def go() -> int:
        notifier = Notifier(config, ledger, str(tmp_path), lambda: datetime.now(UTC))
        channel = notifier.channels["email"]
        channel.concurrency, real = 2, channel.send

        async def send(recipient: str, payload: bytes) -> Any:
            ledger.flying[0] += 1
            most[0], _ = max(most[0], ledger.flying[0]), order.append(recipient)
            try:
                await asyncio.sleep(0.02)
                return await real(recipient, payload)
            finally:
                ledger.flying[0] -= 1

        channel.send = send  # type: ignore[method-assign]
        try:
            return (await notifier.run_once(timedelta(seconds=5))).sent
        finally:
            await notifier.close()

    assert asyncio.run(go()) == 10
    assert (most[0], order) == (2, people)
    assert len(ledger.at_claims) == 4 and ledger.at_claims[0] == 0, ledger.at_claims  # 4 + 4 + 2, then none left
    assert all(flying > 0 for flying in ledger.at_claims[1:]), ledger.at_claims


def test_a_replaced_config_s_windows_are_freed_on_the_executor_once_the_config_is(
        config_of: Callable[[str], Config]) -> None:
    config = config_of("""
timezone: UTC
windows:
  - {id: a, system: A, start: '2030-01-01T09:00Z', end: '2030-01-01T10:00Z'}
  - {id: b, system: B, start: '2030-01-02T09:00Z', end: '2030-01-02T10:00Z'}
""")
    first = weakref.ref(config.windows[0])
    graves = ThreadPoolExecutor(1, thread_name_prefix="release")
    freed: list[str] = []
    real = free_gradually

    def noted(entries: list[Any]) -> None:
        freed.append(threading.current_thread().name)
        real(entries)

    try:
        with mock.patch("outage_daemon.daemon.free_gradually", noted):
            bury(config, graves)
            graves.submit(lambda: None).result()
            assert first() is not None and not freed  # the config still lives: its windows too
            del config
            graves.submit(lambda: None).result()
        assert first() is None and freed == ["release_0"]
    finally:
        graves.shutdown(wait=True)


class Outage(Watched):
    """A ledger that goes away right after the first claim (every claim and outcome write fails with
    LedgerError) until ``down`` is cleared: a database outage in the middle of a batch."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.down, self.claims, self.refused = False, 0, 0

    def claim(self, *args: Any, **kwargs: Any) -> Any:
        if self.down:
            raise LedgerError("ledger sqlite:///x: the database is down")
        self.claims += 1
        claimed = self.inner.claim(*args, **kwargs)
        self.down = self.claims == 1
        return claimed

    def mark(self, attempts: Any) -> list[bool]:
        if self.down:
            self.refused += len(attempts)
            raise LedgerError("ledger sqlite:///x: the database is down")
        return list(self.inner.mark(attempts))


def test_after_an_outage_a_claim_never_takes_back_what_this_process_sent_but_has_not_recorded(
        config_of: Callable[[str], Config], tmp_path: Path) -> None:
    """The database goes away mid-batch: messages go out, their outcomes are kept in memory, and the
    next claim fails. It comes back after the claims' lease ran out, while the outcome writer
    waits to try again: the next pass's claim must not take those deliveries back (they are this
    process's own, and due) and send them a second time; it waits for the kept outcomes first."""
    start = datetime.now(UTC).replace(microsecond=0)
    config = soon(config_of, start, ["a@example.com", "b@example.com", "c@example.com"])
    ledger = Outage(open_ledger(default_url(str(tmp_path))))
    now = [start]

    async def go() -> list[str]:
        notifier = Notifier(config, ledger, str(tmp_path), lambda: now[0])  # type: ignore[arg-type]
        try:
            await notifier.recover()
            tally = await notifier.reload(config, candidates=await notifier.plan(timedelta(microseconds=1)))
            failed = await asyncio.gather(notifier.deliver(tally), return_exceptions=True)
            assert isinstance(failed[0], LedgerError), failed  # the claim after the batch: the database is down
            for _ in range(500):  # an outcome refused: kept in memory, the writer waiting to try again
                if ledger.refused:
                    break
                await asyncio.sleep(0.01)
            assert ledger.refused and list((tmp_path / "outbox" / "new").iterdir())  # sent before the outage
            now[0] += config.ledger.lease + timedelta(seconds=1)  # the claims' lease ran out meanwhile
            ledger.down = False
            await notifier.deliver(tally)
            assert notifier.writer is not None
            await notifier.writer
            return sorted(d.state for d in await notifier.db(ledger.inner.history, "soon"))
        finally:
            await notifier.close()

    assert asyncio.run(go()) == ["sent"] * 3
    assert len(list((tmp_path / "outbox" / "new").iterdir())) == 3  # each message once

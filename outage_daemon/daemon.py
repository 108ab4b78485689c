"""The long-running daemon: scheduler, HTTP, reload on SIGHUP, systemd notification, clean stop.

The clock is injected once (``clock``); everything the daemon decides goes through the same
ledger as ``run --once``, so a pass that runs twice sends nothing twice.

Timing: a job fires at each reminder's due time within the next ``HORIZON``, and a watch job every
``WATCH`` seconds re-plans and runs a pass. Every pass reads the wall clock, so a suspend,
SIGSTOP/SIGCONT or a clock step delays a reminder by at most ``WATCH`` (then within late_limit, the
catch-up rules apply) and never sends one twice.
"""

from __future__ import annotations

import asyncio
import fcntl
import gc
import logging
import os
import signal
import socket
import time
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import IO

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from outage_daemon.channels.email.message import templates
from outage_daemon.channels.transports import Sender, close_all, make_transports
from outage_daemon.core.errors import ConfigError
from outage_daemon.core.model import Config
from outage_daemon.core.planner import Reminder, plan
from outage_daemon.core.revisions import Revision
from outage_daemon.core.timerules import UTC
from outage_daemon.credentials import CredentialError, secret
from outage_daemon.formats import ical as feed
from outage_daemon.ledger.sqlite import Ledger, ledger_path
from outage_daemon.loader import load
from outage_daemon.pipeline import Clock, accept, deliver, lookback, record
from outage_daemon.publish import atomic_write
from outage_daemon.web import Published, State, app

log = logging.getLogger("outage_daemon")

HORIZON = timedelta(hours=2)
WATCH = 30.0  # seconds: the longest the daemon waits without looking at the wall clock
STOP_GRACE = 10.0  # seconds to finish in-flight sends on SIGTERM


def sd_notify(message: str) -> None:
    """Send one datagram to systemd's $NOTIFY_SOCKET (sd_notify(3)); do nothing without one."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK) as sock:
            sock.connect(address)
            sock.send(message.encode())  # never blocks: a full socket drops the message, not the daemon
    except OSError as exc:
        log.debug("cannot notify systemd: %s", exc)


async def _watchdog() -> None:
    sd_notify("WATCHDOG=1")


class AlreadyRunning(Exception):
    """Another outage-daemon holds this state directory."""


def lock(directory: str) -> IO[str]:
    """Given the state directory, return its lock file held exclusively (the kernel releases it
    when the process dies, even by kill -9); raise AlreadyRunning when another process holds it."""
    os.makedirs(directory, exist_ok=True)
    handle = open(os.path.join(directory, "lock"), "a+", encoding="utf-8")  # noqa: SIM115 - held for life
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        handle.close()
        raise AlreadyRunning(f"another outage-daemon is running on the state directory {directory}") from exc
    handle.truncate(0)
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def parse_listen(text: str) -> tuple[str, int]:
    """Given ``HOST:PORT`` (``[::1]:8080`` for IPv6), return host and port; raise ValueError."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"--listen {text!r}: use HOST:PORT, e.g. 127.0.0.1:8080")
    return host.strip("[]") or "127.0.0.1", int(port)


class Daemon:
    def __init__(self, config: Config, directory: str, clock: Clock, feeds_dir: str | None,
                 listen: tuple[str, int]) -> None:
        self.config, self.directory, self.clock = config, directory, clock
        self.feeds_dir, self.listen = feeds_dir, listen
        self.ledger = Ledger(ledger_path(directory))
        self.state = State(config, {}, clock)
        self.senders: dict[str, Sender] = {}
        self.cache: dict[str, bytes] = {}
        self.revisions: dict[str, Revision] = {}
        self.env = templates(config.templates)
        self.upcoming: list[Reminder] = []
        self.busy = asyncio.Lock()
        self.stopping = asyncio.Event()
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.runner: web.AppRunner | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    # --- the config ------------------------------------------------------------------------

    async def apply(self, config: Config) -> None:
        """Make ``config`` current: senders, revisions, feeds (memory and folder), notices, the plan.

        Everything that can fail on the new config (its secrets) is read before anything is
        swapped, so a refused config leaves the old one whole; raise CredentialError then."""
        tokens = {f.name: secret(f.token_file, f.token_env) for f in config.calendar.feeds}
        senders = make_transports(config, self.directory, lambda: int(self.clock().timestamp() * 1000))
        old, self.senders = self.senders, senders
        await close_all(old)
        now = self.clock()
        self.config, self.state.config = config, config
        self.env = templates(config.templates)
        self.revisions, tally = accept(config, self.ledger, now, self.env, [])
        self.publish(now, tokens)
        if tally.decided:
            log.info("%d lifecycle notices to send", tally.decided)
        self.state.metrics.windows.set(len(config.windows))
        self.state.metrics.reload_ok.set(1)
        self.state.metrics.reload_time.set(time.time())
        self.state.reload_error = []
        self.replan()
        # The config, feeds and caches live until the next reload: keep the collector's full passes
        # off them (they are freed by reference counting when replaced; none of them forms cycles).
        gc.collect()
        gc.freeze()

    def publish(self, now: datetime, tokens: dict[str, str | None]) -> None:
        feeds = feed.render_all(self.config, self.revisions, now, self.cache)
        extras = {f.name: f for f in self.config.calendar.feeds}
        published = {}
        for name, data in feeds.items():
            modified = feed.last_modified(self.config, self.revisions, now, extras.get(name))
            published[name] = Published.of(data, modified, tokens.get(name))
            self.state.metrics.feed_bytes.labels(name).set(len(data))
            if self.feeds_dir:
                atomic_write(os.path.join(self.feeds_dir, f"{name}.ics"), data)
        self.state.feeds = published
        current = {feed.cache_key(r) for r in self.revisions.values()}
        self.cache = {k: v for k, v in self.cache.items() if k in current or k.startswith("head/")}

    def refuse(self, errors: list[str]) -> None:
        """Keep running on the previous config; say why in the log, /healthz and the metrics."""
        self.state.reload_error = errors
        self.state.metrics.reload_ok.set(0)
        self.state.metrics.reload_time.set(time.time())
        for error in errors:
            log.error("reload refused: %s", error)
        log.error("reload refused: %d errors; still running on the previous config", len(errors))
        sd_notify("READY=1\nSTATUS=reload refused; running on the previous config")

    async def reload(self) -> None:
        """SIGHUP: validate the file fully; keep running on the old config on any error."""
        sd_notify(f"RELOADING=1\nMONOTONIC_USEC={time.monotonic_ns() // 1000}\nSTATUS=reloading")
        try:
            config = await asyncio.to_thread(load, self.config.path)
            async with self.busy:
                await self.apply(config)
        except ConfigError as exc:
            self.refuse([str(p) for p in exc.problems])
            return
        except CredentialError as exc:
            self.refuse([f"{self.config.path}: {exc}"])
            return
        log.info("reloaded %s: %d windows", config.path, len(config.windows))
        await self.tick()
        sd_notify("READY=1\n" + self.status())

    # --- timing ----------------------------------------------------------------------------

    def replan(self) -> None:
        """Plan the reminders within HORIZON and give each due time a job (the watch job stays)."""
        now = self.clock()
        self.upcoming = plan(self.config, lookback(self.config, self.ledger, now), now + HORIZON)
        for job in self.scheduler.get_jobs():
            if job.id.startswith("due:"):
                job.remove()
        for due in sorted({r.due for r in self.upcoming if r.due > now}):
            self.scheduler.add_job(self.tick, DateTrigger(run_date=due), id=f"due:{due.isoformat()}",
                                   misfire_grace_time=None, coalesce=True)
        waiting = self.ledger.next_tries()
        if waiting:
            wake = max(min(waiting), now)
            self.scheduler.add_job(self.tick, DateTrigger(run_date=wake), id="due:retry", misfire_grace_time=None,
                                   replace_existing=True)
        nxt = self.next_reminder(now)
        self.state.metrics.next_due.set(nxt.due.timestamp() if nxt else 0)

    def next_reminder(self, now: datetime) -> Reminder | None:
        return next((r for r in self.upcoming if r.due > now), None)

    async def tick(self) -> None:
        """One pass: decide what is due by the wall clock now, record it, deliver it."""
        if self.stopping.is_set():
            return
        async with self.busy:
            now = self.clock()
            since = lookback(self.config, self.ledger, now)
            due = [r for r in self.upcoming if since <= r.due <= now]
            tally = record(self.config, self.ledger, now, self.env, self.revisions, [], due)
            await deliver(self.config, self.ledger, self.senders, self.clock, tally)
            metrics = self.state.metrics
            metrics.reminders.labels("sent").inc(tally.sent)
            metrics.reminders.labels("skipped").inc(tally.skipped)
            metrics.reminders.labels("failed").inc(tally.failed)
            for state, count in self.ledger.counts().items():
                metrics.deliveries.labels(state).set(count)
            if tally.sent or tally.failed or tally.skipped:
                log.info("pass at %s: sent %d, failed %d, skipped %d, retrying %d", now.isoformat(),
                         tally.sent, tally.failed, tally.skipped, tally.retrying)
            if tally.retrying:
                self.replan()

    async def watch(self) -> None:
        """Every WATCH seconds: re-plan against the wall clock, run a pass, tell systemd."""
        self.replan()
        await self.tick()
        sd_notify(self.status())

    def status(self) -> str:
        nxt = self.next_reminder(self.clock())
        said = f"next reminder {nxt.due.astimezone(self.config.tz):%Y-%m-%d %H:%M %Z} ({nxt.window.id})" \
            if nxt else "no reminder in the next 2 hours"
        return f"STATUS={len(self.config.windows)} windows; {said}"

    # --- life ------------------------------------------------------------------------------

    def _spawn(self, coro: Callable[[], Coroutine[object, object, None]]) -> None:
        task = asyncio.ensure_future(coro())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        await self.apply(self.config)
        self.runner = web.AppRunner(app(self.state), access_log=None, handle_signals=False)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.listen[0], self.listen[1], reuse_address=True)
        await site.start()
        log.info("serving http://%s:%d/ (feeds at /calendar.ics), state in %s", *self.listen, self.directory)
        self.scheduler.add_job(self.watch, IntervalTrigger(seconds=WATCH), id="watch", misfire_grace_time=None,
                               coalesce=True)
        watchdog = int(os.environ.get("WATCHDOG_USEC", "0") or 0)
        if watchdog and os.environ.get("WATCHDOG_PID", str(os.getpid())) == str(os.getpid()):
            self.scheduler.add_job(_watchdog, IntervalTrigger(seconds=watchdog / 2e6), id="watchdog",
                                   misfire_grace_time=None, coalesce=True)
        self.scheduler.start()
        loop.add_signal_handler(signal.SIGHUP, self._spawn, self.reload)
        loop.add_signal_handler(signal.SIGTERM, self.stopping.set)
        loop.add_signal_handler(signal.SIGINT, self.stopping.set)
        await self.tick()
        sd_notify("READY=1\n" + self.status())
        await self.stopping.wait()
        sd_notify("STOPPING=1\nSTATUS=stopping")
        log.info("stopping: finishing in-flight sends (at most %.0f s)", STOP_GRACE)
        self.scheduler.shutdown(wait=False)
        try:
            await asyncio.wait_for(self.busy.acquire(), STOP_GRACE)
        except asyncio.TimeoutError:
            log.warning("in-flight sends did not finish in time; they stay pending in the ledger")
        await self.runner.cleanup()
        await close_all(self.senders)
        self.ledger.close()
        log.info("stopped")
        return 0


def serve(config: Config, directory: str, clock: Clock, feeds_dir: str | None, listen: tuple[str, int]) -> int:
    """Run the daemon until SIGTERM; return the exit code (logging is set up by the CLI)."""
    held = lock(directory)
    try:
        return asyncio.run(Daemon(config, directory, clock, feeds_dir, listen).run())
    finally:
        held.close()

"""The long-running daemon: scheduler, HTTP, reload on SIGHUP, systemd notification, clean stop.

The clock is injected once (``clock``); everything the daemon decides goes through the same
ledger as ``run --once``, so a pass that runs twice sends nothing twice.

Timing: a job fires at each reminder's due time within the next ``HORIZON``, and a watch job every
``ledger.poll`` (30 s) re-plans and runs a pass. Every pass reads the wall clock, so a suspend,
SIGSTOP/SIGCONT or a clock step delays a reminder by at most one poll (then within late_limit, the
catch-up rules apply) and never sends one twice.

Replicas (a shared PostgreSQL ledger): no lock on the state directory; every poll writes a
heartbeat and compares config hashes (divergence: /healthz degraded, a metric, a log line naming
the nodes); a peer's NOTIFY runs a pass at once. When the ledger is unreachable the feeds and the
page are served from memory, /healthz and ``outage_ledger_up`` say so, and passes are retried with
backoff (at most one poll apart).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import gc
import logging
import os
import signal
import socket
import sys
import time
import weakref
from collections.abc import Callable, Coroutine
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from typing import IO

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from outage_daemon.ackweb import Desk
from outage_daemon.channels.calendar import CalendarChannel
from outage_daemon.core.errors import ConfigError
from outage_daemon.core.i18n import plural
from outage_daemon.core.model import Config, Window
from outage_daemon.core.planner import Reminder, next_reminder
from outage_daemon.core.records import Revision
from outage_daemon.core.revisions import revise_all
from outage_daemon.core.timerules import UTC
from outage_daemon.credentials import CredentialError, secret
from outage_daemon.formats import FORMATS, feeds, render_all
from outage_daemon.formats.ical import cache_key, last_modified
from outage_daemon.formats.push import CHANNEL
from outage_daemon.ledger import LedgerError, is_shared
from outage_daemon.limits import IDLE_TIMEOUT, CappedSite, Repeats, connection_cap, raise_fd_limit
from outage_daemon.loader import free_gradually, load
from outage_daemon.pipeline import Built, Clock, Notifier, Tally
from outage_daemon.publish import atomic_write, discard, settle, stage
from outage_daemon.silencer import Db, Silencer
from outage_daemon.web import Published, State, app

log = logging.getLogger("outage_daemon")

HORIZON = timedelta(hours=2)
STOP_GRACE = 10.0  # seconds to finish in-flight sends on SIGTERM
RETRY_PASS = 2.0  # seconds before a failed pass is tried again
SWITCH_INTERVAL = 0.001  # seconds a thread holds the GIL while another waits for it


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
        raise AlreadyRunning(f"another outage-daemon is running on the state directory {directory} (stop it "
                             "first, e.g. systemctl stop outage-daemon, or give this one another --state-dir)") from exc
    handle.truncate(0)
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def bury(config: Config, executor: Executor) -> None:
    """Given a config being replaced, free its windows one at a time on ``executor`` once nothing
    uses the config any more. Freed all at once wherever its last reference went (the event loop,
    most often), the windows of a 10,000-window config held the GIL for about 50 ms: every HTTP
    request waited for them."""
    windows = list(config.windows)  # they outlive the config: its own freeing is then quick
    weakref.finalize(config, _dig, executor, windows).atexit = False


def _dig(executor: Executor, windows: list[Window]) -> None:
    with contextlib.suppress(RuntimeError):  # the executor is shut down: freed here, at once
        executor.submit(free_gradually, windows)


def _version() -> str:
    try:
        return version("outage-daemon")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def parse_listen(text: str) -> tuple[str, int]:
    """Given ``HOST:PORT`` (``[::1]:8080`` for IPv6), return host and port; raise ValueError."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"--listen {text!r}: use HOST:PORT, e.g. 127.0.0.1:8080")
    return host.strip("[]") or "127.0.0.1", int(port)


class Daemon:
    """The running service: one notifier, the HTTP app, the scheduler; the config swapped whole."""

    def __init__(self, config: Config, directory: str, clock: Clock, feeds_dir: str | None,
                 listen: tuple[str, int], ledger_url: str | None = None, node: str | None = None) -> None:
        self.directory = directory
        self.feeds_dir, self.listen = feeds_dir, listen
        self.notifier = Notifier.open(config, directory, clock, ledger_url, node)
        self.notifier.health = self.ledger_health
        self.notifier.version = _version()
        self.clock = self.notifier.clock  # the ledger's clock: replicas decide alike whatever their own
        self.state = State(config, {}, self.clock)
        self.cache: dict[str, bytes] = {}
        self.upcoming: list[Reminder] = []
        self.beyond: Reminder | None = None  # the next reminder past HORIZON, for STATUS and the metric
        self.busy = asyncio.Lock()  # one decision (record) or config swap at a time; never held while sending
        self.reloader: asyncio.Task[None] | None = None  # the one reload running, if any
        self.reload_wanted = False  # a SIGHUP came in: (re)load the file once more
        self.publishing = asyncio.Lock()  # one render at a time
        self.stopping = asyncio.Event()
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.runner: web.AppRunner | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.unapplied: Config | None = None  # a reload the ledger was unreachable for: applied when it is back
        self.ledger_wait = 0.5  # seconds before the next try while the ledger is unreachable (doubling)
        self.hinted = False
        self.again = False  # a pass was asked for while one ran
        self.watching = False
        self.cap = connection_cap(raise_fd_limit())
        self.failing_since: datetime | None = None  # when the first of the passes failing now ran
        self.silencer = Silencer(Db(self.notifier.ledger, self.notifier.db))
        self.graves = ThreadPoolExecutor(1, thread_name_prefix="release")  # frees replaced configs (:func:`bury`)

    @property
    def config(self) -> Config:
        return self.notifier.config

    # --- the config ------------------------------------------------------------------------

    async def apply(self, config: Config, built: Built | None = None) -> None:
        """Make ``config`` current, all or nothing. Before anything is swapped: its secrets, its
        revisions, its feeds rendered and written next to the old ones (so a full disk refuses it);
        then, swapped in memory, its plan, the feeds renamed into place, and last one ledger
        transaction (revisions, notices, schedules); then it is served. Any failure swaps the old
        config and its feed files back (nothing recorded, nothing shown) and is raised."""
        tokens = self.tokens(config)
        now, notifier = self.clock(), self.notifier
        stored = await notifier.db(notifier.ledger.revisions)
        revisions = await asyncio.to_thread(revise_all, config, stored, now)
        async with self.publishing:
            published, staged = await asyncio.to_thread(self.render, config, revisions, now, tokens)
            previous, placed = notifier.swap(config, built), False
            try:
                await self.replan()
                await asyncio.to_thread(self.place, config, staged)
                placed = True
                await notifier.accept(now=now)  # the last step: nothing is recorded for a refused config
            except BaseException:
                discard(staged)
                notifier.restore(previous)
                with contextlib.suppress(Exception):  # the old plan and feeds again; the first failure is raised
                    await self.replan()
                    if placed:
                        await asyncio.to_thread(self.unplace, staged)
                raise
            notifier.retire(previous.built.channels)
            bury(previous.config, self.graves)
            self.serve_feeds(config, published)
        self.adopted(config)

    async def adopt(self, config: Config, built: Built | None = None) -> dict[
            str, str | None]:
        """At start: make ``config`` current but for its feeds: channels, revisions, notices, the plan;
        return the feeds' tokens for :meth:`republish`. Raise CredentialError before swapping anything."""
        tokens = self.tokens(config)
        await self.notifier.reload(config, built)
        self.adopted(config)
        await self.replan()
        return tokens

    @staticmethod
    def tokens(config: Config) -> dict[str, str | None]:
        """Given a config, return its feeds' tokens by name; raise CredentialError."""
        return {f.name: secret(f.token_file, f.token_env) for f in config.calendar.feeds}

    def adopted(self, config: Config) -> None:
        """Say in the HTTP state and the metrics that ``config`` is current; (re)start the watch job."""
        self.state.config = config
        self.state.acks = self.desk()
        metrics = self.state.metrics
        metrics.windows.set(config.public_count)  # as /healthz: no private hint
        metrics.reload_ok.set(1)
        metrics.reload_time.set(time.time())
        metrics.config_hash.set(int(config.digest[:12] or "0", 16))
        self.state.reload_error = []
        if self.scheduler.running:
            self.schedule_watch()

    def desk(self) -> Desk | None:
        """Return what the current config's confirmation pages need (the key its links are signed
        with), or None when no audience acknowledges."""
        notifier, key = self.notifier, self.notifier.key
        if key is None:
            return None
        return Desk(key, lambda ack: notifier.db(notifier.ledger.acknowledge, ack),
                    lambda window: notifier.db(notifier.ledger.acknowledgements, window))

    async def republish(self, tokens: dict[str, str | None]) -> None:
        """Render the current config's feeds on a worker thread and serve them."""
        async with self.publishing:
            config, revisions = self.notifier.config, self.notifier.revisions
            published, staged = await asyncio.to_thread(self.render, config, revisions, self.clock(), tokens)
            try:
                await asyncio.to_thread(self.place, config, staged)
            except BaseException:
                discard(staged)
                raise
            self.serve_feeds(config, published)

    def serve_feeds(self, config: Config, published: dict[str, Published]) -> None:
        """Serve ``published`` (the feeds of ``config``, now current) from memory."""
        self.state.feeds = published
        self.state.published.set()
        for fmt in FORMATS:
            for name, _ in feeds(config):
                self.state.metrics.feed_bytes.labels(name).set(len(published[f"{name}.{fmt.extension}"].data))
        # The config, feeds and caches live until the next reload: keep the collector's full passes
        # off them (they are freed by reference counting when replaced; none of them forms cycles).
        # Only the young generations are collected first: a full pass over a 10,000-window heap holds
        # the GIL (and so every HTTP request) for ~30 ms.
        gc.collect(1)
        gc.freeze()

    def render(self, config: Config, revisions: dict[str, Revision], now: datetime,
               tokens: dict[str, str | None]) -> tuple[dict[str, Published], dict[str, str]]:
        """On a worker thread: render every feed of ``config``, ready to serve, and write each to a
        temp file in the feeds folder (if any; not the feeds with a token, which a static server
        must never show); return both. Raise OSError with no temp file left."""
        rendered = render_all(config, revisions, now, self.cache)
        current = {cache_key(r) for r in revisions.values()}  # forget the events of other revisions, here
        self.cache = {k: v for k, v in self.cache.items() if k.split("|", 1)[0] in current or k.startswith("head/")}
        published, staged = {}, {}
        try:
            for fmt in FORMATS:
                for name, extra in feeds(config):
                    filename = f"{name}.{fmt.extension}"
                    data = rendered[filename]
                    modified = last_modified(config, revisions, now, extra)
                    published[filename] = Published.of(data, modified, tokens.get(name), fmt.media_type)
                    if self.feeds_dir and not (extra is not None and extra.private):
                        path = os.path.join(self.feeds_dir, filename)
                        tmp = stage(path, data)
                        if tmp is not None:
                            staged[path] = tmp
        except BaseException:
            discard(staged)
            raise
        return published, staged

    def unplace(self, staged: dict[str, str]) -> None:
        """Put back the feed files :meth:`place` replaced with ``staged``: the old feeds' bytes (still
        served from memory), or no file where the old config had no such feed."""
        for path in staged:
            old = self.state.feeds.get(os.path.basename(path))
            if old is not None:
                atomic_write(path, old.data)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)

    def place(self, config: Config, staged: dict[str, str]) -> None:
        """Rename the staged feeds into the feeds folder; remove a token feed's file an older version left."""
        settle(staged)
        for fmt in FORMATS:
            for feed in config.calendar.feeds:
                if self.feeds_dir and feed.private:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(os.path.join(self.feeds_dir, f"{feed.name}.{fmt.extension}"))

    def refuse(self, errors: list[str]) -> None:
        """Keep running on the previous config; say why in the log, /healthz and the metrics."""
        self.state.reload_error = errors
        self.state.metrics.reload_ok.set(0)
        self.state.metrics.reload_time.set(time.time())
        for error in errors:
            log.error("reload refused: %s", error)
        log.error("reload refused: %s; still running on the previous config", plural(len(errors), "error"))
        sd_notify("READY=1\nSTATUS=reload refused; running on the previous config")

    def hup(self) -> None:
        """SIGHUP: ask for a reload. One runs at a time; signals that arrive during one coalesce into
        one more, which reads the file as it is then (so the newest file always wins)."""
        self.reload_wanted = True
        if self.reloader is None or self.reloader.done():
            self.reloader = asyncio.ensure_future(self._reloads())
            self.tasks.add(self.reloader)
            self.reloader.add_done_callback(self._done)

    async def _reloads(self) -> None:
        while self.reload_wanted and not self.stopping.is_set():
            self.reload_wanted = False
            await self.reload()

    async def reload(self) -> None:
        """Validate the file fully and make it current; keep running on the old config on any error."""
        sd_notify(f"RELOADING=1\nMONOTONIC_USEC={time.monotonic_ns() // 1000}\nSTATUS=reloading")
        try:
            config = await asyncio.to_thread(load, self.config.path)
            built = self.notifier.build(config)
            async with self.busy:
                await self.apply(config, built)
        except ConfigError as exc:
            self.refuse([str(p) for p in exc.problems])
            return
        except CredentialError as exc:
            self.refuse([f"{self.config.path}: {exc}"])
            return
        except LedgerError as exc:  # applied by the next poll that reaches the ledger; not reloaded yet
            self.unapplied = config
            self.ledger_failed(exc)
            log.warning("reload of %s waits for the ledger: the previous config runs until it answers", config.path)
            sd_notify("READY=1\n" + self.status())
            return
        except Exception as exc:  # noqa: BLE001 - any failure is refused and reported, never silent
            self.refuse([f"{self.config.path}: reload failed: {type(exc).__name__}: {exc}"])
            return
        log.info("reloaded %s: %d windows", config.path, len(config.windows))
        await self.tick()
        self._spawn(self.silence)
        sd_notify("READY=1\n" + self.status())

    # --- timing ----------------------------------------------------------------------------

    async def replan(self) -> None:
        """Plan the reminders within HORIZON and give each due time a job (the watch job stays)."""
        self.upcoming = await self.notifier.plan(HORIZON)
        now = self.clock()
        for job in self.scheduler.get_jobs():
            if job.id.startswith("due:"):
                job.remove()
        for due in sorted({r.due for r in self.upcoming if r.due > now}):
            self.scheduler.add_job(self.tick, DateTrigger(run_date=self.local(due)), id=f"due:{due.isoformat()}",
                                   misfire_grace_time=None, coalesce=True)
        wake = await self.notifier.next_try()
        if wake is not None:
            self.scheduler.add_job(self.tick, DateTrigger(run_date=self.local(max(wake, now))), id="due:retry",
                                   misfire_grace_time=None, replace_existing=True)
        nxt = self.next_reminder(now)
        if nxt is None:  # beyond the horizon: a cheap search, off the loop, for STATUS and the metric
            self.beyond = await asyncio.to_thread(next_reminder, self.config, now)
            nxt = self.beyond
        self.state.metrics.next_due.set(nxt.due.timestamp() if nxt else 0)

    def local(self, when: datetime) -> datetime:
        """Given a time on the ledger's clock, return it on this host's (the timers run on that)."""
        return when - self.notifier.skew

    def next_reminder(self, now: datetime) -> Reminder | None:
        """Given ``now``, return the next reminder due after it: planned, else found beyond the horizon."""
        near = next((r for r in self.upcoming if r.due > now), None)
        beyond = self.beyond
        return near or (beyond if beyond is not None and beyond.due > now else None)

    async def tick(self) -> None:
        """One pass: decide what is due by the wall clock now and record it, under the lock; then
        start the sending outside it (each channel in its own loop), so a slow channel holds up
        neither the next pass nor a reload. A pass asked for while one decides runs once more after
        it. A failed pass is reported (/healthz, log) and tried again, and lateness is then measured
        from when passes began to fail, so a failure never turns into a skip; on a ledger error the
        daemon keeps serving from memory and retries with backoff."""
        if self.stopping.is_set():
            return
        if self.busy.locked():  # a pass (or a reload, which runs one after) is under way: it runs once more
            self.again = True
            return
        self.again = True
        while self.again and not self.stopping.is_set():
            self.again = False
            try:
                async with self.busy:
                    notifier, late_at = self.notifier, self.failing_since
                    since = await notifier.since(late_at or self.clock())
                    tally = await notifier.record((r for r in self.upcoming if since <= r.due), late_at)
            except LedgerError as exc:
                self.failing_since = self.failing_since or self.clock()
                self.ledger_failed(exc)
                return
            except asyncio.CancelledError:
                if self.stopping.is_set():
                    return  # stopped mid-pass: what was not recorded is decided by the next start
                raise
            except Exception as exc:  # noqa: BLE001 - a failed pass is reported and tried again, never lost
                self.failed(exc)
                return
            self.state.pass_error, self.failing_since = None, None
            self.ledger_ok()
            self._spawn(functools.partial(self.send, tally))

    def failed(self, exc: Exception) -> None:
        """A pass failed (e.g. no descriptors left): say so in the log and /healthz, try again soon."""
        self.state.pass_error = f"{type(exc).__name__}: {exc}"
        self.failing_since = self.failing_since or self.clock()
        log.error("pass failed, trying again in %.0f s: %s", RETRY_PASS, self.state.pass_error)
        if not self.stopping.is_set() and self.scheduler.running:
            later = self.notifier.host_clock() + timedelta(seconds=RETRY_PASS)
            self.scheduler.add_job(self.watch, DateTrigger(run_date=later),
                                   id="due:failed", misfire_grace_time=None, replace_existing=True)

    async def send(self, tally: Tally) -> None:
        """Run the channels' sending loops until nothing is due; count and log what they did."""
        notifier = self.notifier
        try:
            await asyncio.gather(*notifier.kick(tally))
            counts = await notifier.db(notifier.ledger.counts)
        except LedgerError as exc:
            self.ledger_failed(exc)
            return
        except Exception as exc:  # noqa: BLE001 - reported and tried again; the ledger keeps what is pending
            self.failed(exc)
            return
        metrics = self.state.metrics
        metrics.reminders.labels("sent").inc(tally.sent)
        metrics.reminders.labels("skipped").inc(tally.skipped)
        metrics.reminders.labels("failed").inc(tally.failed)
        for state, count in counts.items():
            metrics.deliveries.labels(state).set(count)
        self.report_calendars()
        if tally.sent or tally.failed or tally.skipped:
            log.info("pass at %s: sent %d, failed %d, skipped %d, retrying %d", self.clock().isoformat(),
                     tally.sent, tally.failed, tally.skipped, tally.retrying)
        if tally.retrying and not self.stopping.is_set():
            async with self.busy:
                await self.replan()

    def report_calendars(self) -> None:
        """Say which pushed calendars fail, in /healthz and ``outage_calendar_up``."""
        channel = self.notifier.channels.get(CHANNEL)
        failing = channel.failing if isinstance(channel, CalendarChannel) else {}
        self.state.failing_calendars = sorted(n for n in failing if n in self.state.config.calendars)
        for name in self.state.config.calendars:
            self.state.metrics.calendar_up.labels(name).set(0 if name in failing else 1)

    async def watch(self) -> None:
        """Every poll: apply a reload the ledger missed, re-plan against the wall clock, write the
        heartbeat, run a pass, tell systemd; return at once while the previous one still runs."""
        if self.watching:
            return
        self.watching = True
        try:
            await self._watch()
        finally:
            self.watching = False

    async def _watch(self) -> None:
        try:
            if self.unapplied is not None:
                await self.apply_postponed(self.unapplied)
            await self.notifier.measure()  # right before the timers are set on it: a pass they start finds due
            await self.replan()            # what they were set for (a newer measure could put it a moment later)
            await self.beat()
        except LedgerError as exc:
            self.ledger_failed(exc)
            return
        except asyncio.CancelledError:
            if self.stopping.is_set():
                return
            raise
        except Exception as exc:  # noqa: BLE001 - as a failed pass: reported, tried again, never a skip
            self.failed(exc)
            return
        await self.tick()
        self._spawn(self.silence)
        sd_notify(self.status())

    async def apply_postponed(self, config: Config) -> None:
        """Apply the reload the ledger was unreachable for; raise LedgerError while it still is. Any
        other failure refuses that config (the previous one runs on) instead of failing every poll."""
        try:
            async with self.busy:  # its own channels: those built for the failed try were closed
                await self.apply(config, self.notifier.build(config))
        except LedgerError:
            raise
        except Exception as exc:  # noqa: BLE001 - refused and reported, as a reload's failure is
            self.unapplied = None
            self.refuse([f"{config.path}: reload failed: {type(exc).__name__}: {exc}"])
            return
        self.unapplied = None
        log.info("reloaded %s: %s", self.config.path, plural(len(self.config.windows), "window"))

    async def silence(self) -> None:
        """Bring the Alertmanagers' silences in step with the windows (one replica at a time); a
        failed request is recorded and logged, and the next poll tries again."""
        if self.notifier.outdated:  # peers run a newer config: theirs decides the silences
            return
        try:
            await self.silencer.run(self.config, self.clock())
        except LedgerError as exc:
            self.ledger_failed(exc)

    def schedule_watch(self) -> None:
        """(Re)start the watch job at the config's poll interval."""
        self.scheduler.add_job(self.watch, IntervalTrigger(seconds=self.config.ledger.poll.total_seconds()),
                               id="watch", misfire_grace_time=None, coalesce=True, replace_existing=True,
                               max_instances=2)  # the second returns at once while the first still runs

    async def beat(self) -> None:
        """Write this replica's heartbeat; when the replicas seen lately run different configs, say
        so in /healthz, the metrics and the log (naming the nodes), once per change."""
        peers = await self.notifier.heartbeat(_version())
        hashes = {p.node: p.config_hash for p in peers}
        metrics = self.state.metrics
        metrics.replicas.set(len(peers))
        metrics.config_hashes.set(len(set(hashes.values())))
        # One daemon per SQLite file: an older row is a predecessor (killed, restarted), not a peer.
        divergent = hashes if len(set(hashes.values())) > 1 and self.notifier.ledger.shared else {}
        if divergent and divergent != self.state.divergent:
            log.warning("replicas run different configs: %s",
                        ", ".join(f"{node} {digest[:12]}" for node, digest in sorted(divergent.items())))
        elif self.state.divergent and not divergent:
            log.info("replicas agree on the config again (%s)", self.config.digest[:12])
        self.state.divergent, self.state.outdated = divergent, self.notifier.outdated
        self.judge_skew()

    def judge_skew(self) -> None:
        """Given the skew just measured, say in /healthz, the metrics and the log (once per change)
        when this host's clock differs from the ledger's by more than ``ledger.clock_skew``."""
        skew, bound = self.notifier.skew, self.config.ledger.clock_skew
        self.state.metrics.clock_skew.set(skew.total_seconds())
        said = None
        if abs(skew) > bound:
            side = "behind" if skew > timedelta(0) else "ahead of"
            said = (f"this host's clock is {abs(skew).total_seconds():.1f} s {side} the ledger's (more than "
                    f"ledger.clock_skew, {bound.total_seconds():g} s): reminders are timed on the ledger's clock; "
                    "fix the host's time (NTP)")
            if self.state.skew is None:
                log.warning("%s", said)
        elif self.state.skew is not None:
            log.info("this host's clock agrees with the ledger's again (%+.1f s)", skew.total_seconds())
        self.state.skew = said

    def ledger_failed(self, exc: LedgerError) -> None:
        """A pass failed on the ledger: keep serving from memory, try again with backoff."""
        wait = self.ledger_wait
        self.ledger_wait = min(wait * 2, self.config.ledger.poll.total_seconds())
        self.state.metrics.ledger_errors.inc()
        log.error("%s; serving from memory, next try in %.1f s", exc, wait)
        if not self.stopping.is_set() and self.scheduler.running:
            later = self.notifier.host_clock() + timedelta(seconds=wait)
            self.scheduler.add_job(self.watch, DateTrigger(run_date=later),
                                   id="ledger-retry", misfire_grace_time=None, replace_existing=True)

    def ledger_ok(self) -> None:
        """A pass went through: reset the backoff."""
        self.ledger_wait = 0.5

    def ledger_health(self, error: LedgerError | None) -> None:
        """After every ledger call: whether it answered, in /healthz, the metrics and the log."""
        if error is not None and self.state.ledger_error is None:
            log.error("the ledger is unreachable: %s; serving from memory, retrying", error)
        elif error is None and self.state.ledger_error is not None:
            log.info("the ledger is reachable again")
        self.state.ledger_error = str(error) if error is not None else None
        self.state.metrics.ledger_up.set(0 if error is not None else 1)

    def hint(self, topic: str) -> None:
        """A peer recorded or reloaded (called from the ledger's LISTEN thread): run a pass soon."""
        self.loop.call_soon_threadsafe(self._hinted)

    def _hinted(self) -> None:
        if not self.hinted and not self.stopping.is_set():
            self.hinted = True
            self._spawn(self._hint_pass)

    async def _hint_pass(self) -> None:
        self.hinted = False  # a hint that comes during this pass asks for one more
        await self.tick()

    def status(self) -> str:
        """Return systemd's STATUS= line: the windows and the next reminder, however far away."""
        nxt = self.next_reminder(self.clock())
        said = f"next reminder {nxt.due.astimezone(self.config.tz):%Y-%m-%d %H:%M %Z} ({nxt.window.id}, {nxt.kind})" \
            if nxt else "no reminder planned"
        return f"STATUS={plural(len(self.config.windows), 'window')}; {said}"

    # --- life ------------------------------------------------------------------------------

    def _spawn(self, coro: Callable[[], Coroutine[object, object, None]]) -> None:
        task = asyncio.ensure_future(coro())
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        """Forget a finished background task; log how it failed, if it did."""
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed: %s", task.exception(), exc_info=task.exception())

    async def start(self) -> None:
        """Take the HTTP port, then the config into the ledger, plan and start the timers; the first
        feeds render meanwhile (a feed request waits for them), so reminders never wait for a render.
        The port comes first: a start that fails on it (in use) has recorded nothing."""
        self.loop = asyncio.get_running_loop()
        self.runner = web.AppRunner(app(self.state), access_log=None, handle_signals=False,
                                    keepalive_timeout=IDLE_TIMEOUT)  # idle and slow-header connections too
        await self.runner.setup()
        site = CappedSite(self.runner, self.listen[0], self.listen[1], self.cap)
        await site.start()
        await self.notifier.recover()
        tokens = await self.adopt(self.config)
        self._spawn(lambda: self.republish(tokens))
        await self.beat()
        log.info("serving http://%s:%d/ (feeds at /calendar.ics), state in %s", *self.listen, self.directory)
        self.schedule_watch()
        watchdog = int(os.environ.get("WATCHDOG_USEC", "0") or 0)
        if watchdog and os.environ.get("WATCHDOG_PID", str(os.getpid())) == str(os.getpid()):
            self.scheduler.add_job(_watchdog, IntervalTrigger(seconds=watchdog / 2e6), id="watchdog",
                                   misfire_grace_time=None, coalesce=True)
        self.scheduler.start()
        if self.notifier.ledger.shared:
            log.info("replica %s on the shared ledger %s (config %s)", self.notifier.owner, self.notifier.ledger.url,
                     self.config.digest[:12])
            self.notifier.ledger.listen(self.hint)

    async def stop(self) -> None:
        """Take no new work; give the sends in flight STOP_GRACE to finish, then cancel the rest
        (their deliveries stay pending in the ledger and go out on the next start)."""
        deadline = time.monotonic() + STOP_GRACE
        self.scheduler.shutdown(wait=False)  # passes are short now: the sends belong to the notifier
        if await self.notifier.halt(STOP_GRACE):
            log.warning("in-flight sends did not finish in time; they stay pending in the ledger")
        try:
            await asyncio.wait_for(self.busy.acquire(), max(deadline - time.monotonic(), 0.1))
        except asyncio.TimeoutError:
            log.warning("a pass or reload did not finish in time")
        rest = [t for t in self.tasks if not t.done()]
        for task in rest:
            task.cancel()
        await asyncio.gather(*rest, return_exceptions=True)
        await self.silencer.close()
        self.graves.shutdown(wait=False)

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        await self.start()
        loop.add_signal_handler(signal.SIGHUP, self.hup)
        loop.add_signal_handler(signal.SIGTERM, self.stopping.set)
        loop.add_signal_handler(signal.SIGINT, self.stopping.set)
        await self.tick()
        self._spawn(self.silence)
        sd_notify("READY=1\n" + self.status())
        await self.stopping.wait()
        sd_notify("STOPPING=1\nSTATUS=stopping")
        log.info("stopping: finishing in-flight sends (at most %.0f s)", STOP_GRACE)
        await self.stop()
        if self.runner is not None:
            await self.runner.cleanup()
        await self.notifier.close()
        log.info("stopped")
        return 0


def serve(config: Config, directory: str, clock: Clock, feeds_dir: str | None, listen: tuple[str, int],
          ledger_url: str | None = None, node: str | None = None) -> int:
    """Run the daemon until SIGTERM; return the exit code (logging is set up by the CLI). The state
    directory is locked for a SQLite ledger (one daemon each); replicas share a PostgreSQL one."""
    held = None if is_shared(ledger_url or "") else lock(directory)
    for handler in logging.getLogger().handlers:
        handler.addFilter(Repeats())
    # Planning, rendering and the ledger run on worker threads; the event loop waits for the GIL
    # each time it wakes. A 1 ms switch interval (default 5 ms) keeps an HTTP request that wakes it
    # several times from queueing behind a long render.
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        return asyncio.run(_serve(config, directory, clock, feeds_dir, listen, ledger_url, node))
    finally:
        if held is not None:
            held.close()


async def _serve(config: Config, directory: str, clock: Clock, feeds_dir: str | None, listen: tuple[str, int],
                 ledger_url: str | None, node: str | None) -> int:
    return await Daemon(config, directory, clock, feeds_dir, listen, ledger_url, node).run()

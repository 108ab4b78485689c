"""The notifier: plan → decide → render → record → claim → send → mark.

One :class:`Notifier` owns the ledger, the channels and the templates of one config; the daemon,
``run --once``, ``send-test``, the benchmarks and the tests all go through it. ``now`` comes from
the clock it is given (the one place a caller injects time). The ledger makes every step
restartable: a delivery is recorded as pending before it is attempted and marked sent only after
the other side accepted it, under a claim, so a crash loses nothing and repeats at most what was
in flight. Ledger calls, rendering and planning run off the event loop (the ledger on one worker
thread of its own), so HTTP and timers stay responsive during a large pass.

On a ledger that replicas share, a reload and a recording each run as one exclusive step (two
replicas reloading the same change record one set of notices and store the same revisions), and
deliveries are claimed in batches on the database's clock and renewed while they send; none is
sent once its lease may have run out (a replica paused past its lease sends nothing it no longer
holds). Every ``now`` is read on the ledger's clock (:meth:`Notifier.clock`), and while replicas run
different configs only those on the newest record notices and reminders (:meth:`Notifier._judge`).
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
import os
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import NamedTuple, ParamSpec, TypeVar

from outage_daemon.channels import close_all, make_channels
from outage_daemon.channels.base import Channel, Outcome
from outage_daemon.channels.calendar import CalendarChannel, LedgerMemo, index_name
from outage_daemon.channels.render import Templates, templates
from outage_daemon.core import acks
from outage_daemon.core.decide import Notification, changes, decide
from outage_daemon.core.i18n import plural
from outage_daemon.core.kinds import Kind
from outage_daemon.core.model import Config
from outage_daemon.core.planner import Reminder, plan
from outage_daemon.core.records import Attempt, Decision, Delivery, Entry, Peer, Revision, Schedule
from outage_daemon.core.revisions import revise_all
from outage_daemon.core.timerules import UTC
from outage_daemon.credentials import named, secret
from outage_daemon.formats.push import CHANNEL as PUSH_CHANNEL
from outage_daemon.formats.push import dump_held, load_held, pushes
from outage_daemon.ledger import Ledger, LedgerError, default_url, open_ledger

log = logging.getLogger("outage_daemon")

LOOKBACK_CAP = timedelta(days=30)
MAX_BACKOFF = timedelta(minutes=30)
PIPELINE = 25  # a claim per channel, in multiples of its concurrency (4 connections: ledger.batch, 100)
MARK_PATIENCE = 120.0  # seconds an outcome waits for an unreachable ledger before its pass fails
Clock = Callable[[], datetime]
P = ParamSpec("P")
T = TypeVar("T")


@dataclass
class Tally:
    """What one pass did, for logs, metrics and the CLI."""

    decided: int = 0
    skipped: int = 0
    sent: int = 0
    failed: int = 0
    retrying: int = 0
    abandoned: int = 0  # claimed, but not sent: the lease could have run out first
    pushed: int = 0  # of those sent, writes into pushed calendars (recorded from windows, not decided)


@dataclass
class Hold:
    """The claims of one batch being sent: until when (on :func:`elapsed`) a send may start, those
    not done yet (renewed while they wait or send), those another replica took over, those given back."""

    deadline: float
    open: dict[tuple[str, str, str], Delivery]
    lost: set[tuple[str, str, str]] = field(default_factory=set)
    late: list[Delivery] = field(default_factory=list)

    def done(self, d: Delivery, written: asyncio.Future[bool] | None = None) -> None:
        """Given a delivery that was not attempted, or whose outcome was ``written`` (or failed to
        be), renew its claim no more."""
        self.open.pop(_ident(d), None)


def _ident(d: Delivery) -> tuple[str, str, str]:
    """Given a delivery, return what names it: key, recipient, channel."""
    return d.key, d.recipient, d.channel


def _width(channel: Channel) -> int:
    """Given a channel, return how many of its sends may be in flight at once (at least one)."""
    return max(channel.concurrency, 1)


def _fail(batch: list[tuple[Attempt, asyncio.Future[bool]]], exc: Exception) -> None:
    """Given outcomes that could not be written, hand ``exc`` to each one's wait (unless cancelled)."""
    for _, waiter in batch:
        if not waiter.done():
            waiter.set_exception(exc)


def _count(written: asyncio.Future[bool], d: Delivery, state: str, tally: Tally) -> None:
    """Once the outcome ``state`` of ``d`` is written, count it in ``tally``; say so if the claim
    was lost (another replica holds it: the outcome is not recorded)."""
    if written.cancelled() or written.exception() is not None:
        return
    if not written.result():
        log.warning("delivery of %s to %s: the claim was lost (lease expired); its outcome is not recorded",
                    d.key, d.recipient)
    elif state == "sent":
        tally.sent += 1
        tally.pushed += d.channel == PUSH_CHANNEL
    elif state == "failed":
        tally.failed += 1
    else:
        tally.retrying += 1


def elapsed() -> float:
    """Return seconds on a clock that only goes forward and counts suspend and SIGSTOP (leases)."""
    return time.clock_gettime(getattr(time, "CLOCK_BOOTTIME", time.CLOCK_MONOTONIC))


def node_name() -> str:
    """Return this process's default name as a sender: host name and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def first_notices(told: Sequence[Entry], channel: Channel) -> dict[str, str]:
    """Given the ledger's sent announcements and reschedules of one window, return for each recipient
    on the channel the id of the first one it carried to them (what later messages reply to)."""
    out: dict[str, str] = {}
    for e in sorted(told, key=lambda e: e.updated or e.decided_at):
        msgid = channel.message_id(e.key, e.recipient) if e.channel == channel.name and e.recipient else None
        if msgid:
            out.setdefault(str(e.recipient), msgid)
    return out


def backoff(attempts: int, base: timedelta) -> timedelta:
    """Given how many attempts failed, return the wait before the next one (doubling, capped)."""
    factor: int = 2 ** max(attempts - 1, 0)
    return min(base * factor, MAX_BACKOFF)


def lookback(config: Config, last_run: str | None, now: datetime) -> datetime:
    """Given the config, the last pass's time (or None) and ``now``, return the earliest due time
    worth looking at: the last pass, but no later than the longest late_limit ago and no earlier
    than thirty days ago."""
    late = config.longest_late_limit
    since = datetime.fromisoformat(last_run) if last_run else now - late
    return max(min(since, now - late), now - LOOKBACK_CAP)


def _wait(d: Delivery, outcome: Outcome, base: timedelta) -> timedelta:
    """The wait before the next attempt: doubling, but never shorter than the server asked."""
    wait = backoff(d.attempts + 1, base)
    return max(wait, timedelta(seconds=outcome.retry_after)) if outcome.retry_after else wait


class Built(NamedTuple):
    """What a config needs made before it can be current: its templates, its channels, and the key
    that signs its confirmation links (None: no audience acknowledges)."""

    env: Templates
    channels: dict[str, Channel]
    key: bytes | None


class Current(NamedTuple):
    """What a notifier works with: the config, what was built for it, and its revisions."""

    config: Config
    built: Built
    revisions: dict[str, Revision]


class Notifier:
    """The ledger, the channels and the templates of the current config, and what to do with them."""

    def __init__(self, config: Config, ledger: Ledger, directory: str, clock: Clock, owner: str | None = None) -> None:
        self.ledger, self.directory, self.host_clock = ledger, directory, clock
        self.skew = timedelta(0)  # the ledger's clock minus this host's, as last measured (:meth:`measure`)
        self.owner = owner or node_name()
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="ledger")
        self.config = config
        self.env, self.channels, self.key = self.build(config)
        self.revisions: dict[str, Revision] = {}
        self.marks: list[tuple[Attempt, asyncio.Future[bool]]] = []
        self.writer: asyncio.Future[None] | None = None
        self.handed = self.settled = 0  # outcomes queued to be written, and those whose write is over
        self.barriers: list[tuple[int, asyncio.Future[None]]] = []  # claims waiting for outcomes (:meth:`_written`)
        self.health: Callable[[LedgerError | None], None] = lambda error: None
        self.pumps: dict[str, asyncio.Task[None]] = {}  # one sending loop per channel
        self.again: set[str] = set()  # channels kicked while their loop ran
        self.sending: dict[asyncio.Future[None], Channel] = {}  # batches in flight
        self.retiring: set[asyncio.Task[None]] = set()
        self.stopping = False
        self.version = ""  # this program's version, for the heartbeat (set by :meth:`heartbeat`)
        self.outdated = False  # peers run a config first loaded after this one's: record nothing (:meth:`_judge`)

    @classmethod
    def open(cls, config: Config, directory: str, clock: Clock, ledger_url: str | None = None,
             owner: str | None = None) -> Notifier:
        """Given a config and the state directory, return a notifier on the ledger at ``ledger_url``
        (default: SQLite in the state directory); raise LedgerError or CredentialError."""
        ledger = open_ledger(ledger_url or default_url(directory))
        try:
            return cls(config, ledger, directory, clock, owner)
        except BaseException:
            ledger.close()
            raise

    def build(self, config: Config) -> Built:
        """Given a config, return its templates, channels and signing key (every secret it names read
        now, so that a reload with one unreadable is refused whole, and a refused one changes
        nothing); raise CredentialError."""
        for _, source in named(config):
            secret(*source)
        where = config.ack_key
        key = None if where is None else acks.signing_key(secret(where.key_file, where.key_env,
                                                                 where.key_credential) or "")
        env = templates(config.templates)
        channels = make_channels(config, env, self.directory, lambda: int(self.clock().timestamp() * 1000))
        for channel in channels.values():
            if isinstance(channel, CalendarChannel):  # what its writes got back lives in the ledger
                channel.memo = LedgerMemo(lambda name: self.db(self.ledger.get_meta, name),
                                          lambda name, value: self.db(self.ledger.set_meta, name, value))
        return Built(env, channels, key)

    def clock(self) -> datetime:
        """Return the present instant on the ledger's clock: this host's, corrected by the skew last
        measured. Every time that decides whether a delivery is due, expired or may be retried is
        read here, so replicas whose clocks differ decide alike."""
        return self.host_clock() + self.skew

    async def measure(self) -> timedelta:
        """Read the ledger's clock; remember and return how far ahead of this host's it is (zero when
        the ledger has no clock of its own), taken at the midpoint of the round trip."""
        before = self.host_clock()
        theirs = await self.db(self.ledger.now)
        after = self.host_clock()
        self.skew = theirs - (before + (after - before) / 2) if theirs is not None else timedelta(0)
        return self.skew

    async def db(self, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run one ledger call on the ledger's own thread, off the event loop; tell ``self.health``
        whether the ledger answered (None) or not (the LedgerError, raised too)."""
        try:
            result = await asyncio.get_running_loop().run_in_executor(self.executor, lambda: func(*args, **kwargs))
        except LedgerError as exc:
            self.health(exc)
            raise
        self.health(None)
        return result

    async def close(self) -> None:
        """Give up this sender's claims, close the channels and the ledger."""
        await self.halt(0)
        await asyncio.gather(*self.retiring, return_exceptions=True)
        await close_all(self.channels)
        try:
            await self.db(self.ledger.release, self.owner)
            await self.db(self.ledger.leave, self.owner)
        except LedgerError as exc:
            log.warning("could not give up this replica's claims (they expire with their lease): %s", exc)
        await self.db(self.ledger.close)
        self.executor.shutdown(wait=True)

    async def recover(self) -> None:
        """Measure the ledger's clock; on a ledger only this process uses, give up the claims a
        killed predecessor left."""
        await self.measure()
        if not self.ledger.shared:
            await self.db(self.ledger.release)

    # --- the config ----------------------------------------------------------------------------

    async def reload(self, config: Config, built: Built | None = None,
                     candidates: Sequence[Reminder] = ()) -> Tally:
        """Make ``config`` current (with channels from :meth:`build`, if given): store its revisions,
        record its lifecycle notices (and the due ``candidates``), then remember its schedules.

        Notices are recorded before the schedules: a crash in between finds the same notices (same
        keys) again, never loses them. On a first start (empty ledger) the windows already in the
        config are taken as announced by whatever was used before. If the ledger refuses, the
        previous config stays current and nothing is recorded."""
        previous = self.swap(config, built)
        try:
            tally = await self.accept(candidates)
        except BaseException:
            self.restore(previous)
            raise
        self.retire(previous.built.channels)
        return tally

    def swap(self, config: Config, built: Built | None = None) -> Current:
        """Make ``config`` (and what was built for it) current in memory only; return what was, for
        :meth:`restore`."""
        previous = Current(self.config, Built(self.env, self.channels, self.key), self.revisions)
        self.config, (self.env, self.channels, self.key) = config, built or previous.built
        return previous

    def restore(self, previous: Current) -> None:
        """Make ``previous`` current again (a reload that failed); close the channels it replaced."""
        dropped = self.channels
        self.config, (self.env, self.channels, self.key), self.revisions = previous
        self.retire(dropped)

    def retire(self, old: dict[str, Channel]) -> None:
        """Close replaced channels (unless still current) once their sends in flight are done."""
        if old is not self.channels:
            retiring = asyncio.ensure_future(self._retire(old))
            self.retiring.add(retiring)
            retiring.add_done_callback(self.retiring.discard)

    async def accept(self, candidates: Sequence[Reminder] = (), now: datetime | None = None) -> Tally:
        """In one ledger transaction: the current config's revisions, notices (and due ``candidates``)
        and schedules; raise LedgerError (nothing recorded)."""
        return await self.db(self._accept, self.config, now or self.clock(), list(candidates))

    def _accept(self, config: Config, now: datetime, candidates: list[Reminder]) -> Tally:
        with self.ledger.exclusive():  # replicas reloading at once: one after the other, one set of notices
            return self._accept_alone(config, now, candidates)

    def _accept_alone(self, config: Config, now: datetime, candidates: list[Reminder]) -> Tally:
        ledger = self.ledger
        self.revisions = revise_all(config, ledger.revisions(), now)
        if ledger.shared:
            if ledger.get_meta(f"config-seen:{config.digest}") is None:
                ledger.set_meta(f"config-seen:{config.digest}", now.isoformat())
            self._judge(config.digest, ledger.heartbeat(self.owner, config.digest, self.version, self.stale()))
            if self.outdated:
                return Tally()  # the newest config's notices, revisions and schedules stay as they are
        ledger.save_revisions(self.revisions.values())
        marker = os.path.join(self.directory, "initialized")
        if ledger.get_meta("initialized") is None:
            if os.path.exists(marker):
                log.warning("THE LEDGER IS NEW, but this state directory had one (%s exists): it was deleted or "
                            "replaced. Starting as on a first start: windows are taken as announced, and "
                            "deliveries it recorded as made may be repeated or lost", marker)
            log.info("first start: %s taken as already announced", plural(len(config.windows), "window"))
            notices: list[Notification] = []
        else:
            notices = changes(config, ledger.schedules(), now)
        tally = self._record(now, candidates, notices)
        ledger.save_schedules({w.id: Schedule.of(w) for w in config.windows})
        ledger.set_meta("initialized", "1")
        if not os.path.exists(marker):
            try:
                with open(marker, "w", encoding="utf-8") as handle:  # says "a ledger lived here" if it vanishes
                    handle.write(f"{now.isoformat()}\n")
            except OSError as exc:
                log.warning("cannot write %s: %s", marker, exc.strerror)
        if tally.decided:
            log.info("%s to send", plural(tally.decided, "notification"))
        return tally

    def _record_pushes(self, config: Config, now: datetime) -> None:
        """Record the writes that bring every pushed calendar in step with ``config`` at ``now`` (what
        changed since the last pass: an edit, a window that left a calendar or aged out of it)."""
        for target in config.calendars.values():
            held = load_held(self.ledger.get_meta(index_name(target.name)))
            decisions, rows, index = pushes(config, target, self.revisions, held, now)
            if rows:  # an unchanged calendar costs a read, not a write, on every pass
                self.ledger.record(decisions, rows, now)
                self.ledger.set_meta(index_name(target.name), dump_held(index))

    # --- a pass --------------------------------------------------------------------------------

    async def since(self, now: datetime) -> datetime:
        """Given ``now``, return the earliest due time this pass should look at."""
        return lookback(self.config, await self.db(self.ledger.get_meta, "last_run"), now)

    async def plan(self, until: timedelta) -> list[Reminder]:
        """Return the reminders due from the lookback until ``until`` from now (planned off the loop)."""
        now = self.clock()
        return await asyncio.to_thread(plan, self.config, await self.since(now), now + until)

    async def record(self, candidates: Iterable[Reminder], late_at: datetime | None = None) -> Tally:
        """Decide which of ``candidates`` are due now, render and record them; ``late_at``: when the
        first of the failed passes before this one ran (lateness is measured then)."""
        return await self.db(self._record, self.clock(), list(candidates), [], late_at)

    def _record(self, now: datetime, candidates: list[Reminder], notices: list[Notification],
                late_at: datetime | None = None) -> Tally:
        with self.ledger.exclusive():  # what a peer decided meanwhile is seen, not decided again
            return self._record_alone(now, candidates, notices, late_at)

    def _record_alone(self, now: datetime, candidates: list[Reminder], notices: list[Notification],
                      late_at: datetime | None = None) -> Tally:
        if self.outdated:
            return Tally()  # the replica on the newest config decides
        due = [r for r in candidates if r.due <= now]
        reminders, skips = decide(due, self.ledger.decided(r.key for r in due), now, late_at)
        reminders, settled = self.escalations(reminders)
        skips += settled
        everything = notices + reminders
        rows = [row for notification in everything for row in self.deliveries(notification, now)]
        self.ledger.record([*(n.decision() for n in everything), *skips], rows, now)
        self._record_pushes(self.config, now)
        self.ledger.set_meta("last_run", now.isoformat())
        for skip in skips:
            log.info("skipped %s: %s", skip.key, skip.reason)
        return Tally(decided=len(everything), skipped=len(skips))

    def deliveries(self, notification: Notification, now: datetime) -> list[Delivery]:
        """Given a notification, return its pending deliveries on every channel, payloads rendered
        (each with its own confirmation link for the recipients who acknowledge it)."""
        revision = self.revisions.get(notification.window.id)
        told = [e for e in self.ledger.history(notification.window.id)
                if e.state == "sent" and e.kind in (Kind.ANNOUNCED, Kind.RESCHEDULED)]
        out = []
        for channel in self.channels.values():
            people = channel.recipients(notification.audiences or notification.window.audiences)
            asked = self.asked(notification, channel.name, people)
            threads = first_notices(told, channel)
            bodies = channel.render(notification, [p for p in people if p not in asked], now, revision, threads) \
                if len(asked) < len(people) else {}
            if asked:
                bodies.update(channel.render(notification, list(asked), now, revision, threads, asked))
            out += [Delivery(notification.key, person, channel.name, "pending", 0, None,
                             channel.message_id(notification.key, person), bodies[person], notification.expires, now)
                    for person in people]
        return out

    def escalations(self, notifications: list[Notification]) -> tuple[list[Notification], list[Decision]]:
        """Given what is to be sent (inside the recording's exclusive block, so replicas agree), return
        it with every escalation naming who has not acknowledged, and the escalations to skip because
        everyone has."""
        keep, skip = [], []
        for n in notifications:
            if n.kind is not Kind.ESCALATED or n.occurrence is None:
                keep.append(n)
                continue
            who = acks.missing(self.config, n.window, n.occurrence.key, self.ledger.acknowledgements(n.window.id))
            if who:
                keep.append(replace(n, missing=tuple(recipient for _, recipient in who)))
            else:
                skip.append(Decision(n.key, n.window.id, n.kind, n.due, "everyone acknowledged"))
        return keep, skip

    def asked(self, notification: Notification, channel: str, people: list[str]) -> dict[str, str]:
        """Given a reminder and its recipients on a channel, return, for those who acknowledge it,
        their own signed link."""
        key, occurrence = self.key, notification.occurrence
        if key is None or occurrence is None or not notification.kind.is_reminder:
            return {}
        askers = acks.askers(self.config, notification.window, notification.kind, channel)
        return {person: acks.link(self.config, acks.sign(key, acks.ticket(occurrence, person, channel)))
                for person in people if acks.who(channel, person) in askers}

    async def deliver(self, tally: Tally) -> None:
        """Attempt every pending delivery due now, each channel in its own loop of bounded batches;
        return when no channel has anything due left (or the notifier is stopping)."""
        await asyncio.gather(*self.kick(tally))

    def kick(self, tally: Tally) -> list[asyncio.Task[None]]:
        """Make sure every channel's sending loop runs (one per channel: a slow channel delays no
        other, and a loop that is running looks again before it stops); return the loops."""
        for name in self.channels:
            running = self.pumps.get(name)
            if running is not None and not running.done():
                self.again.add(name)
            else:
                self.pumps[name] = asyncio.ensure_future(self._pump(name, tally))
        return list(self.pumps.values())

    async def _pump(self, name: str, tally: Tally) -> None:
        """Claim up to PIPELINE × ``concurrency`` due deliveries of channel ``name`` and send them,
        ``concurrency`` at once; repeat until nothing is due. The next batch is claimed while the
        last round of the one before is still sending, and its senders take over the connections as
        those finish (never more than ``concurrency`` in flight, in order), so the connections never
        wait for a claim. On a shared ledger a claim is taken on the database's clock and renewed every
        quarter lease while its batch sends (:meth:`_renew`); a delivery is sent only while at least
        half its lease is left (at least one send's timeout: the config refuses a shorter lease), else
        it is given back for whoever holds it next. A claim waits until the outcomes queued before it
        are written (:meth:`_written`)."""
        options, shared = self.config.ledger, self.ledger.shared
        channel = self.channels.get(name)
        if channel is None:
            return
        slots = asyncio.Semaphore(_width(channel))  # held by the senders of every batch
        running: set[asyncio.Task[None]] = set()
        try:
            while not self.stopping:
                self.again.discard(name)
                channel = self.channels.get(name)
                if channel is None:
                    break
                width = _width(channel)
                await self._written()
                start = elapsed()
                claimed = await self.db(self.ledger.claim, self.owner, None if shared else self.clock(),
                                        options.lease, limit=min(width * PIPELINE, options.batch), channel=name)
                if not claimed:
                    if name in self.again:
                        continue
                    break
                hold = Hold(start + options.lease.total_seconds() / 2 if shared else float("inf"),
                            {_ident(d): d for d in claimed})
                channel = self.channels.get(name, channel)  # a reload may have replaced it meanwhile
                low: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                batch = asyncio.ensure_future(self._batch(claimed, channel, slots, tally, hold, low))
                running.add(batch)
                batch.add_done_callback(running.discard)
                await asyncio.wait([batch, low], return_when=asyncio.FIRST_COMPLETED)
                if batch.done():
                    batch.result()  # what the writing of its outcomes raised
            await asyncio.gather(*running)
        finally:
            for unfinished in running:
                unfinished.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    async def _batch(self, claimed: list[Delivery], channel: Channel, slots: asyncio.Semaphore, tally: Tally,
                     hold: Hold, low: asyncio.Future[None]) -> None:
        """Send one claimed batch (:meth:`_send_all`), its claims renewed meanwhile on a shared ledger;
        then give back those that were not sent in time."""
        lease = self.config.ledger.lease
        sending = asyncio.ensure_future(self._send_all(claimed, channel, slots, tally, hold, low))
        renewer = asyncio.ensure_future(self._renew(hold, lease)) if self.ledger.shared else None
        self.sending[sending] = channel
        try:
            await sending
        finally:
            del self.sending[sending]
            if renewer is not None:
                renewer.cancel()
                await asyncio.gather(renewer, return_exceptions=True)
        if hold.late:  # given back at once, unless another replica holds them already (fencing)
            await self.db(self.ledger.release, self.owner, hold.late)
            log.warning("%d claimed deliveries not sent in time (their lease could have run out: a pause, the "
                        "ledger unreachable?); given back, unless another replica holds them already",
                        len(hold.late))

    async def _renew(self, hold: Hold, lease: timedelta) -> None:
        """Every quarter ``lease``, renew the claims of ``hold`` not yet done (fenced, on the ledger's
        clock), so a send slower than the lease stays this replica's; move the time until which a
        send may start, and drop the claims another replica holds now. Runs until cancelled."""
        while True:
            await asyncio.sleep(lease.total_seconds() / 4)
            held = list(hold.open.values())
            if not held:
                continue
            asked = elapsed()
            try:
                kept = await self.db(self.ledger.renew, held, lease)
            except LedgerError as exc:
                log.warning("cannot renew %d claims (no send starts once half their lease is gone): %s",
                            len(held), exc)
                continue
            hold.deadline = asked + lease.total_seconds() / 2
            for d, ok in zip(held, kept, strict=True):
                if not ok:
                    hold.done(d)
                    hold.lost.add(_ident(d))

    async def _send_all(self, claimed: list[Delivery], channel: Channel, slots: asyncio.Semaphore, tally: Tally,
                        hold: Hold, low: asyncio.Future[None]) -> None:
        """Send ``claimed`` through as many senders as ``slots`` allows, each taking the next delivery
        once its last send is done (its outcome is written behind it, while the next one goes out);
        settle ``low`` once a round of sends is all that is left. Return when every outcome is written
        (raise what the writing raised)."""
        todo = collections.deque(claimed)
        written: list[asyncio.Future[bool]] = []
        width = _width(channel)

        async def sender() -> None:
            async with slots:
                while todo:
                    d = todo.popleft()
                    if len(todo) <= width and not low.done():
                        low.set_result(None)
                    outcome = await self._attempt(d, channel, tally, hold)
                    if outcome is None:
                        hold.done(d)
                    else:  # renewed until written: a peer takes over no outcome still in memory
                        outcome.add_done_callback(functools.partial(hold.done, d))
                        written.append(outcome)

        try:
            await asyncio.gather(*(sender() for _ in range(min(width, len(todo)))))
        finally:
            if not low.done():
                low.set_result(None)
        await asyncio.gather(*written)

    async def _attempt(self, d: Delivery, channel: Channel, tally: Tally, hold: Hold) -> asyncio.Future[bool] | None:
        """Make one attempt of ``d`` unless it must not be made now; return its outcome's write
        (:meth:`_mark`), or None when nothing is written (left claimed, or given back)."""
        if self.stopping or _ident(d) in hold.lost:
            return None  # left claimed: released at close, sent by the next start; or another's now
        if elapsed() > hold.deadline:
            tally.abandoned += 1
            hold.late.append(d)
            return None
        if self.clock() >= d.expires:
            return self._mark(d, "failed", f"expired before it could be delivered ({d.last_error})", tally)
        outcome = await channel.send(d.recipient, d.payload or b"")
        retry_at = self.clock() + _wait(d, outcome, channel.retry_base(d.recipient))
        if outcome.ok:
            return self._mark(d, "sent", None, tally)
        if outcome.temporary and retry_at < d.expires:
            log.warning("delivery of %s to %s will be retried: %s", d.key, d.recipient, outcome.error)
            return self._mark(d, "pending", outcome.error, tally, retry_at)
        log.error("delivery of %s to %s failed: %s", d.key, d.recipient, outcome.error)
        return self._mark(d, "failed", outcome.error, tally)

    async def _retire(self, old: dict[str, Channel]) -> None:
        """Close replaced channels once the batches still sending through them are done."""
        using = [batch for batch, channel in self.sending.items() if channel in old.values()]
        await asyncio.gather(*using, return_exceptions=True)
        await close_all(old)

    async def halt(self, grace: float) -> int:
        """Stop claiming; wait up to ``grace`` seconds for the sends in flight, then cancel the rest
        (they stay claimed, are released at close and sent again by the next start); return how
        many batches were cancelled."""
        self.stopping = True
        pumps = [p for p in self.pumps.values() if not p.done()]
        if not pumps:
            return 0
        _, late = await asyncio.wait(pumps, timeout=grace)
        for pump in late:
            pump.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        return len(late)

    def _mark(self, d: Delivery, state: str, error: str | None, tally: Tally,
              retry_at: datetime | None = None) -> asyncio.Future[bool]:
        """Queue one outcome to be written (outcomes that arrive together go in one transaction);
        return the future of its write: whether the claim still held (counted in ``tally`` then)."""
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.marks.append((Attempt(d, state, self.clock(), error, retry_at), waiter))
        self.handed += 1
        if self.writer is None or self.writer.done():
            self.writer = asyncio.ensure_future(self._write_marks())
        waiter.add_done_callback(lambda w: _count(w, d, state, tally))
        return waiter

    async def _write_marks(self) -> None:
        """Write the waiting outcomes; while the ledger is unreachable, keep them and retry (with
        backoff, for MARK_PATIENCE), so that an outage of the database sends nothing twice."""
        wait, since = 0.2, elapsed()
        while self.marks:
            batch, self.marks = self.marks, []
            try:
                held = await self.db(self.ledger.mark, [attempt for attempt, _ in batch])
            except LedgerError as exc:
                if elapsed() - since < MARK_PATIENCE:
                    log.warning("ledger unreachable, %d outcomes kept to record in %.1f s: %s", len(batch), wait, exc)
                    self.marks = batch + self.marks
                    await asyncio.sleep(wait)
                    wait = min(wait * 2, 5.0)
                    continue
                _fail(batch, exc)
            except Exception as exc:  # noqa: BLE001 - handed to every waiter of the batch
                _fail(batch, exc)
            else:
                for (_, waiter), ok in zip(batch, held, strict=True):
                    if not waiter.done():  # a batch cancelled while it waited for its outcomes (halt)
                        waiter.set_result(ok)
            self.settled += len(batch)
            ready = [barrier for upto, barrier in self.barriers if upto <= self.settled]
            self.barriers = [(upto, barrier) for upto, barrier in self.barriers if upto > self.settled]
            for barrier in ready:
                if not barrier.done():  # its claim was cancelled meanwhile
                    barrier.set_result(None)

    async def _written(self) -> None:
        """Return once every outcome queued so far is written (or given up). A claim waits for it: after
        an outage or a pause the lease of a delivery this process sent may have run out, and a claim
        made before its outcome is written would take it back and send it again."""
        if self.settled < self.handed:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self.barriers.append((self.handed, waiter))
            await waiter

    async def heartbeat(self, version: str) -> list[Peer]:
        """Store this replica's heartbeat; return the replicas seen lately (a few polls), itself included."""
        self.version = version
        peers = await self.db(self.ledger.heartbeat, self.owner, self.config.digest, version, self.stale())
        if self.ledger.shared:
            await self.db(self._judge, self.config.digest, peers)
        return peers

    def stale(self) -> timedelta:
        """Return how long a replica that sent no heartbeat still counts as running (a few polls)."""
        return self.config.ledger.poll * 3 + timedelta(seconds=10)

    def _judge(self, digest: str, peers: Sequence[Peer]) -> None:
        """Given this replica's config hash and the replicas running, set :attr:`outdated`: True when
        another runs a config first loaded (by any replica) after this one's, so that only replicas
        on the newest config record notices and reminders; say so in the log when it changes."""
        hashes = {p.config_hash for p in peers} | {digest}
        seen = {h: self.ledger.get_meta(f"config-seen:{h}") or "" for h in hashes}
        newest = max(hashes, key=lambda h: (datetime.fromisoformat(seen[h]) if seen[h] else datetime.min.replace(
            tzinfo=UTC), h))
        outdated = digest != newest
        if outdated and not self.outdated:
            log.warning("this replica's config %s is older than %s, which other replicas run: it records no notices "
                        "or reminders until it runs that one too (it still sends what is recorded)",
                        digest[:12], newest[:12])
        elif self.outdated and not outdated:
            log.info("this replica runs the newest config again (%s): it records notices and reminders", digest[:12])
        self.outdated = outdated

    async def next_try(self) -> datetime | None:
        """Return when the earliest pending delivery is due for its next try, or None."""
        return min(await self.db(self.ledger.next_tries), default=None)

    async def run_once(self, retry_for: timedelta = timedelta(minutes=2)) -> Tally:
        """Decide and deliver what is due now (notices of changes included); keep retrying temporary
        failures for ``retry_for``."""
        await self.recover()
        candidates = await self.plan(timedelta(microseconds=1))
        tally = await self.reload(self.config, candidates=candidates)
        deadline = self.clock() + retry_for
        while True:
            tally.retrying = 0
            await self.deliver(tally)
            wake = await self.next_try()
            if wake is None:
                break
            if wake > deadline:
                tally.retrying = len(await self.db(self.ledger.next_tries))
                break
            await asyncio.sleep(max((wake - self.clock()).total_seconds(), 0.05))
        return tally

    async def send_now(self, notification: Notification, channel: str, recipient: str) -> Outcome:
        """Given a notification, a channel and a recipient, render and send it now, outside the
        ledger (``send-test``): the same bytes a real delivery of it would carry."""
        chosen = self.channels[channel]
        payload = chosen.render(notification, [recipient], self.clock(), None)[recipient]
        return await chosen.send(recipient, payload)

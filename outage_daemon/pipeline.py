"""One pass of the notifier: decide what is due, record it in the ledger, deliver, retry.

The shell around :mod:`outage_daemon.dispatcher`. ``now`` comes from the caller's clock; the
ledger makes every step restartable: a delivery is recorded as pending before it is attempted and
marked sent only after the server accepted it, so a crash loses nothing and repeats at most what
was in flight.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from outage_daemon.channels import webhooks
from outage_daemon.channels.email.message import Templates, message_id, payloads, templates
from outage_daemon.channels.transports import Outcome, Sender, envelope
from outage_daemon.core.decide import Schedule, Send, changes, decide
from outage_daemon.core.model import Config
from outage_daemon.core.planner import Reminder, plan
from outage_daemon.core.revisions import Revision, revise_all
from outage_daemon.ledger.sqlite import Delivery, Ledger

log = logging.getLogger("outage_daemon")

LOOKBACK_CAP = timedelta(days=30)
MAX_BACKOFF = timedelta(minutes=30)
Clock = Callable[[], datetime]


@dataclass
class Tally:
    """What one pass did, for logs, metrics and the CLI."""

    decided: int = 0
    skipped: int = 0
    sent: int = 0
    failed: int = 0
    retrying: int = 0


def hooks_of(config: Config, audiences: tuple[str, ...]) -> list[str]:
    """Given audience names, return the names of their webhooks, each once, in order."""
    return list(dict.fromkeys(h for name in audiences if name in config.audiences
                              for h in config.audiences[name].webhooks))


def recipients(config: Config, audiences: tuple[str, ...]) -> list[str]:
    """Given audience names, return their email addresses, each bare address once, in order."""
    seen: dict[str, str] = {}
    for name in audiences:
        audience = config.audiences.get(name)
        for address in audience.emails if audience else ():
            seen.setdefault(envelope(address).lower(), address)
    return list(seen.values())


def revisions_for(config: Config, ledger: Ledger, now: datetime) -> dict[str, Revision]:
    """Given a freshly loaded config, return (and store) every window's feed revision."""
    revisions = revise_all(config, ledger.revisions(), now)
    ledger.save_revisions(revisions.values())
    return revisions


def notices(config: Config, ledger: Ledger, now: datetime) -> list[Send]:
    """Given a freshly loaded config, return its lifecycle notices (none on a first start: the
    windows already in the config are taken as announced by whatever was used before)."""
    if ledger.get_meta("initialized") is None:
        log.info("first start: %d windows taken as already announced", len(config.windows))
        return []
    return changes(config, ledger.schedules(), now)


def accept(config: Config, ledger: Ledger, now: datetime, env: Templates,
           candidates: list[Reminder]) -> tuple[dict[str, Revision], Tally]:
    """Given a freshly loaded config, store its revisions, record its lifecycle notices (and the
    due ``candidates``), then remember its schedules; return the revisions and what was decided.

    Notices are recorded before the schedules: a crash in between finds the same notices (same
    keys) again, never loses them."""
    revisions = revisions_for(config, ledger, now)
    tally = record(config, ledger, now, env, revisions, notices(config, ledger, now), candidates)
    ledger.save_schedules({w.id: Schedule.of(w) for w in config.windows})
    ledger.set_meta("initialized", "1")
    return revisions, tally


def lookback(config: Config, ledger: Ledger, now: datetime) -> datetime:
    """Return the earliest due time worth looking at: the last pass, but no later than the
    longest late_limit ago and no earlier than thirty days ago."""
    late = max((w.notify.late_limit.approx for w in config.windows if w.notify), default=timedelta(0))
    last_run = ledger.get_meta("last_run")
    since = datetime.fromisoformat(last_run) if last_run else now - late
    return max(min(since, now - late), now - LOOKBACK_CAP)


def record(config: Config, ledger: Ledger, now: datetime, env: Templates, revisions: Mapping[str, Revision],
           sends: list[Send], candidates: list[Reminder]) -> Tally:
    """Decide which of ``candidates`` (reminders due by ``now``) to send, and record those and
    ``sends`` (notices) in the ledger with a pending delivery per recipient."""
    reminders, skips = decide(candidates, ledger.decided(r.key for r in candidates), now)
    everything = sends + reminders
    batch = []
    for send in everything:
        people = recipients(config, send.window.audiences)
        bodies = payloads(send, config, people, now, env, revisions.get(send.window.id))
        rows = [Delivery(send.key, address, "email", "pending", 0, None,
                         message_id(send.key, address, config.calendar.domain), bodies[address], send.expires, now)
                for address in people]
        rows += [Delivery(send.key, name, "webhook", "pending", 0, None, None,
                          webhooks.payload(config.webhooks[name].kind, send, config, env), send.expires, now)
                 for name in hooks_of(config, send.window.audiences)]
        batch.append((send.key, send.window.id, send.kind, send.due, rows))
    ledger.record(batch, skips, now)
    ledger.set_meta("last_run", now.isoformat())
    for skip in skips:
        log.info("skipped %s: %s", skip.key, skip.reason)
    return Tally(decided=len(everything), skipped=len(skips))


def backoff(attempts: int, base: timedelta) -> timedelta:
    """Given how many attempts failed, return the wait before the next one (doubling, capped)."""
    factor: int = 2 ** max(attempts - 1, 0)
    return min(base * factor, MAX_BACKOFF)


def retry_base(config: Config, d: Delivery) -> timedelta:
    """Given a delivery, return its channel's first wait after a temporary failure."""
    if d.channel == "webhook" and d.recipient in config.webhooks:
        return config.webhooks[d.recipient].retry.approx
    return config.email.smtp.retry.approx if config.email.smtp else timedelta(seconds=30)


async def deliver(config: Config, ledger: Ledger, transports: Mapping[str, Sender], clock: Clock,
                  tally: Tally) -> None:
    """Attempt every pending delivery due for a try now, each channel ("email", "webhook") through
    its transport, at most ``transport.concurrency`` at once."""
    gates = {name: asyncio.Semaphore(max(t.concurrency, 1)) for name, t in transports.items()}

    async def one(d: Delivery) -> None:
        transport = transports.get(d.channel)
        if transport is None:
            ledger.mark(d, "failed", clock(), f"no transport for {d.channel}")
            tally.failed += 1
            return
        async with gates[d.channel]:
            if clock() >= d.expires:
                ledger.mark(d, "failed", clock(), f"expired before it could be delivered ({d.last_error})")
                tally.failed += 1
                return
            outcome = await transport.send(config.email.sender, d.recipient, d.payload or b"")
            now = clock()
            retry_at = now + _wait(d, outcome, retry_base(config, d))
            if outcome.ok:
                ledger.mark(d, "sent", now)
                tally.sent += 1
            elif outcome.temporary and retry_at < d.expires:
                ledger.mark(d, "pending", now, outcome.error, retry_at)
                tally.retrying += 1
                log.warning("delivery of %s to %s will be retried: %s", d.key, d.recipient, outcome.error)
            else:
                ledger.mark(d, "failed", now, outcome.error)
                tally.failed += 1
                log.error("delivery of %s to %s failed: %s", d.key, d.recipient, outcome.error)

    await asyncio.gather(*(one(d) for d in ledger.pending(clock())))


def _wait(d: Delivery, outcome: Outcome, base: timedelta) -> timedelta:
    """The wait before the next attempt: doubling, but never shorter than the server asked."""
    wait = backoff(d.attempts + 1, base)
    return max(wait, timedelta(seconds=outcome.retry_after)) if outcome.retry_after else wait


async def run_once(config: Config, ledger: Ledger, transports: Mapping[str, Sender], clock: Clock,
                   retry_for: timedelta = timedelta(minutes=2)) -> Tally:
    """Decide and deliver what is due now; keep retrying temporary failures for ``retry_for``."""
    env, now = templates(config.templates), clock()
    candidates = plan(config, lookback(config, ledger, now), now + timedelta(microseconds=1))
    _, tally = accept(config, ledger, now, env, candidates)
    deadline = clock() + retry_for
    while True:
        tally.retrying = 0
        await deliver(config, ledger, transports, clock, tally)
        waiting = ledger.next_tries()
        if not waiting:
            break
        wake = min(waiting)
        if wake > deadline:
            tally.retrying = len(waiting)
            break
        await asyncio.sleep(max((wake - clock()).total_seconds(), 0.05))
    return tally

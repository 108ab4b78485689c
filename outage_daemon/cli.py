"""The command line: ``outage-daemon COMMAND``. The shell: the clock is read here, once per command.

Exit codes: 0 ok, 1 invalid config or failure, 2 usage.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import dataclasses
import errno
import gc
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from typing import IO
from zoneinfo import ZoneInfo

from outage_daemon.channels.base import Outcome
from outage_daemon.channels.calendar import CalendarChannel
from outage_daemon.channels.render import LATE
from outage_daemon.core import acks, addresses, i18n, timerules
from outage_daemon.core.checks import warnings
from outage_daemon.core.decide import Notification
from outage_daemon.core.errors import ConfigError, Problem
from outage_daemon.core.i18n import plural
from outage_daemon.core.kinds import Kind
from outage_daemon.core.model import Config, Occurrence, Window
from outage_daemon.core.planner import Reminder, plan
from outage_daemon.core.records import Entry, Schedule, SilenceAction
from outage_daemon.core.revisions import revise_all
from outage_daemon.core.schema import json_schema
from outage_daemon.credentials import CredentialError, named, place, secret
from outage_daemon.daemon import AlreadyRunning, lock, parse_listen, serve
from outage_daemon.formats import FORMATS, render_all
from outage_daemon.formats.google import expand
from outage_daemon.formats.graph import test_document as graph_test_document
from outage_daemon.formats.push import CHANNEL as PUSH_CHANNEL
from outage_daemon.formats.push import carried, test_document
from outage_daemon.ledger import LedgerError, default_url, is_shared, open_ledger, redact
from outage_daemon.loader import MAX_BYTES, load
from outage_daemon.notices import command as notice_command
from outage_daemon.pipeline import Notifier, Tally
from outage_daemon.publish import atomic_write
from outage_daemon.silencer import Db, Silencer

UTC = timerules.UTC


class UsageError(Exception):
    """Bad command-line input (exit 2)."""


class StartupError(Exception):
    """The daemon cannot start; the message is one line naming the thing and the fix (exit 1)."""


def startup_message(exc: OSError, listen: tuple[str, int], directory: str) -> str:
    """Given why starting failed, the HTTP address and the state directory, return one line that
    names the thing and the fix."""
    host, port = listen
    reason = exc.strerror or str(exc)
    if exc.errno == errno.EADDRINUSE:
        return (f"cannot listen on {host}:{port}: the port is in use by another process "
                f"(see which: ss -ltnp 'sport = :{port}'; or choose another with --listen HOST:PORT)")
    if exc.errno in (errno.EACCES, errno.EPERM) and exc.filename is None:
        return (f"cannot listen on {host}:{port}: {reason} (ports below 1024 need privileges: "
                "use --listen with a higher port)")
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {host}:{port}: this machine has no such address (use --listen 127.0.0.1:{port})"
    where = exc.filename or directory
    return (f"cannot use the state directory {directory} ({where}: {reason}): make it writable by this user, "
            "or choose another with --state-dir")


def wall_clock() -> datetime:
    """Return the present instant: the one place the command line reads the clock."""
    return datetime.now(UTC)


def parse_instant(text: str, tz: ZoneInfo, now: datetime | None = None) -> datetime:
    """Given ISO 8601 with Z or an offset, a local time in ``tz``, or (with ``now``) a duration
    meaning "from now", return the aware instant; raise UsageError."""
    try:
        return timerules.place(timerules.parse_when(text), tz)
    except timerules.TimeError as exc:
        if now is not None:
            try:
                return timerules.add_absolute(now, timerules.parse_duration(text).approx)
            except timerules.TimeError:
                pass
        raise UsageError(f"bad time {text!r}: {exc}") from exc


def _version() -> str:
    try:
        return version("outage-daemon")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def sources() -> Callable[[str], list[str] | None]:
    """Return a reader of config files' lines for error excerpts: each file read once (so printing
    many problems is linear in them), at most as much as the loader reads; None if unreadable."""
    texts: dict[str, list[str] | None] = {}

    def read(path: str) -> list[str] | None:
        if path not in texts:
            try:
                with open(path, "rb") as handle:
                    data = handle.read(MAX_BYTES + 1)
            except OSError:
                data = b""
            texts[path] = data.decode("utf-8-sig", errors="replace").splitlines() if len(data) <= MAX_BYTES else None
        return texts[path]

    return read


def print_problems(problems: Sequence[Problem], warning: bool = False) -> None:
    """Print problems compiler-style to stderr: location, message, source line, caret, hint."""
    read = sources()
    for problem in problems:
        quoted = problem.quote and problem.loc.line > 0  # a file's lines are read only to be shown
        print(problem.compiler(read(problem.loc.file) if quoted else None, warning), file=sys.stderr)


def cmd_check(args: argparse.Namespace, now: datetime) -> int:
    config = load(args.config)
    if args.now:
        now = parse_instant(args.now, config.tz)
    found = warnings(config, now)
    print_problems(found, warning=True)
    if args.secrets and not check_secrets(config):
        return 1
    if found and args.strict:
        print(f"{args.config}: {plural(len(found), 'warning')}, failing because of --strict",
              file=sys.stderr)
        return 1
    repeats = sum(1 for w in config.windows if w.rule is not None)
    print(f"{args.config}: OK — {plural(len(config.windows), 'window')} ({repeats} repeating), "
          f"{plural(len(config.audiences), 'audience')}, {plural(len(found), 'warning')}")
    return 0


def check_secrets(config: Config) -> bool:
    """Try to read every secret the config names (as this user, in this environment); print one line
    per secret: its config key, where it was looked for, and "readable" or why not (never the value).
    Return whether all were readable."""
    ok = True
    for key, source in named(config):
        try:
            secret(*source)
        except CredentialError as exc:
            print(f"{config.path}: {key}: {place(source)}: {exc}", file=sys.stderr)
            ok = False
        else:
            print(f"{config.path}: {key}: {place(source)}: readable")
    return ok


def reminder_json(r: Reminder) -> dict[str, object]:
    """Given a reminder, return its ``preview --json`` item (the fields are a contract)."""
    return {
        "window": r.window.id,
        "system": r.window.system,
        "kind": r.kind,
        "offset": r.offset.text if r.offset is not None else None,
        "due": r.due.isoformat(),
        "due_utc": r.due.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "occurrence": r.occurrence.start.isoformat(),
        "audiences": list(r.audiences),
        "key": r.key,
    }


def cmd_preview(args: argparse.Namespace, now: datetime) -> int:
    config = load(args.config)
    if args.now:
        now = parse_instant(args.now, config.tz)
    until = parse_instant(args.until, config.tz, now) if args.until else now + timedelta(days=30)
    if until <= now:
        raise UsageError("--until must be after --now")
    reminders = plan(config, now, until)
    if args.json:
        print(json.dumps([reminder_json(r) for r in reminders], ensure_ascii=False, indent=1))
        return 0
    rows = [("due (local)", "UTC", "window", "kind", "offset", "audiences")]
    for r in reminders:
        local = f"{r.due:%Y-%m-%d} {i18n.WEEKDAYS['en'][r.due.weekday()]} {r.due:%H:%M %Z}"
        rows.append((local, f"{r.due.astimezone(UTC):%Y-%m-%d %H:%MZ}", r.window.id, r.kind,
                     r.offset.text if r.offset else "-", ",".join(r.audiences) or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    print(f"{plural(len(reminders), 'reminder')} from {now.astimezone(config.tz):%Y-%m-%d %H:%M %Z} "
          f"to {until.astimezone(config.tz):%Y-%m-%d %H:%M %Z}")
    return 0


def state_dir(given: str | None) -> str:
    """Return the state directory: ``--state-dir``, else systemd's ``$STATE_DIRECTORY``, else state/."""
    if given:
        return given
    from_systemd = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    return from_systemd or "state"


def cmd_render(args: argparse.Namespace, now: datetime) -> int:
    config = load(args.config)
    if args.now:
        now = parse_instant(args.now, config.tz)
    ledger = open_ledger(ledger_url(args))
    try:
        with ledger.exclusive():  # replicas may be storing revisions too
            revisions = revise_all(config, ledger.revisions(), now)
            ledger.save_revisions(revisions.values())
    finally:
        ledger.close()
    private = {f"{f.name}.{fmt.extension}" for fmt in FORMATS for f in config.calendar.feeds if f.private}
    for filename, data in render_all(config, revisions, now).items():
        path = os.path.join(args.output, filename)
        mode = 0o600 if filename in private else 0o644  # a feed with a token: for its owner, not a web server
        changed = atomic_write(path, data, mode)
        os.chmod(path, mode)  # also when unchanged: a file an older version wrote 0644
        note = " (mode 0600: it has a token)" if filename in private else ""
        print(f"{path}: {len(data)} bytes{'' if changed else ' (unchanged)'}{note}")
    return 0


LEDGER_CREDENTIAL = "ledger-url"


def ledger_url(args: argparse.Namespace) -> str:
    """Return the ledger's URL: ``--ledger``, else $OUTAGE_DAEMON_LEDGER, else the file named by
    $OUTAGE_DAEMON_LEDGER_FILE, else the systemd credential ``ledger-url``, else SQLite in the state
    directory; raise CredentialError when a named file cannot be read. (The file and the credential
    keep a password out of the process list and the unit.)"""
    if args.ledger or os.environ.get("OUTAGE_DAEMON_LEDGER"):
        return str(args.ledger or os.environ["OUTAGE_DAEMON_LEDGER"])
    named = os.environ.get("OUTAGE_DAEMON_LEDGER_FILE")
    folder = os.environ.get("CREDENTIALS_DIRECTORY")
    if not named and folder and os.path.exists(os.path.join(folder, LEDGER_CREDENTIAL)):
        named = os.path.join(folder, LEDGER_CREDENTIAL)
    return (secret(named, None) or "").strip() if named else default_url(state_dir(args.state_dir))


def cmd_run(args: argparse.Namespace, now: datetime) -> int:
    config = load(args.config)
    directory = state_dir(args.state_dir)
    try:
        listen = parse_listen(args.listen)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if not args.once:
        try:
            return serve(config, directory, wall_clock, args.feeds_dir, listen, ledger_url(args), args.node)
        except OSError as exc:
            raise StartupError(startup_message(exc, listen, directory)) from exc

    async def once() -> tuple[Tally, list[SilenceAction]]:
        notifier = Notifier.open(config, directory, wall_clock, ledger_url(args), args.node)
        silencer = Silencer(Db(notifier.ledger, notifier.db))
        try:
            tally = await notifier.run_once()
            return tally, await silencer.run(config, notifier.clock()) or []
        finally:
            await silencer.close()
            await notifier.close()

    try:
        held = None if is_shared(ledger_url(args)) else lock(directory)
    except OSError as exc:
        raise StartupError(startup_message(exc, listen, directory)) from exc
    try:
        tally, silenced = asyncio.run(once())
    finally:
        if held is not None:
            held.close()
    happened = tally.decided or tally.skipped or tally.sent or tally.failed or tally.retrying
    if happened or not (args.quiet or not sys.stdout.isatty()):  # cron mails any output: none when idle
        pushed = f" (of which {plural(tally.pushed, 'calendar write')})" if tally.pushed else ""
        print(f"decided {tally.decided}, skipped {tally.skipped}; sent {tally.sent}{pushed}, "
              f"failed {tally.failed}, still to retry {tally.retrying}")
    failed = [a for a in silenced if a.error]
    if silenced:
        done = collections.Counter(a.action for a in silenced if not a.error)
        print(f"silences: created {done['create']}, updated {done['update']}, expired {done['expire']}, "
              f"failed {len(failed)}" + "".join(f"\n  {a.target}: {a.error}" for a in failed))
    return 1 if tally.failed or tally.retrying or failed else 0  # retrying: not delivered in time either


def only_channel(config: Config, webhook: str | None) -> Config:
    """Given the config and the webhook under test (None: email), return the config with only that
    channel's secrets to read: the other webhooks dropped, and no SMTP relay when a webhook is tested."""
    if webhook is None:
        return dataclasses.replace(config, webhooks={})
    return dataclasses.replace(config, webhooks={webhook: config.webhooks[webhook]},
                               email=dataclasses.replace(config.email, smtp=None))


def cmd_send_test(args: argparse.Namespace, now: datetime) -> int:
    config = load(args.config)
    if args.webhook and args.webhook not in config.webhooks:
        raise UsageError(f"no webhook {args.webhook!r} in {args.config}" + (
            f" (known: {', '.join(sorted(config.webhooks))})" if config.webhooks else ""))
    window = config.window(args.window) if args.window else None
    if args.window and window is None:
        raise UsageError(f"no window {args.window!r} in {args.config}")
    if window is None:
        upcoming = [w for w in config.windows if w.status != "cancelled" and (w.last_end() or now) >= now]
        window = upcoming[0] if upcoming else (config.windows[0] if config.windows else None)
    if window is None:
        raise UsageError("the config has no window to show in a test message")
    if args.calendar:
        return send_test_calendar(args, config, window, now)
    test = Notification(f"{window.id}/test/{now:%Y%m%dT%H%M%S}", Kind.TEST, window, now, now)
    if args.webhook:
        channel, recipient = "webhook", args.webhook
        where = f"webhook {args.webhook} ({config.webhooks[args.webhook].kind})"
    else:
        channel, recipient = "email", args.to
        try:
            addresses.parse(recipient)
        except addresses.AddressError as exc:
            raise UsageError(f"--to: {exc}") from None
        where = "the outbox" if config.email.smtp is None else config.email.smtp.host

    tested = only_channel(config, args.webhook)

    async def deliver() -> Outcome:
        notifier = Notifier.open(tested, state_dir(args.state_dir), wall_clock, ledger_url(args))
        try:
            return await notifier.send_now(test, channel, recipient)
        finally:
            await notifier.close()

    outcome = asyncio.run(deliver())
    if outcome.ok:
        print(f"sent a test message to {recipient} through {where}")
        return 0
    print(f"could not send to {recipient} through {where}: {outcome.error}", file=sys.stderr)
    return 1


def send_test_calendar(args: argparse.Namespace, config: Config, window: Window, now: datetime) -> int:
    """Write a test event of ``window`` (without ``--window``: of the first upcoming window the calendar
    carries) into the calendar ``args.calendar`` and remove it again; raise UsageError when the
    calendar does not carry that window (a private one must not be written there) or carries none."""
    if args.calendar not in config.calendars:
        raise UsageError(f"no calendar {args.calendar!r} in {args.config}" + (
            f" (known: {', '.join(sorted(config.calendars))})" if config.calendars else ""))
    target = config.calendars[args.calendar]
    if args.window and not config.carries(target, window):
        raise UsageError(f"calendar {args.calendar} does not carry window {window.id!r} (its audiences, systems, "
                         "or a private window of audiences it does not name): name one it carries")
    if not args.window:
        held = carried(config, target, now)
        upcoming = [w for w in held if w.status != "cancelled" and (w.last_end() or now) >= now]
        if not held:
            raise UsageError(f"calendar {args.calendar} carries no window to write a test event of "
                             "(see its audiences and systems)")
        window = (upcoming or held)[0]
    test_uid, body = (graph_test_document if target.kind == "graph" else test_document)(window, config, now)
    if target.kind == "google":
        body = expand(body, window, config, now)
    only = dataclasses.replace(config, calendars={args.calendar: target})
    channel = CalendarChannel(only)

    async def probe() -> Outcome:
        try:
            return await channel.probe(args.calendar, test_uid, body)
        finally:
            await channel.close()

    outcome = asyncio.run(probe())
    place = target.graph.mailbox if target.graph else target.calendar_id if target.kind == "google" else target.url
    where = f"calendar {args.calendar} ({place})"
    if outcome.ok:
        print(f"wrote a test event ({test_uid}) into {where} and removed it again")
        return 0
    print(f"could not write a test event into {where}: {outcome.error}", file=sys.stderr)
    return 1


def announcement(window: Window, now: datetime) -> Notification:
    """Given a window and ``now``, return its announcement: the very notice (same key) that the
    daemon makes for a window it has not seen, so that it is sent once, whoever makes it first."""
    schedule = Schedule.of(window)
    expires = max(window.last_end() or now + timedelta(days=1), now + timedelta(hours=1))
    return Notification(f"{window.id}/notice/{Kind.ANNOUNCED}/{schedule.digest}", Kind.ANNOUNCED, window, now,
                        expires.astimezone(UTC))


def cmd_announce(args: argparse.Namespace, now: datetime) -> int:
    config = load(args.config)
    window = config.window(args.window)
    if window is None:
        raise UsageError(f"no window {args.window!r} in {args.config}")
    if window.status == "cancelled":
        raise UsageError(f"window {window.id!r} is cancelled: the running daemon announces the cancellation")
    ended = window.last_end()
    if ended is not None and ended <= now:
        raise UsageError(f"window {window.id!r} ended on {ended.astimezone(window.tz):%Y-%m-%d %H:%M %Z}: "
                         "there is nothing left to announce")
    directory, url = state_dir(args.state_dir), existing_ledger(args)
    try:
        held: IO[str] | None = lock(directory)
    except AlreadyRunning:
        held = None  # the daemon owns the sending: record the announcement, it delivers it within a watch
    except OSError as exc:
        raise StartupError(startup_message(exc, ("", 0), directory)) from exc
    try:
        tally, when = asyncio.run(_announce(config, directory, url, window, held is not None))
    finally:
        if held is not None:
            held.close()
    if tally is None:
        print(f"{window.id}: already announced (decided {when:%Y-%m-%d %H:%M %Z}); "
              f"see: outage-daemon history -c {args.config} --window {window.id}")
        return 0
    if held is None:
        print(f"{window.id}: announcement recorded for {plural(tally.decided, 'recipient')}; "
              "the running daemon sends it within a minute")
        return 0
    print(f"{window.id}: announced — sent {tally.sent}, failed {tally.failed}, still to retry {tally.retrying}")
    return 1 if tally.failed else 0


async def _announce(config: Config, directory: str, url: str, window: Window,
                    send: bool) -> tuple[Tally | None, datetime]:
    """Record the window's announcement through the ledger (once) and, with ``send``, deliver what is
    due; return the tally, or None and when it was decided if it already was."""
    notifier = Notifier.open(config, directory, wall_clock, url)
    try:
        ledger, now = notifier.ledger, wall_clock()
        notice = announcement(window, now)
        earlier = await notifier.db(ledger.history, window.id)
        done = next((e for e in earlier if e.key == notice.key), None)
        if done is not None:
            return None, done.decided_at.astimezone(config.tz)
        notifier.revisions = await notifier.db(lambda: revise_all(config, ledger.revisions(), now))
        await notifier.db(ledger.save_revisions, notifier.revisions.values())
        rows = notifier.deliveries(notice, now)
        await notifier.db(ledger.record, [notice.decision()], rows, now)
        tally = Tally(decided=len(rows))
        if send:
            await notifier.deliver(tally)
        return tally, now
    finally:
        await notifier.close()


def existing_ledger(args: argparse.Namespace) -> str:
    """Return the ledger's URL; raise LedgerError when it names a SQLite file that does not exist (a
    wrong state directory would otherwise start an empty ledger, and announce would send twice)."""
    url = ledger_url(args)
    path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else None
    if path is not None and not os.path.exists(path):
        raise LedgerError(f"no ledger at {path}: give the daemon's state directory with --state-dir "
                          "(under systemd: --state-dir /var/lib/outage-daemon) or its --ledger URL")
    return url


def cmd_history(args: argparse.Namespace, now: datetime) -> int:
    config = load(args.config)
    ledger = open_ledger(existing_ledger(args))
    try:
        entries = ledger.history(args.window, args.recipient)
        confirmed = ledger.acknowledgements(args.window) if args.window else []
    finally:
        ledger.close()
    window = config.window(args.window) if args.window else None
    states = acknowledgement_states(config, window, entries, confirmed) \
        if window is not None and acks.expected(config, window) else []
    if args.json:
        items = [entry_json(e, config) for e in entries]
        if window is not None:
            items += [item for state in states for item in ack_json(window, *state)]
        print(json.dumps(items, ensure_ascii=False, indent=1))
        return 0
    if window is not None and states:
        print_acknowledgements(config, window, states)
    rows = [("decided", "window", "kind", "offset", "due", "late", "state", "last try", "to", "channel", "note")]
    for e in entries:
        rows.append((f"{e.decided_at.astimezone(config.tz):%Y-%m-%d %H:%M}", e.window_id, e.kind, e.offset or "-",
                     f"{e.due.astimezone(config.tz):%Y-%m-%d %H:%M}", late_text(e.late), e.state,
                     f"{e.updated.astimezone(config.tz):%Y-%m-%d %H:%M}" if e.updated and e.attempts else "-",
                     e.recipient or "-", shown_channel(e, config) or "-", e.note or ""))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    print(f"{len(entries)} {'entry' if len(entries) == 1 else 'entries'} (times in {config.tz.key})")
    return 0


def late_text(late: timedelta) -> str:
    """Given how late a reminder was rendered, return it for the history table: ``-`` when on time
    (under the minute after which a message says it is late), else ``+9m``, ``+2h5m``."""
    if late < LATE:
        return "-"
    minutes = int(late.total_seconds() // 60)
    return "+" + (f"{minutes // 60}h" if minutes >= 60 else "") + (f"{minutes % 60}m" if minutes % 60 else "")


AckState = tuple[str, list[acks.Acknowledgement], list[tuple[str, str]]]


def acknowledgement_states(config: Config, window: Window, entries: list[Entry],
                           confirmed: list[acks.Acknowledgement]) -> list[AckState]:
    """Given a window, its history and its confirmations, return per occurrence that reminders went
    out for (or that has confirmations) its key, who has confirmed and who has not (channel, recipient)."""
    occurrences = sorted({e.key.split("/")[1] for e in entries if Kind(e.kind).is_reminder}
                         | {a.occurrence for a in confirmed})
    return [(o, mine, acks.missing(config, window, o, mine))
            for o in occurrences for mine in [[a for a in confirmed if a.occurrence == o]]]


def print_acknowledgements(config: Config, window: Window, states: list[AckState]) -> None:
    """Print, per occurrence, who has confirmed (when, how) and who has not."""
    for occurrence, mine, missing in states:
        start = Occurrence.start_of(occurrence).astimezone(window.tz)
        print(f"acknowledgements of {window.id} stopping {start:%Y-%m-%d %H:%M}:")
        for a in mine:
            print(f"  confirmed      {a.recipient}  via {a.channel}  at {a.at.astimezone(config.tz):%Y-%m-%d %H:%M}")
        for channel, recipient in missing:
            print(f"  not confirmed  {recipient}  ({channel})")
    print()


def ack_json(window: Window, occurrence: str, mine: list[acks.Acknowledgement],
             missing: list[tuple[str, str]]) -> list[dict[str, object]]:
    """Given one occurrence's acknowledgement state, return its ``history --json`` items: one per
    recipient asked, of kind ``acknowledgement``, with every key an entry has (state ``acknowledged``
    or ``unacknowledged``; ``due`` the occurrence's stop; ``decided_at``/``updated`` when confirmed)."""
    due = Occurrence.start_of(occurrence).isoformat()

    def item(state: str, recipient: str, channel: str, at: datetime | None) -> dict[str, object]:
        when = at.isoformat() if at else None
        return {"key": f"{window.id}/{occurrence}/acknowledgement", "window": window.id, "kind": "acknowledgement",
                "offset": None, "late_seconds": 0, "due": due, "decided_at": when, "state": state,
                "recipient": recipient, "channel": channel, "attempts": 0, "note": "", "updated": when}

    return [item("acknowledged", a.recipient, a.channel, a.at) for a in mine] + [
        item("unacknowledged", recipient, channel, None) for channel, recipient in missing]


def shown_channel(e: Entry, config: Config) -> str | None:
    """Given a history entry, return its channel as people know it: a push's is its calendar's kind
    (``caldav``, ``graph``, ``google``; the ledger names every calendar write ``caldav``)."""
    target = config.calendars.get(e.recipient or "") if e.channel == PUSH_CHANNEL else None
    return target.kind if target is not None else e.channel


def entry_json(e: Entry, config: Config) -> dict[str, object]:
    """Given a history entry, return its ``history --json`` item."""
    return {"key": e.key, "window": e.window_id, "kind": e.kind, "offset": e.offset,
            "late_seconds": int(e.late.total_seconds()) if e.late >= LATE else 0, "due": e.due.isoformat(),
            "decided_at": e.decided_at.isoformat(), "state": e.state, "recipient": e.recipient,
            "channel": shown_channel(e, config), "attempts": e.attempts, "note": e.note,
            "updated": e.updated.isoformat() if e.updated else None}


def cmd_schema(args: argparse.Namespace, now: datetime) -> int:
    print(json.dumps(json_schema(), ensure_ascii=False, indent=1))
    return 0


def cmd_ledger_copy(args: argparse.Namespace, now: datetime) -> int:
    """Copy every decision, delivery, revision, schedule and meta of one ledger into an empty one."""
    held = None
    if args.source.startswith("sqlite:///"):
        path = args.source[len("sqlite:///"):]
        if not os.path.exists(path):
            raise UsageError(f"no ledger at {args.source}")
        held = copy_lock(path)
    try:
        source = open_ledger(args.source)
        try:
            history = source.dump()
        finally:
            source.close()
    finally:
        if held is not None:
            held.close()
    target = open_ledger(args.target)
    try:
        target.restore(history)
    finally:
        target.close()
    print(f"copied {len(history.deliveries)} deliveries, {len(history.decisions)} decisions, "
          f"{len(history.revisions)} revisions and {len(history.schedules)} schedules from {redact(args.source)} "
          f"to {redact(args.target)}")
    return 0


def copy_lock(path: str) -> IO[str] | None:
    """Given an SQLite ledger's path, return the lock of its state directory (its folder), held so
    that no daemon starts while it is copied (None when the folder cannot hold one: read-only, so no
    daemon runs on it); raise StartupError when a daemon holds it: a copy of a live ledger would miss
    what it records and sends meanwhile, and the copy would send it again."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        return lock(folder)
    except OSError:
        return None
    except AlreadyRunning:
        raise StartupError(f"an outage-daemon is running on {folder} and using the ledger {path}: stop it first "
                           "(e.g. systemctl stop outage-daemon), then copy; what it sends meanwhile would be "
                           "sent again from the copy") from None


def ledger_option(p: argparse.ArgumentParser) -> None:
    """Add ``--ledger URL`` to a command that opens the ledger."""
    p.add_argument("--ledger", metavar="URL", help="the ledger: sqlite:///PATH or postgresql://USER@HOST/DB "
                   "(default: $OUTAGE_DAEMON_LEDGER, else the file named by $OUTAGE_DAEMON_LEDGER_FILE, else the "
                   "systemd credential ledger-url, else sqlite:///STATE_DIR/ledger.sqlite3)")


EXAMPLES = {
    "check": "outage-daemon check -c /etc/outage-daemon/config.yaml && systemctl reload outage-daemon",
    "preview": "outage-daemon preview -c config/example.yaml --until 7d",
    "render": "outage-daemon render -c config/example.yaml -o /var/www/outages",
    "run": "outage-daemon run -c config/example.yaml --listen 127.0.0.1:8080 --feeds-dir state/feeds\n"
           "  outage-daemon run -c /etc/outage-daemon/config.yaml --once --quiet   # from cron: silent when idle",
    "send-test": "outage-daemon send-test -c config/example.yaml --to ops@example.com\n"
                 "  outage-daemon send-test -c config/example.yaml --webhook ops-wecom --window weekly-db",
    "announce": "outage-daemon announce -c /etc/outage-daemon/config.yaml vat-2026-12-05",
    "history": "outage-daemon history -c /etc/outage-daemon/config.yaml --window vat-2026-12-05\n"
               "  outage-daemon history -c /etc/outage-daemon/config.yaml --recipient li.na@example.com --json",
    "schema": "outage-daemon schema > /etc/outage-daemon/outage-daemon.schema.json\n"
              "  # then, as the config's first line:  # yaml-language-server: $schema=outage-daemon.schema.json",
    "ledger": "outage-daemon ledger copy sqlite:////var/lib/outage-daemon/ledger.sqlite3 "
              "postgresql://outage@db.example.com/outage",
    "import-notice": "outage-daemon import-notice notice.eml --prefix vat --format include > windows.d/vat.yaml",
}

Command = Callable[..., argparse.ArgumentParser]


def parser() -> argparse.ArgumentParser:
    """Return the argument parser of every command (each ``--help`` ends with an example)."""
    top = argparse.ArgumentParser(
        prog="outage-daemon",
        description="Publish planned outage windows as a calendar feed and send countdown reminders.",
        epilog="example:\n  " + EXAMPLES["check"] + "\n\n'outage-daemon COMMAND --help' shows each command's example.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, helptext: str, func: Callable[[argparse.Namespace, datetime], int],
                config: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=helptext, description=helptext, epilog="example:\n  " + EXAMPLES[name],
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        if config:
            p.add_argument("-c", "--config", required=True, metavar="FILE", help="config file")
        p.set_defaults(func=func)
        return p

    _reading(command)
    _sending(command)
    _answering(command)
    return top


def _reading(command: Command) -> None:
    """Add the commands that read the config: check, preview, render, schema, import-notice."""
    p = command("check", "validate the config; print every error at once", cmd_check)
    p.add_argument("--strict", action="store_true", help="fail on warnings too")
    p.add_argument("--now", metavar="T", help="judge 'in the past' against T instead of now")
    p.add_argument("--secrets", action="store_true", help="also check that every secret the config names "
                   "(files, environment variables, systemd credentials) exists and can be read here")
    p = command("preview", "list the planned reminders from now", cmd_preview)
    p.add_argument("--now", metavar="T", help="ISO 8601 with Z or offset, or local in the config zone")
    p.add_argument("--until", metavar="T", help="end of the listing (a time, or a duration such "
                   "as 90d; default 30 days)")
    p.add_argument("--json", action="store_true", help="print one JSON array")
    p = command("render", "write the feeds atomically, then exit", cmd_render)
    p.add_argument("-o", "--output", default="feeds", metavar="DIR", help="output folder (feeds/)")
    p.add_argument("--state-dir", metavar="DIR", help="ledger folder ($STATE_DIRECTORY, else state/)")
    ledger_option(p)
    p.add_argument("--now", metavar="T", help="render as of T (DTSTAMP of new or changed windows)")
    command("schema", "print the config's JSON Schema (draft-07) for editors", cmd_schema, config=False)
    p = command("import-notice", "read an outage notice (text, HTML page or email) and print its windows as YAML",
                notice_command.run, config=False)
    notice_command.add_arguments(p)


def _sending(command: Command) -> None:
    """Add the commands that send: run, send-test."""
    p = command("run", "the daemon; with --once, deliver what is due now and exit", cmd_run)
    p.add_argument("--state-dir", metavar="DIR", help="ledger and outbox ($STATE_DIRECTORY, else state/)")
    p.add_argument("--feeds-dir", metavar="DIR", help="also write the feeds here, atomically")
    p.add_argument("--listen", metavar="HOST:PORT", default="127.0.0.1:8080", help="HTTP address")
    p.add_argument("--once", action="store_true", help="deliver what is due now, then exit (cron, timers)")
    p.add_argument("-q", "--quiet", action="store_true", help="with --once, for cron (which mails any output): "
                   "print only the summary, and nothing when nothing happened (the default for the summary when "
                   "the output is not a terminal); warnings and errors still go to stderr")
    ledger_option(p)
    p.add_argument("--node", metavar="NAME", help="this replica's name in the ledger (default: host name and pid)")
    p = command("send-test", "render and send one notification now", cmd_send_test)
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--to", metavar="ADDR", help="an email address")
    target.add_argument("--webhook", metavar="NAME", help="a webhook from the config")
    target.add_argument("--calendar", metavar="NAME", help="a calendar from calendars: (writes a test event, "
                        "then removes it)")
    p.add_argument("--window", metavar="ID", help="the window to describe (default: the next one)")
    p.add_argument("--state-dir", metavar="DIR", help="where the outbox is, without smtp:")
    ledger_option(p)


def _answering(command: Command) -> None:
    """Add the commands that answer "did they get it?": announce, history."""
    p = command("announce", "record and send a window's announcement deliberately, once, through the ledger",
                cmd_announce)
    p.add_argument("window", metavar="WINDOW_ID", help="the window to announce")
    p.add_argument("--state-dir", metavar="DIR", help="ledger and outbox ($STATE_DIRECTORY, else state/)")
    ledger_option(p)
    p = command("history", "what the ledger decided, sent, skipped (and why) and failed, when, to whom", cmd_history)
    p.add_argument("--window", metavar="ID", help="only this window")
    p.add_argument("--recipient", metavar="ADDR", help="only deliveries to this address or webhook name")
    p.add_argument("--json", action="store_true", help="print one JSON array")
    p.add_argument("--state-dir", metavar="DIR", help="where the ledger is ($STATE_DIRECTORY, else state/)")
    ledger_option(p)
    p = command("ledger", "work on a ledger itself", cmd_ledger_copy, config=False)
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = actions.add_parser("copy", help="copy a ledger's history into an empty one (e.g. SQLite into PostgreSQL)",
                           description="Copy a ledger's history into an empty one (e.g. SQLite into PostgreSQL), "
                           "so that what was sent is not sent again.")
    p.add_argument("source", metavar="FROM_URL", help="the ledger to read, e.g. sqlite:////var/lib/outage-daemon/"
                   "ledger.sqlite3")
    p.add_argument("target", metavar="TO_URL", help="an empty ledger to write, e.g. postgresql://outage@db/outage")


def under_journald() -> bool:
    """Return True when stderr is systemd's journal stream ($JOURNAL_STREAM names its device and
    inode), which stamps every line itself."""
    stream = os.environ.get("JOURNAL_STREAM", "")
    try:
        stat = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError):
        return False
    return stream == f"{stat.st_dev}:{stat.st_ino}"


def log_format() -> str:
    """Return the log line format: level and message under journald, a time stamp first elsewhere."""
    return "%(levelname)s %(message)s" if under_journald() else "%(asctime)s %(levelname)s %(message)s"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=log_format(), datefmt="%Y-%m-%d %H:%M:%S%z", stream=sys.stderr)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    if getattr(args, "quiet", False) and getattr(args, "once", False):
        logging.getLogger().setLevel(logging.WARNING)  # cron mails stderr too: the summary says what happened
    if args.command != "run" or args.once:
        # A one-shot command allocates, prints and exits: the cyclic collector's passes over the
        # growing heap only cost time (a quarter of preview at 10,000 windows). The daemon keeps it.
        gc.disable()
    try:
        result: int = args.func(args, wall_clock())
        return result
    except ConfigError as exc:
        print_problems(exc.problems)
        print(f"{getattr(args, 'config', '')}: {plural(len(exc.problems), 'error')}", file=sys.stderr)
        return 1
    except UsageError as exc:
        print(f"outage-daemon {args.command}: {exc}", file=sys.stderr)
        return 2
    except (CredentialError, AlreadyRunning, LedgerError, StartupError) as exc:
        print(f"outage-daemon {args.command}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a state or feeds folder that cannot be made or written, …
        print(f"outage-daemon {args.command}: {exc.strerror or exc}: {exc.filename or ''}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0

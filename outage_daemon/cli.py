"""The command line: ``outage-daemon COMMAND``. The shell: the clock is read here, once per command.

Exit codes: 0 ok, 1 invalid config or failure, 2 usage.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from zoneinfo import ZoneInfo

import yaml

from outage_daemon import notice
from outage_daemon.channels.base import Outcome
from outage_daemon.core import i18n, timerules
from outage_daemon.core.checks import warnings
from outage_daemon.core.decide import Notification
from outage_daemon.core.errors import ConfigError
from outage_daemon.core.kinds import Kind
from outage_daemon.core.planner import Reminder, plan
from outage_daemon.core.revisions import revise_all
from outage_daemon.credentials import CredentialError
from outage_daemon.daemon import AlreadyRunning, lock, parse_listen, serve
from outage_daemon.formats import render_all
from outage_daemon.ledger import LedgerError, default_url, open_ledger
from outage_daemon.loader import load
from outage_daemon.pipeline import Notifier, Tally
from outage_daemon.publish import atomic_write

UTC = timerules.UTC


class UsageError(Exception):
    """Bad command-line input (exit 2)."""


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


def cmd_check(args: argparse.Namespace, now: datetime) -> int:
    config = load(args.config)
    if args.now:
        now = parse_instant(args.now, config.tz)
    found = warnings(config, now)
    for problem in found:
        print(f"{problem} (warning)", file=sys.stderr)
    if found and args.strict:
        print(f"{args.config}: {len(found)} warning(s), failing because of --strict",
              file=sys.stderr)
        return 1
    repeats = sum(1 for w in config.windows if w.rule is not None)
    print(f"{args.config}: OK — {len(config.windows)} windows ({repeats} repeating), "
          f"{len(config.audiences)} audiences, {len(found)} warnings")
    return 0


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
    print(f"{len(reminders)} reminders from {now.astimezone(config.tz):%Y-%m-%d %H:%M %Z} "
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
        revisions = revise_all(config, ledger.revisions(), now)
        ledger.save_revisions(revisions.values())
    finally:
        ledger.close()
    for filename, data in render_all(config, revisions, now).items():
        path = os.path.join(args.output, filename)
        changed = atomic_write(path, data)
        print(f"{path}: {len(data)} bytes{'' if changed else ' (unchanged)'}")
    return 0


def ledger_url(args: argparse.Namespace) -> str:
    """Return the ledger's URL: ``--ledger``, else $OUTAGE_DAEMON_LEDGER, else SQLite in the state directory."""
    return args.ledger or os.environ.get("OUTAGE_DAEMON_LEDGER") or default_url(state_dir(args.state_dir))


def cmd_run(args: argparse.Namespace, now: datetime) -> int:
    config = load(args.config)
    directory = state_dir(args.state_dir)
    try:
        listen = parse_listen(args.listen)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if not args.once:
        return serve(config, directory, wall_clock, args.feeds_dir, listen, ledger_url(args), args.node)

    async def once() -> Tally:
        notifier = Notifier.open(config, directory, wall_clock, ledger_url(args), args.node)
        try:
            return await notifier.run_once()
        finally:
            await notifier.close()

    held = lock(directory)
    try:
        tally = asyncio.run(once())
    finally:
        held.close()
    print(f"decided {tally.decided}, skipped {tally.skipped}; sent {tally.sent}, "
          f"failed {tally.failed}, still to retry {tally.retrying}")
    return 1 if tally.failed or tally.retrying else 0  # retrying: not delivered in time either


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
    test = Notification(f"{window.id}/test/{now:%Y%m%dT%H%M%S}", Kind.TEST, window, now, now)
    if args.webhook:
        channel, recipient = "webhook", args.webhook
        where = f"webhook {args.webhook} ({config.webhooks[args.webhook].kind})"
    else:
        channel, recipient = "email", args.to
        where = "the outbox" if config.email.smtp is None else config.email.smtp.host

    async def deliver() -> Outcome:
        notifier = Notifier.open(config, state_dir(args.state_dir), wall_clock, ledger_url(args))
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


def cmd_import_notice(args: argparse.Namespace, now: datetime) -> int:
    try:
        tz = timerules.zone(args.timezone)
    except timerules.TimeError as exc:
        raise UsageError(str(exc)) from exc
    try:
        with open(args.file, "rb") as handle:
            text = handle.read().decode("utf-8-sig")
    except OSError as exc:
        print(f"{args.file}: cannot read: {exc.strerror}", file=sys.stderr)
        return 1
    except UnicodeDecodeError:
        print(f"{args.file}: not UTF-8 text (convert it first, e.g. iconv -f GB18030 -t UTF-8)", file=sys.stderr)
        return 1
    reading = notice.read(text, tz, now.astimezone(tz).year, args.system)
    for warning in reading.warnings:
        print(f"{args.file}: warning: {warning}", file=sys.stderr)
    if not reading.windows:
        print(f"{args.file}: no outage window found", file=sys.stderr)
        return 1
    items = notice.to_config(reading, args.prefix)
    print(f"# Windows read from {os.path.basename(args.file)} by outage-daemon import-notice ({tz.key}).")
    print("# Check them against the notice, set status: confirmed for the one that holds, then paste.")
    print(yaml.safe_dump({"windows": items}, allow_unicode=True, sort_keys=False, width=100), end="")
    return 0


def ledger_option(p: argparse.ArgumentParser) -> None:
    """Add ``--ledger URL`` to a command that opens the ledger."""
    p.add_argument("--ledger", metavar="URL", help="the ledger (default: $OUTAGE_DAEMON_LEDGER, else "
                   "sqlite:///STATE_DIR/ledger.sqlite3)")


def parser() -> argparse.ArgumentParser:
    """Return the argument parser of every command."""
    top = argparse.ArgumentParser(
        prog="outage-daemon",
        description="Publish planned outage windows as a calendar feed and send countdown reminders.",
    )
    top.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, helptext: str, func: Callable[[argparse.Namespace, datetime], int],
                config: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=helptext, description=helptext)
        if config:
            p.add_argument("-c", "--config", required=True, metavar="FILE", help="config file")
        p.set_defaults(func=func)
        return p

    p = command("check", "validate the config; print every error at once", cmd_check)
    p.add_argument("--strict", action="store_true", help="fail on warnings too")
    p.add_argument("--now", metavar="T", help="judge 'in the past' against T instead of now")
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
    p = command("run", "the daemon; with --once, deliver what is due now and exit", cmd_run)
    p.add_argument("--state-dir", metavar="DIR", help="ledger and outbox ($STATE_DIRECTORY, else state/)")
    p.add_argument("--feeds-dir", metavar="DIR", help="also write the feeds here, atomically")
    p.add_argument("--listen", metavar="HOST:PORT", default="127.0.0.1:8080", help="HTTP address")
    p.add_argument("--once", action="store_true", help="deliver what is due now, then exit (cron, timers)")
    ledger_option(p)
    p.add_argument("--node", metavar="NAME", help="this replica's name in the ledger (default: host name and pid)")
    p = command("send-test", "render and send one notification now", cmd_send_test)
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--to", metavar="ADDR", help="an email address")
    target.add_argument("--webhook", metavar="NAME", help="a webhook from the config")
    p.add_argument("--window", metavar="ID", help="the window to describe (default: the next one)")
    p.add_argument("--state-dir", metavar="DIR", help="where the outbox is, without smtp:")
    ledger_option(p)
    p = command("import-notice", "read an outage notice in prose and print its windows as YAML",
                cmd_import_notice, config=False)
    p.add_argument("file", metavar="FILE", help="the notice, as UTF-8 text")
    p.add_argument("--timezone", default="Asia/Shanghai", metavar="ZONE", help="zone of the notice's times")
    p.add_argument("--system", help="the system's name (default: from the notice's title)")
    p.add_argument("--prefix", help="ASCII prefix of the window ids (default: from the system, else 'outage')")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    if args.command != "run" or args.once:
        # A one-shot command allocates, prints and exits: the cyclic collector's passes over the
        # growing heap only cost time (a quarter of preview at 10,000 windows). The daemon keeps it.
        gc.disable()
    try:
        result: int = args.func(args, wall_clock())
        return result
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        count = len(exc.problems)
        print(f"{getattr(args, 'config', '')}: {count} error{'s' if count != 1 else ''}",
              file=sys.stderr)
        return 1
    except UsageError as exc:
        print(f"outage-daemon {args.command}: {exc}", file=sys.stderr)
        return 2
    except (CredentialError, AlreadyRunning, LedgerError) as exc:
        print(f"outage-daemon {args.command}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a state or feeds folder that cannot be made or written, …
        print(f"outage-daemon {args.command}: {exc.strerror or exc}: {exc.filename or ''}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0

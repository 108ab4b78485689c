"""The ``import-notice`` command: read a notice (file, standard input or URL) and print its windows
as config YAML. The shell around the pure reader: files, stdin, the network and the clock's ``now``."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from outage_daemon.core import zonehints

from .fetch import MAX_BYTES, fetch
from .output import drafts, dump, to_config
from .reading import read
from .sources import Document, NoticeError, document


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments to its subparser."""
    parser.add_argument("file", nargs="?", metavar="FILE",
                        help="the notice: a UTF-8 text file, an HTML page or an .eml email; - for standard input")
    parser.add_argument("--url", help="fetch the notice from this http(s) URL instead")
    parser.add_argument("--timezone", default="Asia/Shanghai", metavar="ZONE",
                        help="zone of times the notice writes without one (default Asia/Shanghai)")
    parser.add_argument("--published", metavar="DATE",
                        help="the notice's date (YYYY-MM-DD) for 明天, next Monday … when it states none")
    parser.add_argument("--format", choices=("windows", "include"), default="windows",
                        help="windows: a windows: list to paste (default); include: a whole file for include:")
    parser.add_argument("--system", help="the system's name (default: from the notice's title)")
    parser.add_argument("--prefix", help="ASCII prefix of the window ids (default: from the system, else 'outage')")
    parser.add_argument("--drafts", action="store_true",
                        help="also print, commented out, a window for each day whose time is not understood, "
                             "to complete by hand")


def _usage(message: str) -> int:
    """Print a usage error and return exit code 2."""
    print(f"outage-daemon import-notice: {message}", file=sys.stderr)
    return 2


def _load(args: argparse.Namespace) -> tuple[str, Document]:
    """Return the notice's name (for messages) and its text; raise NoticeError (OSError as one line)."""
    if args.url:
        data, content_type = fetch(args.url)
        return args.url, document(data, args.url, content_type)
    if args.file == "-":
        return "<stdin>", document(_bounded(sys.stdin.buffer.read(MAX_BYTES + 1)), "-")
    try:
        with open(args.file, "rb") as handle:
            data = _bounded(handle.read(MAX_BYTES + 1))  # not /dev/zero to the end
    except OSError as exc:
        raise NoticeError(f"cannot read: {exc.strerror or exc}") from exc
    return args.file, document(data, args.file)


def _bounded(data: bytes) -> bytes:
    """Return the bytes read; raise NoticeError when there were more than MAX_BYTES."""
    if len(data) > MAX_BYTES:
        raise NoticeError("larger than 10 MiB (read up to the limit, then stopped)")
    return data


def _options(args: argparse.Namespace) -> tuple[ZoneInfo, date | None] | str:
    """Return the zone and the publication date asked for, or a usage message."""
    if bool(args.file) == bool(args.url):
        return "give a FILE (or - for standard input) or --url URL, not both"
    try:
        tz = ZoneInfo(args.timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return f"unknown time zone {args.timezone!r}: {zonehints.hint(args.timezone)}"
    try:
        published = date.fromisoformat(args.published) if args.published else None
    except ValueError:
        return f"--published takes a date as YYYY-MM-DD, not {args.published!r}"
    return tz, published


def _print(args: argparse.Namespace, name: str, items: list[dict[str, object]], tz: ZoneInfo) -> None:
    """Print the items as YAML under a header saying where they came from and what to do."""
    shown = name if args.url else os.path.basename(name)
    if args.format == "include":
        print(f"# Windows read from {shown} by outage-daemon import-notice ({tz.key}), a file for a config's")
        print("# include: (e.g. include: [windows.d/*.yaml]). Check them, set status: confirmed where it holds.")
    else:
        print(f"# Windows read from {shown} by outage-daemon import-notice ({tz.key}).")
        print("# Check them against the notice, set status: confirmed for the one that holds, then paste.")
    print(dump({"windows": items}), end="")


def run(args: argparse.Namespace, now: datetime) -> int:
    """Run ``import-notice``: print the windows as YAML; warnings to stderr; 1 if none or unreadable, 2 usage."""
    options = _options(args)
    if isinstance(options, str):
        return _usage(options)
    tz, published = options
    name = args.url or ("<stdin>" if args.file == "-" else args.file)
    try:
        name, doc = _load(args)
    except NoticeError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 1
    reading = read(doc.text, tz, now.astimezone(tz).year, args.system, published=published,
                   today=now.astimezone(tz).date(), dated=doc.dated)
    for warning in reading.warnings:
        print(f"{name}: warning: {warning}", file=sys.stderr)
    sketches = drafts(reading, tz, args.prefix) if args.drafts else ""
    if not reading.windows:
        print(sketches, end="")
        print(f"{name}: no outage window found", file=sys.stderr)
        return 1
    zone_name = tz.key if args.format == "include" else None
    _print(args, name, to_config(reading, tz, args.prefix, args.url, zone_name), tz)
    print(sketches, end="")
    return 0

"""Build the model from checked items: zones, times, references and duplicates. Pure.

Given the main file's :class:`Item` tree and those of its included files (from
:mod:`outage_daemon.loader`), :func:`build` returns a :class:`Config` or raises
:class:`ConfigError` with every problem, together with those the schema walk found.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from outage_daemon.core import addresses, timerules
from outage_daemon.core.errors import ConfigError, Loc, Problem
from outage_daemon.core.model import (
    AckKey,
    Alertmanager,
    Audience,
    Calendar,
    CalendarTarget,
    Config,
    Email,
    Escalation,
    Feed,
    GraphAccess,
    LedgerOptions,
    Maintnote,
    Matcher,
    Notify,
    Smtp,
    Webhook,
    Window,
    is_public,
)
from outage_daemon.core.schema import Item
from outage_daemon.core.timerules import UTC, Offset, TimeError

DEFAULT_DOMAIN = "outage-daemon"


class _Builder:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.notes: list[Problem] = []

    def note(self, where: Item | Loc, message: str, hint: str | None = None) -> None:
        """Record a warning: valid, but most likely not what was meant."""
        self.notes.append(Problem(where.loc if isinstance(where, Item) else where, message, hint))

    def error(self, where: Item | Loc, message: str, hint: str | None = None) -> None:
        loc = where.loc if isinstance(where, Item) else where
        self.problems.append(Problem(loc, message, hint))


def _plain(item: Item | None) -> Any:
    """Given an item (or None), return its plain Python value, recursively."""
    if item is None:
        return None
    if isinstance(item.value, dict):
        return {k: _plain(v) for k, v in item.value.items()}
    if isinstance(item.value, list):
        return [_plain(v) for v in item.value]
    return item.value


def _texts(item: Item | None) -> tuple[str, ...]:
    return tuple(str(v) for v in _plain(item) or ())


def _sub(item: Item | None, key: str) -> Item | None:
    return item.get(key) if item is not None else None


def build(main: Item, included: list[Item], earlier: list[Problem] | None = None) -> Config:
    """Given checked items of the main file and its includes, return the Config.

    Raise ConfigError listing ``earlier`` problems and every one found here.
    """
    b = _Builder()
    b.problems.extend(earlier or [])
    top = main.value if isinstance(main.value, dict) else {}
    tz = timerules.zone(str(top["timezone"].value)) if "timezone" in top else ZoneInfo("UTC")

    webhooks: dict[str, Webhook] = {}
    audience_items: dict[str, Item] = {}
    window_items: list[Item] = []
    for part in [main, *included]:
        for name, hook in part.named("webhooks").items():
            if name in webhooks:
                b.error(hook, f"webhook {name!r} is defined twice")
            webhooks[name] = _webhook(b, name, hook)
        for name, aud in part.named("audiences").items():
            if name in audience_items:
                first = audience_items[name].loc
                b.error(aud, f"audience {name!r} is defined twice (first at {first.file}:{first.line})")
            audience_items[name] = aud
        window_items.extend(part.entries("windows"))

    audiences = {}
    for name, aud in audience_items.items():
        for entry in aud.entries("email"):
            _address(b, entry, recipient=True)
        listed = {_bare(str(e.value)) for e in aud.entries("email")}
        for entry in aud.entries("exclude"):
            _address(b, entry)
            if _bare(str(entry.value)) not in listed:
                b.note(entry, f"{entry.value!r} is not in audiences.{name}.email: it excludes nobody",
                       "remove it, or correct the address")
        for ref in aud.entries("webhooks"):
            if ref.value not in webhooks:
                b.error(ref, f"unknown webhook {ref.value!r}" + _known(webhooks),
                        "define it under webhooks:, or correct the name")
        public = aud.get("public")
        excluded = {_bare(str(e.value)) for e in aud.entries("exclude")}
        emails = tuple(a for a in _texts(aud.get("email")) if _bare(a) not in excluded)
        audiences[name] = Audience(name, emails, _texts(aud.get("webhooks")),
                                   public is None or public.value is not False, _acknowledged(aud.get("acknowledge")))

    notify = _notify(b, _sub(main, "notify"), _NO_RULES)  # the schema filled every default
    windows = []
    seen: dict[str, Loc] = {}
    for item in window_items:
        window = _window(b, item, tz, notify, audiences)
        id_item = item.get("id")
        if id_item is None:
            continue
        if id_item.value in seen:
            first = seen[str(id_item.value)]
            b.error(id_item, f"duplicate window id {id_item.value!r} (first at {first.file}:{first.line})",
                    "every window needs its own id: reminders and the calendar event are keyed by it")
            continue
        seen[str(id_item.value)] = id_item.loc
        if window is not None:
            windows.append(window)

    calendar = _calendar(b, _sub(main, "calendar"), audiences)
    _open_feeds(b, _sub(main, "calendar"), calendar, windows, audiences)
    email = _email(b, _sub(main, "email"))
    ledger = _ledger(b, _sub(main, "ledger"), _longest_send(email, webhooks))
    monitoring = _sub(main, "monitoring")
    alertmanagers = tuple(_alertmanager(b, item, windows) for item in monitoring.entries("alertmanager")
                          ) if monitoring is not None else ()
    calendars = _calendars(b, main, audiences)
    ack_key = _ack_key(b, main, audience_items, audiences, calendar)
    escalate = _escalate(b, main, audiences)
    if b.problems:
        raise ConfigError(b.problems)
    _notes(b, main, windows, audiences)
    templates = _plain(_sub(main, "templates"))
    return Config(main.loc.file, tz, str(_plain(_sub(main, "language")) or "zh-CN"), notify,
                  templates, email, webhooks, audiences, calendar, tuple(windows), tuple(b.notes), ledger,
                  alertmanagers=alertmanagers, calendars=calendars, ack_key=ack_key, escalate=escalate)


def _open_feeds(b: _Builder, item: Item | None, calendar: Calendar, windows: list[Window],
                audiences: dict[str, Audience]) -> None:
    """Refuse a feed without a token whose filters keep a window only private audiences see: the
    feed would leave it out, silently (the publisher never puts a private window in an open feed)."""
    items = {str(_plain(f.get("name"))): f for f in (item.entries("feeds") if item is not None else [])}
    for feed in calendar.feeds:
        if feed.private:
            continue
        hidden = [w.id for w in windows if feed.selects(w) and not is_public(w, audiences)]
        if hidden:
            more = f" and {len(hidden) - 3} more" if len(hidden) > 3 else ""
            b.error(items[feed.name], f"feed {feed.name!r} has no token but selects windows only private "
                    f"audiences see ({', '.join(hidden[:3])}{more})",
                    "give the feed token_file: or token_env:, or narrow its audiences:/systems:")


_REMINDER_KINDS = ("before_stop", "at_stop", "before_restore", "at_restore")


def _acknowledged(item: Item | None) -> tuple[str, ...]:
    """Given an audience's ``acknowledge`` (absent, a boolean or a list of kinds), return the
    reminder kinds whose messages carry a confirmation link."""
    if item is None or item.value is False:
        return ()
    if item.value is True:
        return _REMINDER_KINDS
    return tuple(k for k in _REMINDER_KINDS if k in _texts(item))


def _ack_key(b: _Builder, main: Item, items: dict[str, Item], audiences: dict[str, Audience],
             calendar: Calendar) -> AckKey | None:
    """Given the audiences, return where the signing key of their links lives (None when no audience
    acknowledges); record an error where an acknowledging audience lacks a key or a base_url."""
    section = _sub(main, "acknowledge")
    if section is not None:
        _one_of(b, section, ("key_file", "key_env", "key_credential"), required=True)
    asking = [name for name, audience in audiences.items() if audience.acknowledge]
    if not asking:
        return None
    where = items[asking[0]].get("acknowledge") or items[asking[0]]
    if section is None:
        b.error(where, f"audience {asking[0]!r} acknowledges, but no key signs the links",
                "add acknowledge: {key_file: ack.key} at the top (make one with: openssl rand -hex 32 > ack.key)")
    if not calendar.base_url:
        b.error(where, f"audience {asking[0]!r} acknowledges, but calendar.base_url is not set: links need it",
                "add calendar: {base_url: https://status.example.com} (where the daemon's HTTP is reached)")
    plain = _plain(section) or {}
    return AckKey(_file(section, "key_file"), plain.get("key_env"), plain.get("key_credential"))


def _escalate(b: _Builder, main: Item, audiences: dict[str, Audience]) -> tuple[Escalation, ...]:
    """Given the ``escalate`` rules, return them; record an error for an unknown audience, a bad
    offset, or rules when no audience acknowledges (nobody could be missing)."""
    out = []
    for rule in main.entries("escalate"):
        after, to = rule.get("after"), rule.get("to")
        if after is None or to is None:
            continue  # the schema walk reported it
        kind, _, written = str(after.value).partition(" ")
        offset = None
        if written.strip():
            try:
                offset = timerules.parse_duration(written.strip())
            except TimeError as exc:
                b.error(after, str(exc), "durations are 90s, 15m, 2h, 1d, 1w, or combinations such as 1h30m")
                continue
        for ref in rule.entries("to"):
            if ref.value not in audiences:
                b.error(ref, f"unknown audience {ref.value!r}" + _known(audiences),
                        "define it under audiences:, or correct the name")
        if not any(a.acknowledge for a in audiences.values()):
            b.error(rule, "escalate: needs an audience with acknowledge: true (nobody could be missing)",
                    "add acknowledge: true to the audience whose confirmations you want")
        out.append(Escalation(kind, offset, _texts(to), " ".join(str(after.value).split())))
    return tuple(out)


def _notes(b: _Builder, main: Item, windows: list[Window], audiences: dict[str, Audience]) -> None:
    """Record the warnings the builder can see: no ``timezone:``, windows longer than
    ``check.longest_window``, windows that notify nobody, messages sent without ``calendar.base_url``."""
    zone = main.get("timezone")
    if (zone is None or not zone.written) and windows:
        b.note(Loc(main.loc.file, 1, "timezone", 1), "no timezone: every time written without an offset is UTC",
               "add `timezone: Asia/Shanghai` (the zone your users live in) at the top, or `timezone: UTC`")
    limit = _duration(_sub(_sub(main, "check"), "longest_window"))
    notifying = False
    for w in windows:
        if w.length > limit.approx:
            b.note(w.loc or main.loc, f"window {w.id!r} lasts {_days(w.length)}, longer than "
                   f"check.longest_window ({limit.text})",
                   "check the year and month of start and end; if it is meant, raise check.longest_window")
        if w.notify is None:
            continue
        told = [a for a in w.audiences if audiences[a].emails or audiences[a].webhooks]
        if not told:
            why = "it has no audience" if not w.audiences else f"its audiences ({', '.join(w.audiences)}) are empty"
            b.note(w.loc or main.loc, f"window {w.id!r} notifies nobody: {why}",
                   "add audiences: [NAME] with email or webhooks, or set notify: false if that is meant")
        else:
            notifying = True
    calendar = _sub(main, "calendar")
    if notifying and _sub(calendar, "base_url") is None:
        b.note(Loc(main.loc.file, 1, "calendar.base_url", 1) if calendar is None or not calendar.written
               else calendar.loc,
               "no calendar.base_url: emails and chat messages go out without a link to the status page "
               "or the calendar subscription", "add `base_url: https://status.example.com` (the address people "
               "open the status page at) under calendar:")


def _days(length: timedelta) -> str:
    """Given a length of time, return it in days (and hours), e.g. ``366 days`` or ``1 day 4 h``."""
    days, hours = length.days, length.seconds // 3600
    text = f"{days} day{'s' if days != 1 else ''}"
    return f"{text} {hours} h" if hours else text
def _longest_send(email: Email, webhooks: dict[str, Webhook]) -> tuple[str, timedelta]:
    """Given the channels, return the key and length of the longest timeout of one send ((``''``, 0) if none)."""
    found = [(f"webhooks.{w.name}.timeout", w.timeout.approx) for w in webhooks.values()]
    if email.smtp is not None:
        found.append(("email.smtp.timeout", email.smtp.timeout.approx))
    return max(found, key=lambda kv: kv[1], default=("", timedelta(0)))


def _ledger(b: _Builder, item: Item | None, send: tuple[str, timedelta]) -> LedgerOptions:
    """Given the ``ledger`` mapping (or None) and the longest send timeout (key, length), return the
    options; a lease, poll or clock_skew under 1s is an error, and so is a lease shorter than twice that timeout
    (a send still on the wire when the database stops answering must end before a peer may take its
    delivery over). A lease not written defaults to 15s, or twice that timeout when longer."""
    found = {}
    for key in ("lease", "poll", "clock_skew"):
        sub = _sub(item, key)
        if sub is None or not sub.written:
            continue
        value = timerules.parse_duration(str(sub.value)).approx
        if value < timedelta(seconds=1):
            b.error(sub, "must be at least 1s")
        found[key] = value
    name, timeout = send
    lease = _sub(item, "lease")
    if lease is not None and lease.written and timedelta(seconds=1) <= found["lease"] < timeout * 2:
        b.error(lease, f"a lease of {lease.value} cannot outlive one send: {name} is {_seconds(timeout)}, and the "
                "lease must be at least twice that (while a send is on the wire its lease is renewed; if the "
                "database stops answering, the send must end before a peer may take its delivery over)",
                f"write lease: {_seconds(timeout * 2)} or more, or a shorter {name}")
    found.setdefault("lease", max(LedgerOptions.lease, timeout * 2))
    batch = _sub(item, "batch")
    return LedgerOptions(**found, batch=int(str(batch.value)) if batch is not None else LedgerOptions.batch)


def _seconds(length: timedelta) -> str:
    """Given a length of time, return it as written in a config, e.g. ``30s``."""
    return f"{length.total_seconds():g}s"


def _known(names: Any) -> str:
    return f" (known: {', '.join(sorted(names))})" if names else " (none defined)"


def _offsets(b: _Builder, item: Item | None, positive: bool = True) -> tuple[Offset, ...]:
    out = []
    for sub in item.value if item is not None and isinstance(item.value, list) else []:
        offset = timerules.parse_duration(str(sub.value))
        if positive and offset.days == 0 and offset.seconds == 0:
            b.error(sub, "must be longer than 0 (use at_stop / at_restore for the moment itself)",
                    "remove it and set at_stop: true (or at_restore: true)")
            continue
        out.append(offset)
    return tuple(sorted(set(out), key=lambda o: o.approx, reverse=True))


def _duration(item: Item | None) -> Offset:
    """Given a duration the schema checked and defaulted, return it (zero where the schema already
    reported it missing or malformed: the config is refused then)."""
    return timerules.parse_duration(str(item.value)) if item is not None else _ZERO


_ZERO = Offset(0, 0, "0s")
_NO_RULES = Notify((), False, (), False, False, _ZERO)


def _notify(b: _Builder, item: Item | None, base: Notify) -> Notify:
    """Given a notify mapping and the rules it overrides, return the merged rules."""

    def offsets(key: str, fallback: tuple[Offset, ...]) -> tuple[Offset, ...]:
        found = _sub(item, key)
        return _offsets(b, found) if found is not None else fallback

    def flag(key: str, fallback: bool) -> bool:
        found = _sub(item, key)
        return bool(found.value) if found is not None else fallback

    late, restore = _sub(item, "late_limit"), _sub(item, "before_restore")
    return Notify(
        offsets("before_stop", base.before_stop), flag("at_stop", base.at_stop),
        offsets("before_restore", base.before_restore), flag("at_restore", base.at_restore),
        flag("on_change", base.on_change),
        timerules.parse_duration(str(late.value)) if late is not None else base.late_limit,
        restore.written if restore is not None else base.restore_written,
    )


def _window_notify(b: _Builder, item: Item | None, base: Notify) -> Notify | None:
    """Given a window's ``notify`` (absent, true, false or a mapping), return its rules or None."""
    if item is None or item.value is True:
        return base
    if item.value is False:
        return None
    return _notify(b, item, base)


def _window(b: _Builder, item: Item, default_tz: ZoneInfo, notify: Notify,
            audiences: dict[str, Audience]) -> Window | None:
    """Given a window item, return the Window, or None after recording why it is unusable."""
    fields: dict[str, Any] = _plain(item) if isinstance(item.value, dict) else {}
    start_item, end_item = item.get("start"), item.get("end")
    if start_item is None or end_item is None or "id" not in fields or "system" not in fields:
        return None  # the schema walk reported what is missing or malformed
    tz_item = item.get("timezone")
    tz = timerules.zone(str(tz_item.value)) if tz_item is not None else default_tz
    start_w = timerules.parse_when(str(start_item.value))
    end_w = timerules.parse_when(str(end_item.value))
    ok = True
    if start_w.is_date != end_w.is_date:
        b.error(end_item, "start and end must both be dates (an all-day window) or both times",
                f"start is {start_item.value}, end is {end_item.value}: give both a time, or both only a date")
        return None
    try:
        start = timerules.place(start_w, tz)
    except TimeError as exc:
        b.error(start_item, str(exc), _time_hint(str(exc)))
        ok = False
    try:
        if end_w.day is not None:  # the last day, inclusive: the window ends at the next midnight
            end = timerules.resolve(datetime.combine(end_w.day + timedelta(days=1), time()), tz)
        else:
            end = timerules.place(end_w, tz)
    except TimeError as exc:
        b.error(end_item, str(exc), _time_hint(str(exc)))
        ok = False
    ok = ok and _in_order(b, start_item, end_item, start, end,
                          days_before=end_w.day is not None and start_w.day is not None and end_w.day < start_w.day)

    for ref in item.entries("audiences"):
        if ref.value not in audiences:
            b.error(ref, f"unknown audience {ref.value!r}" + _known(audiences),
                    "define it under audiences:, or correct the name")
            ok = False

    rule = None
    repeat = fields.get("repeat")
    if repeat is not None and ok:
        rule = _rule(b, item, start, tz, start_w.day)
        ok = rule is not None
    exceptions = _exceptions(b, item, repeat is not None, tz)
    window_notify = _window_notify(b, item.get("notify"), notify)
    if not ok:
        return None
    return Window(
        id=fields["id"], system=fields["system"], title=fields.get("title"), start=start,
        end=end, tz=tz, all_day=start_w.is_date, status=fields.get("status", "confirmed"),
        services=tuple(fields.get("services") or ()), description=fields.get("description"),
        alternatives=fields.get("alternatives"), contacts=fields.get("contacts"),
        url=fields.get("url"),
        audiences=tuple(fields["audiences"]) if "audiences" in fields else tuple(audiences),
        repeat=repeat, exceptions=exceptions, notify=window_notify,
        source=fields.get("source"), rule=rule, loc=item.loc,
    )


def _in_order(b: _Builder, start_item: Item, end_item: Item, start: datetime, end: datetime,
              days_before: bool = False) -> bool:
    """Given a window's start and end (items and instants), return True when the end comes after the
    start, else record the error with both values as written (``days_before``: an all-day window's
    last day is before its first, though its end, the next midnight, equals the start)."""
    if end.astimezone(UTC) > start.astimezone(UTC):  # in UTC: a fall-back hour counts twice
        return True
    before = days_before or end.astimezone(UTC) < start.astimezone(UTC)
    b.error(end_item, f"end {end_item.value} is before start {start_item.value}" if before
            else f"end equals start ({start_item.value})",
            "swap them, or check the date of the end (a window past midnight ends on the next day)")
    return False


def _exceptions(b: _Builder, item: Item, repeats: bool, tz: ZoneInfo) -> tuple[date | datetime, ...]:
    """Given a window item, return its ``except:`` entries as dates, naive local times, or aware
    instants (written with an offset)."""
    except_item = _sub(item, "except")
    if except_item is not None and not repeats:
        b.error(except_item, "except: only applies to a window with repeat:",
                "remove except:, or add repeat: (an RRULE such as FREQ=WEEKLY;BYDAY=SU)")
    out: list[date | datetime] = []
    for ex in item.entries("except"):
        written = timerules.parse_when(str(ex.value))
        if written.day is not None:
            out.append(written.day)
        elif written.fixed is not None:  # an instant: it names the occurrence that starts then
            out.append(written.fixed.astimezone(tz))
        elif written.local is not None:
            out.append(written.local)
    return tuple(out)


def _rule(b: _Builder, item: Item, start: datetime, tz: ZoneInfo, day: date | None) -> timerules.Repeat | None:
    """Given a repeating window's item and its aware start (``day`` for an all-day window), return
    its rule, or None after recording why the feed could not say what the planner means."""
    repeat_item = _sub(item, "repeat") or item
    first = datetime.combine(day, time()) if day is not None else start.replace(tzinfo=None, fold=0)
    try:
        rule = timerules.parse_rrule(str(repeat_item.value), first, tz, all_day=day is not None)
    except TimeError as exc:
        b.error(repeat_item, str(exc), "an RFC 5545 RRULE, e.g. FREQ=WEEKLY;BYDAY=SU or FREQ=MONTHLY;BYDAY=1SA")
        return None
    head = next(iter(rule), None)
    if head is None:
        b.error(repeat_item, "the repeat has no occurrence (is UNTIL before the start?)")
        return None
    if head != first:
        b.error(repeat_item, f"the start {first:%Y-%m-%d %H:%M} ({first:%A}) is not an occurrence of "
                f"the repeat, whose first is {head:%Y-%m-%d %H:%M} ({head:%A}): calendar readers disagree "
                "whether it counts; start on an occurrence")
        return None
    if day is None and timerules.is_ambiguous(start):
        b.error(_sub(item, "start") or item, f"a repeat cannot start at {first:%H:%M} on {first:%Y-%m-%d}, "
                "an hour that happens twice (DST ends): its rule repeats the wall-clock time, which "
                "Thunderbird and Evolution read as the second and other calendars as the first",
                "start it on another day of the repeat, or outside the repeated hour")
        return None
    return rule


def _time_hint(message: str) -> str | None:
    """Given the message of a time that cannot be placed in its zone, return how to fix it."""
    if "does not exist" in message:
        return "the clocks jump over this time (DST starts): pick a time an hour later, or write the offset"
    return None


def _one_of(b: _Builder, item: Item, keys: tuple[str, ...], required: bool) -> None:
    given = [k for k in keys if _sub(item, k) is not None]
    if len(given) > 1:
        b.error(item, f"set only one of {', '.join(keys)}", f"remove all but one of {', '.join(given)}")
    elif required and not given:
        b.error(item, f"one of {', '.join(keys)} is required", f"add {keys[0]}: (or {', '.join(keys[1:])}:)")


def _file(item: Item | None, key: str) -> str | None:
    """Given a mapping item and a ``*_file`` key, return its path, a relative one taken from the
    folder of the file it is written in (like ``include:``), not from the working directory."""
    sub = _sub(item, key)
    if sub is None or not isinstance(sub.value, str):
        return None
    path = sub.value
    return path if not path or posixpath.isabs(path) else posixpath.join(posixpath.dirname(sub.loc.file), path)


def _webhook(b: _Builder, name: str, item: Item) -> Webhook:
    _one_of(b, item, ("url_file", "url_env", "url_credential"), required=True)
    _one_of(b, item, ("secret_file", "secret_env", "secret_credential"), required=False)
    f = _plain(item)
    return Webhook(name, f.get("kind", ""), _file(item, "url_file"), f.get("url_env"),
                   _file(item, "secret_file"), f.get("secret_env"), _duration(_sub(item, "timeout")),
                   _duration(_sub(item, "retry")), f.get("mention_all") is True, f.get("url_credential"),
                   f.get("secret_credential"))


def _bare(text: str) -> str:
    """Given an address as written, return its bare address in lower case (itself when unparsable)."""
    try:
        return addresses.parse(text).address.lower()
    except addresses.AddressError:
        return text.strip().lower()


def _address(b: _Builder, item: Item | None, recipient: bool = False) -> None:
    """Given an address item (or None), record an error unless it is exactly one mailbox, and for a
    ``recipient`` a warning when its domain has no dot."""
    if item is None:
        return
    try:
        mailbox = addresses.parse(str(item.value))
    except addresses.AddressError as exc:
        b.error(item, str(exc), "write a@example.com or Name <a@example.com>")
        return
    if recipient and "." not in mailbox.address.rpartition("@")[2]:
        b.note(item, f"{mailbox.address!r} has no dot in its domain: most mail servers will refuse it",
               "write the full domain, e.g. a@example.com (a dotless domain only works inside some intranets)")


def _email(b: _Builder, item: Item | None) -> Email:
    f = _plain(item) or {}
    _address(b, _sub(item, "from"))
    _address(b, _sub(item, "reply_to"))
    smtp = None
    smtp_item = _sub(item, "smtp")
    if smtp_item is not None:
        _one_of(b, smtp_item, ("password_file", "password_env", "password_credential"), False)
        s = _plain(smtp_item)
        security = s.get("security", "")
        port = s.get("port") or {"tls": 465, "starttls": 587, "none": 25}.get(security, 0)
        smtp = Smtp(s.get("host", ""), port, security, s.get("username"), _file(smtp_item, "password_file"),
                    s.get("password_env"), s.get("password_credential"), _file(smtp_item, "ca_file"),
                    _duration(_sub(smtp_item, "timeout")), _duration(_sub(smtp_item, "retry")),
                    s.get("connections", 1))
    return Email(f.get("from", ""), f.get("reply_to"), smtp)


def _calendar(b: _Builder, item: Item | None, audiences: dict[str, Audience]) -> Calendar:
    f = _plain(item) or {}
    feeds = []
    names: set[str] = set()
    for feed_item in item.entries("feeds") if item is not None else []:
        feed = _plain(feed_item)
        if "name" not in feed:
            continue
        if feed["name"] in names or feed["name"] == "calendar":
            b.error(feed_item, f"feed name {feed['name']!r} is already used")
        names.add(feed["name"])
        _one_of(b, feed_item, ("token_file", "token_env"), required=False)
        for ref in feed_item.entries("audiences"):
            if ref.value not in audiences:
                b.error(ref, f"unknown audience {ref.value!r}" + _known(audiences),
                        "define it under audiences:, or correct the name")
        feeds.append(Feed(feed["name"], feed.get("title"), tuple(feed.get("audiences") or ()),
                          tuple(feed.get("systems") or ()), _file(feed_item, "token_file"),
                          feed.get("token_env"), _maintnote(feed.get("maintnote"))))
    base_url = f.get("base_url")
    domain = f.get("domain") or (urlsplit(base_url).hostname if base_url else None)
    return Calendar(
        name=f.get("name", ""), description=f.get("description"),
        refresh=_duration(_sub(item, "refresh")), base_url=base_url,
        domain=domain or DEFAULT_DOMAIN,
        keep_cancelled=_duration(_sub(item, "keep_cancelled")),
        alarms=_offsets(b, _sub(item, "alarms")), feeds=tuple(feeds),
        maintnote=_maintnote(f.get("maintnote")),
    )


def _maintnote(given: Any) -> Maintnote | None:
    """Given a feed's checked ``maintnote`` mapping (or None), return it (None when absent)."""
    if not isinstance(given, dict) or "account" not in given:
        return None
    return Maintnote(given.get("provider"), given["account"], given.get("impact", "OUTAGE"))


_MATCHER = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)(=~|!~|!=|=)"((?:[^"\\]|\\.)*)"')


def _matchers(b: _Builder, item: Item) -> tuple[Matcher, ...]:
    """Given a list of matcher strings (the schema checked their shape), return them; record an error
    for a regular expression that does not compile."""
    out = []
    for sub in item.value if isinstance(item.value, list) else []:
        found = _MATCHER.fullmatch(str(sub.value))
        if found is None:
            continue  # the schema reported it
        name, op, quoted = found.groups()
        value = re.sub(r"\\(.)", r"\1", quoted)
        if "~" in op:
            try:
                re.compile(value)
            except re.error as exc:
                b.error(sub, f"{value!r} is not a regular expression: {exc}")
                continue
        out.append(Matcher(name, value, "~" in op, not op.startswith("!")))
    return tuple(out)


def _matches_empty(m: Matcher) -> bool:
    """Given a matcher, return whether an alert without its label (an empty value) matches it."""
    hit = re.fullmatch(m.value, "") is not None if m.is_regex else m.value == ""
    return hit == m.is_equal


def _no_password_in_url(b: _Builder, url_item: Item | None, instead: str) -> None:
    """Record an error for a URL that holds a password (it would be logged, recorded and printed)."""
    if url_item is not None and isinstance(url_item.value, str) and urlsplit(url_item.value).password is not None:
        b.error(url_item, "the URL holds a password", f"remove user:password@ from it; {instead}")


def _alertmanager(b: _Builder, item: Item, windows: list[Window]) -> Alertmanager:
    """Given one ``monitoring.alertmanager`` entry, return it; unknown window ids are errors, systems
    no window has are warnings (a typo silences nothing)."""
    _no_password_in_url(b, item.get("url"), "set username: and password_file:")
    _one_of(b, item, ("password_file", "password_env", "password_credential", "token_file", "token_env",
                      "token_credential"), required=False)
    f = _plain(item)
    if f.get("username") is not None and not any(k.startswith("password_") for k in f):
        b.error(item.get("username") or item, "username needs a password_file, password_env or password_credential")
    systems = {w.system for w in windows}
    ids = {w.id for w in windows}
    by_system, by_window = {}, {}
    for name, sub in item.named("systems").items():
        if name not in systems:
            b.note(sub, f"no window has the system {name!r}" + _known(systems), "correct it to a window's system:")
        by_system[name] = _matchers(b, sub)
    for name, sub in item.named("windows").items():
        if name not in ids:
            b.error(sub, f"unknown window {name!r}" + _known(ids), "correct the id, or remove the entry")
        by_window[name] = _matchers(b, sub)
    for w in windows:  # Alertmanager refuses a silence whose matchers all match a missing label
        combined = (*by_system.get(w.system, ()), *by_window.get(w.id, ()))
        if combined and all(_matches_empty(m) for m in combined):
            where = item.named("windows").get(w.id) or item.named("systems")[w.system]
            b.error(where, f"window {w.id!r}: every matcher also matches alerts without the label, which would "
                    "silence everything: Alertmanager refuses it", 'add one that needs a value, e.g. job="postgres"')
    return Alertmanager(
        str(f.get("url", "")).rstrip("/"), by_system, by_window, _duration(_sub(item, "before")).approx,
        _duration(_sub(item, "after")).approx, _duration(_sub(item, "ahead")).approx, f.get("username"),
        _file(item, "password_file"), f.get("password_env"), f.get("password_credential"), _file(item, "token_file"),
        f.get("token_env"), f.get("token_credential"), _duration(_sub(item, "timeout")).approx,
        _duration(_sub(item, "retry")).approx)


_KIND_KEYS = {"caldav": ("url", "user", "password_file", "password_env", "password_credential"),
              "graph": ("tenant", "client_id", "client_secret_file", "client_secret_env", "client_secret_credential",
                        "mailbox", "calendar_id", "login_url", "graph_url"),
              "google": ("url", "key_file", "key_env", "key_credential", "calendar_id", "subject")}
_KIND_NEEDS = {"caldav": ("url",), "graph": ("tenant", "client_id", "mailbox"), "google": ("calendar_id",)}
_KIND_SECRET = {"graph": ("client_secret_file", "client_secret_env", "client_secret_credential"),
                "google": ("key_file", "key_env", "key_credential")}


def _kind_keys(b: _Builder, item: Item, f: dict[str, Any]) -> None:
    """Given a calendar target, record the keys its kind needs and those of another kind."""
    kind = f.get("kind")
    for key in _KIND_NEEDS.get(kind or "", ()):
        if f.get(key) is None:
            b.error(replace(item.loc, path=f"{item.loc.path}.{key}"), "missing (required)",
                    f"add `{key}:` (a `{kind}` calendar needs it)")
    if kind in _KIND_SECRET:
        _one_of(b, item, _KIND_SECRET[kind], required=True)
    if kind not in _KIND_KEYS:
        return  # the schema reported the kind
    for key in f:
        found, owners = item.get(key), [k for k, keys in _KIND_KEYS.items() if key in keys]
        if owners and key not in _KIND_KEYS[kind] and found is not None and found.written:
            b.error(found, f"`{key}` is for a `{'` or `'.join(owners)}` calendar, not `{kind}`",
                    f"remove it, or set kind: {owners[0]}")


def _calendars(b: _Builder, main: Item, audiences: dict[str, Audience]) -> dict[str, CalendarTarget]:
    """Given the main file, return the calendars windows are pushed into; record unknown audiences
    and more than one password source."""
    out = {}
    for name, item in main.named("calendars").items():
        _one_of(b, item, ("password_file", "password_env", "password_credential"), required=False)
        for ref in item.entries("audiences"):
            if ref.value not in audiences:
                b.error(ref, f"unknown audience {ref.value!r}" + _known(audiences),
                        "define it under audiences:, or correct the name")
        f = _plain(item)
        _no_password_in_url(b, item.get("url"), "set user: and password_file:")
        if f.get("user") is None and any(f.get(k) for k in ("password_file", "password_env", "password_credential")):
            b.error(item, f"calendar {name!r} has a password but no user", "add user: NAME")
        _kind_keys(b, item, f)
        out[name] = CalendarTarget(name, f.get("kind", ""), f.get("url", ""), f.get("user"),
                                   _file(item, "password_file"), f.get("password_env"), f.get("password_credential"),
                                   _texts(item.get("audiences")), _texts(item.get("systems")),
                                   _duration(item.get("timeout")), _duration(item.get("retry")),
                                   key_file=_file(item, "key_file"), key_env=f.get("key_env"),
                                   key_credential=f.get("key_credential"), calendar_id=f.get("calendar_id", ""),
                                   subject=f.get("subject"),
                                   graph=_graph_access(item) if f.get("kind") == "graph" else None)
    return out


def _graph_access(item: Item) -> GraphAccess:
    """Given a ``calendars:`` entry of kind graph, return how Graph reaches it (:func:`_kind_keys`
    has recorded what is missing)."""
    f = _plain(item)
    return GraphAccess(str(f.get("tenant", "")), str(f.get("client_id", "")), _file(item, "client_secret_file"),
                       f.get("client_secret_env"), f.get("client_secret_credential"), str(f.get("mailbox", "")),
                       f.get("calendar_id"), str(f["login_url"]).rstrip("/"), str(f["graph_url"]).rstrip("/"))

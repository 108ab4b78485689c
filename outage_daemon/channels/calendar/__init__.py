"""Pushed calendars (``calendars:``): the channel whose recipients are calendars and whose payloads
are the writes :mod:`outage_daemon.formats.push` records, so every write is a ledger delivery
(recorded, claimed, retried with backoff, fenced) like an email. Notifications never reach it.

What our last write to each event got back (its href, ETag and SEQUENCE) is kept in the ledger's
meta through :class:`Memo`, so an ``If-Match`` survives a restart and every replica sees it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from outage_daemon.channels import blocking
from outage_daemon.channels.base import Outcome
from outage_daemon.channels.calendar import google
from outage_daemon.channels.calendar.caldav import Failure, Stored, Writer, apply, client, href_of
from outage_daemon.channels.calendar.graph import graph_clients, probe_graph, send_graph
from outage_daemon.core.decide import Notification
from outage_daemon.core.model import CalendarTarget, Config
from outage_daemon.core.records import Revision
from outage_daemon.credentials import CredentialError, secret
from outage_daemon.formats.push import CHANNEL, Push


class Memo:
    """Where what our writes got back is kept: in memory unless the notifier gives the ledger's meta."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    async def get(self, name: str) -> str | None:
        return self.values.get(name)

    async def set(self, name: str, value: str) -> None:
        self.values[name] = value


class LedgerMemo(Memo):
    """A memo in the ledger's meta, through the notifier's ledger thread."""

    def __init__(self, get: Callable[[str], Awaitable[str | None]], put: Callable[[str, str], Awaitable[None]]) -> None:
        super().__init__()
        self._get, self._put = get, put

    async def get(self, name: str) -> str | None:
        return await self._get(name)

    async def set(self, name: str, value: str) -> None:
        await self._put(name, value)


def memo_name(target: str, window_id: str) -> str:
    """Given a calendar and a window, return the meta name of what our last write stored."""
    return f"caldav:{target}:{window_id}"


def index_name(target: str) -> str:
    """Given a calendar, return the meta name of its index (window id → UID, SEQUENCE, until)."""
    return f"caldav:{target}"


def load_stored(text: str | None) -> Stored | None:
    """Given a memo, return what a CalDAV or Google write stored, or None (none, or a Microsoft 365
    write's: the target's kind was changed under the same name)."""
    if not text:
        return None
    f = json.loads(text)
    if "href" not in f:
        return None
    return Stored(str(f["href"]), f.get("etag"), int(f["sequence"]), int(f.get("generation", 0)))


def dump_stored(stored: Stored) -> str:
    return json.dumps({"href": stored.href, "etag": stored.etag, "sequence": stored.sequence,
                       "generation": stored.generation})


class CalendarChannel:
    """Writes into the config's CalDAV, Microsoft 365 and Google calendars, one at a time per daemon (writes to
    one event keep their order)."""

    name = CHANNEL
    concurrency = 1

    def __init__(self, config: Config) -> None:
        self.targets = {n: t for n, t in config.calendars.items() if t.kind in ("caldav", "graph", "google")}
        self.memo: Memo = Memo()
        self.failing: dict[str, str] = {}  # calendar -> the last write's error, while its writes fail
        self.clients: dict[str, Any] = {}
        self.passwords = {n: secret(t.password_file, t.password_env, t.password_credential)
                          for n, t in self.targets.items() if t.kind == "caldav"}
        self.google, self.language = google.Clients(self.targets), config.language
        self.graphs = graph_clients(self.targets)
        if self.passwords:
            try:
                import caldav  # noqa: F401 - an optional extra
            except ImportError as exc:
                raise CredentialError("calendars: needs the caldav library: "
                                      "pip install 'outage-daemon[caldav]'") from exc

    def recipients(self, audiences: tuple[str, ...]) -> list[str]:
        """Notifications reach no calendar: pushes are recorded from the windows themselves."""
        return []

    def render(self, notification: Notification, recipients: list[str], now: datetime,
               revision: Revision | None, threads: Mapping[str, str] | None = None,
               links: Mapping[str, str] | None = None) -> dict[str, bytes]:
        return {}

    def message_id(self, key: str, recipient: str) -> str | None:
        return None

    def retry_base(self, recipient: str) -> timedelta:
        target = self.targets.get(recipient)
        return target.retry.approx if target else timedelta(seconds=30)

    def writer(self, target: CalendarTarget) -> Writer:
        dav = self.clients.get(target.name)
        if dav is None:
            dav = self.clients[target.name] = client(target, self.passwords.get(target.name))
        return Writer(dav)

    async def apply(self, target: CalendarTarget, push: Push, href: str,
                    stored: Stored | None) -> tuple[Outcome, Stored | None]:
        """Given a target and a write, make it on a thread within the target's ``timeout`` for the whole
        write (the library's is per socket read: a server that drips its answer passes it); return what
        :func:`apply` returns, or a temporary failure past the deadline. A write past its deadline keeps
        its client to itself (the next write gets a new one) and is never waited for, at exit neither."""
        try:
            if target.kind == "google":
                return await blocking.call(target.timeout.approx.total_seconds(), google.write, self.google, target,
                                           push, stored, self.language)
            return await blocking.call(target.timeout.approx.total_seconds(), apply, self.writer(target), push,
                                       href, stored)
        except asyncio.TimeoutError:
            self.clients.pop(target.name, None)
            self.google.drop(target.name)
            late = f"no answer within {target.timeout.text} (the whole write)"
            return Outcome(False, temporary=True, error=late), stored

    async def send(self, recipient: str, payload: bytes) -> Outcome:
        """Given a calendar's name and a push, make the write and remember what it got back."""
        target = self.targets.get(recipient)
        if target is None:
            return Outcome(False, error=f"calendar {recipient!r} is no longer in the config")
        try:
            push = Push.from_bytes(payload)
        except ValueError as exc:
            return Outcome(False, error=str(exc))
        name = memo_name(recipient, push.window_id)
        if recipient in self.graphs:
            return self.noted(recipient, await send_graph(self.graphs[recipient], push, self.memo, name, self.language))
        stored = load_stored(await self.memo.get(name))
        href = stored.href if stored else href_of(target, push.uid)
        try:
            outcome, after = await self.apply(target, push, href, stored)
        except Failure as exc:
            return self.noted(recipient, Outcome(False, temporary=exc.status >= 500, error=str(exc)))
        except Exception as exc:  # noqa: BLE001 - the library's network and rate-limit errors, said as they are
            retry = getattr(exc, "retry_after_seconds", None)
            return self.noted(recipient, Outcome(False, temporary=True, error=f"{type(exc).__name__}: {exc}",
                                                 retry_after=float(retry) if retry else None))
        if after != stored:
            await self.memo.set(name, dump_stored(after) if after else "")
        return self.noted(recipient, outcome)

    def noted(self, recipient: str, outcome: Outcome) -> Outcome:
        """Given a calendar and a write's outcome, remember whether its writes fail; return the outcome."""
        if outcome.ok:
            self.failing.pop(recipient, None)
        else:
            self.failing[recipient] = outcome.error or "failed"
        return outcome

    async def probe(self, recipient: str, test_uid: str, body: bytes) -> Outcome:
        """Given a calendar's name and a test event, write it and remove it again (``send-test``),
        outside the ledger."""
        target = self.targets[recipient]
        create = Push("put", "test", test_uid, 0, body)
        if recipient in self.graphs:
            return await probe_graph(self.graphs[recipient], create, Memo())
        href = href_of(target, test_uid)
        try:
            made, stored = await self.apply(target, create, href, None)
            if not made.ok or stored is None:
                return made
            gone, _ = await self.apply(target, replace(create, op="delete"), href, stored)
        except Exception as exc:  # noqa: BLE001 - said as it is, like a failed send
            return Outcome(False, error=f"{type(exc).__name__}: {exc}")
        return gone if not gone.ok else Outcome(True)

    async def close(self) -> None:
        for dav in self.clients.values():
            await asyncio.to_thread(dav.close)
        self.clients.clear()
        await asyncio.to_thread(self.google.close)
        for one in self.graphs.values():
            await one.close()

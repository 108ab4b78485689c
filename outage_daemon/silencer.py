"""Alertmanager silences kept in step with the windows: the thin shell around :mod:`core.silences`.

One pass, for each configured Alertmanager: list the silences (``GET /api/v2/silences``), compute
the changes for ``now``, then create or update (``POST /api/v2/silences``) and expire (``DELETE
/api/v2/silence/ID``). Grafana's Alertmanager answers the same API under its path prefix
(``https://grafana.example.com/api/alertmanager/grafana``), so the same code serves it. A pass runs
under the ledger's ``hold("silences")`` (an advisory lock on PostgreSQL): one replica at a time, the
others skip it and find its work done on their next pass. Every change, and every failure, is
recorded in the ledger. A request that fails on the network, a 5xx or a 429 is tried again with
doubling waits (three tries); the next pass (one poll later) starts over from the listing.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from outage_daemon.core.model import Alertmanager, Config
from outage_daemon.core.records import SilenceAction
from outage_daemon.core.silences import Changes, body, desired, parse_listing, reconcile
from outage_daemon.credentials import CredentialError, secret
from outage_daemon.ledger import Ledger

log = logging.getLogger("outage_daemon")

JOB = "silences"
TRIES = 3
MAX_ANSWER = 1 << 22  # bytes of an answer read at most (a listing of thousands of silences fits)


class Db:
    """How the shell reaches the ledger: ``call(func, *args)`` runs a ledger call off the loop."""

    def __init__(self, ledger: Ledger, call: Callable[..., Awaitable[Any]]) -> None:
        self.ledger, self.call = ledger, call


class Failed(Exception):
    """A request to an Alertmanager failed for good (after its tries, or at once for a 4xx)."""


@dataclass(frozen=True)
class Client:
    """One Alertmanager's base URL, its authorization header (if any), its timeout and first wait."""

    url: str
    headers: dict[str, str]
    timeout: float
    retry: timedelta

    @classmethod
    def of(cls, target: Alertmanager) -> Client:
        """Given a configured Alertmanager, return its client; raise CredentialError."""
        headers = {"Accept": "application/json"}
        token = secret(target.token_file, target.token_env, target.token_credential)
        password = secret(target.password_file, target.password_env, target.password_credential)
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        elif password is not None:
            pair = f"{target.username or ''}:{password}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        return cls(target.url, headers, target.timeout.total_seconds(), target.retry)

    async def request(self, session: aiohttp.ClientSession, method: str, path: str,
                      doc: dict[str, Any] | None = None) -> Any:
        """Given a method, a path under ``/api/v2`` and a JSON body, return the answer's JSON (None
        when empty); retry network errors, 5xx and 429 with doubling waits; raise Failed."""
        wait, error = self.retry.total_seconds(), ""
        for attempt in range(TRIES):
            if attempt:
                await asyncio.sleep(wait)
                wait *= 2
            try:
                async with session.request(method, f"{self.url}/api/v2{path}", json=doc, headers=self.headers,
                                           timeout=aiohttp.ClientTimeout(total=self.timeout),
                                           allow_redirects=False) as response:
                    text = (await _answer(response.content, method, path)).decode(errors="replace")
                    status = response.status
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                error = f"{method} {path}: {type(exc).__name__}: {exc}".strip().rstrip(":")
                continue
            if status == 429 or status >= 500:
                error = f"{method} {path}: HTTP {status}: {text[:200]}"
                continue
            if not 200 <= status < 300:
                raise Failed(f"{method} {path}: HTTP {status}: {text[:200]}")
            return json.loads(text) if text.strip() else None
        raise Failed(error)


async def _answer(content: aiohttp.StreamReader, method: str, path: str) -> bytes:
    """Return an answer's body read to its end (a listing sent in several writes is read whole);
    raise Failed when it is longer than MAX_ANSWER."""
    data = bytearray()
    async for chunk in content.iter_chunked(1 << 16):
        data += chunk
        if len(data) > MAX_ANSWER:
            raise Failed(f"{method} {path}: the answer is larger than {MAX_ANSWER >> 20} MiB")
    return bytes(data)


async def sync(config: Config, now: datetime, db: Db, session: aiohttp.ClientSession,
               failing: dict[str, str] | None = None) -> list[SilenceAction] | None:
    """Given the config, ``now``, the ledger and an HTTP session, bring every configured Alertmanager's
    silences in step and record what was done; return it, or None when another replica holds the job.
    ``failing`` (target → why it could not be listed) keeps an Alertmanager that stays unreachable
    from adding the same failure to the ledger at every poll. Raise LedgerError."""
    if not config.alertmanagers:
        return []
    hold = db.ledger.hold(JOB)
    if not await db.call(hold.__enter__):
        await db.call(hold.__exit__, None, None, None)
        return None
    try:
        actions = []
        for target in config.alertmanagers:
            actions.extend(await sync_one(config, target, now, session))
        recorded = actions
        if failing is not None:
            recorded = [a for a in actions if a.action != "list" or failing.get(a.target) != a.error]
            failing.clear()
            failing.update({a.target: a.error or "" for a in actions if a.action == "list"})
        if recorded:
            await db.call(db.ledger.record_silences, recorded)
        return actions
    finally:
        await db.call(hold.__exit__, None, None, None)


async def sync_one(config: Config, target: Alertmanager, now: datetime,
                   session: aiohttp.ClientSession) -> list[SilenceAction]:
    """Given one Alertmanager, list its silences and make the changes; return what was done (a
    failure to reach it at all is one action ``list`` with its error)."""
    try:
        client = Client.of(target)
        listed = parse_listing(await client.request(session, "GET", "/silences"))
    except (CredentialError, Failed, ValueError, KeyError, TypeError) as exc:
        log.warning("alertmanager %s: cannot list silences: %s", target.url, exc)
        return [SilenceAction(now, target.url, "", "", "list", None, None, None, str(exc))]
    changes = reconcile(desired(config, target, now), listed, now)
    return await _apply(client, session, changes, now) if changes else []


async def _apply(client: Client, session: aiohttp.ClientSession, changes: Changes,
                 now: datetime) -> list[SilenceAction]:
    done = []
    for replaced, silence in [(None, s) for s in changes.create] + [(i, s) for i, s in changes.update]:
        action = "create" if replaced is None else "update"
        try:
            answer = await client.request(session, "POST", "/silences", body(silence, replaced))
            made: str | None = str(answer["silenceID"])
            error = None
        except (Failed, KeyError, TypeError, ValueError) as exc:
            made, error = replaced, str(exc)
        done.append(SilenceAction(now, client.url, silence.window_id, silence.occurrence, action, made,
                                  silence.starts, silence.ends, error))
    for listed in changes.expire:
        window, _, occurrence = (listed.tag or "/").partition("/")
        try:
            await client.request(session, "DELETE", f"/silence/{listed.id}")
            error = None
        except Failed as exc:
            error = str(exc)
        done.append(SilenceAction(now, client.url, window, occurrence, "expire", listed.id, listed.starts,
                                  listed.ends, error))
    for a in done:
        if a.error:
            log.warning("alertmanager %s: %s silence of %s/%s failed: %s", a.target, a.action, a.window_id,
                        a.occurrence, a.error)
        else:
            log.info("alertmanager %s: %s silence %s of %s/%s", a.target, a.action, a.silence_id, a.window_id,
                     a.occurrence)
    return done


class Silencer:
    """The daemon's part: one pass at a time, an HTTP session kept between passes."""

    def __init__(self, db: Db) -> None:
        self.db = db
        self.lock = asyncio.Lock()
        self.session: aiohttp.ClientSession | None = None
        self.failing: dict[str, str] = {}  # Alertmanagers that could not be listed, and why

    async def run(self, config: Config, now: datetime) -> list[SilenceAction] | None:
        """Run one pass; see :func:`sync`. Return None at once while one is under way (a slow or
        unreachable Alertmanager must not pile passes up: the next poll catches up). Raise LedgerError."""
        if not config.alertmanagers or self.lock.locked():
            return None
        async with self.lock:
            if self.session is None:
                self.session = aiohttp.ClientSession()
            return await sync(config, now, self.db, self.session, self.failing)

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

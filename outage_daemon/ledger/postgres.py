"""The shared ledger: one PostgreSQL database that every replica of a deployment records into.

Recording is idempotent (``INSERT … ON CONFLICT DO NOTHING``); claims take free rows with
``FOR UPDATE SKIP LOCKED`` and set owner, claim number and lease on the database clock; outcomes
are written only where owner and claim number still match (fencing). A claim whose lease ran out
while the server was down is not taken over by another replica until a lease plus
:data:`RECONNECT` after the server started: its holder, alive, reconnects first and records the
outcomes it kept in memory (or renews the claim), so a long outage repeats nothing it sent. A reload runs as one
transaction under an advisory lock (:meth:`PostgresLedger.exclusive`), so two replicas reloading
the same change store one set of revisions and record one set of notices. ``NOTIFY`` after a
record or a reload wakes the peers (a hint: they poll anyway). The schema is created and migrated
here, under an advisory lock, and versioned in ``outage_daemon_schema``.

psycopg 3 (sync) with psycopg_pool: the notifier calls the ledger from one worker thread; a
LISTEN thread of its own holds one more connection. Every database error becomes a one-line
:class:`LedgerError` that never shows the password.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

import psycopg
from psycopg_pool import ConnectionPool

from outage_daemon.core.acks import Acknowledgement
from outage_daemon.core.kinds import Kind
from outage_daemon.core.records import (
    Attempt,
    Decision,
    Delivery,
    Entry,
    History,
    Peer,
    Revision,
    Schedule,
    SilenceAction,
)
from outage_daemon.ledger.base import HISTORY_SQL, LEASE, LedgerError, history_entries, redact

log = logging.getLogger("outage_daemon")
logging.getLogger("psycopg.pool").setLevel(logging.ERROR)  # its reconnection warnings: the daemon says it once

CHANNEL = "outage_daemon"
MIGRATE_LOCK = 0x6F757461_6765_0001  # pg_advisory_xact_lock keys: "outage" + 1 (migrations), + 2 (exclusive)
EXCLUSIVE_LOCK = 0x6F757461_6765_0002
JOB_LOCKS = 0x6F757461  # pg_try_advisory_lock(JOB_LOCKS, hashtext(name)): one replica runs a named job at a time
CONNECT_TIMEOUT = 5  # seconds to reach the server
WAIT = 3.0  # seconds a call waits for a pooled connection (the server is down: fail, retry later)
SESSION = ("SET TIME ZONE 'UTC'; SET idle_in_transaction_session_timeout = '30s'; "
           "SET statement_timeout = '60s'; SET lock_timeout = '20s'")
# After the server starts, another replica's expired claims are taken over only once a lease and this
# much more have passed: time for their holder to reconnect and write the outcomes it kept meanwhile.
RECONNECT = timedelta(seconds=10)
# A pooled connection given back this recently (in a good state: the pool drops a broken one) is used
# without the pool's check, a round trip of its own; a server gone since fails that one call instead.
FRESH = 1.0
P = ParamSpec("P")
T = TypeVar("T")

SCHEMA = [
    # version 1: everything the SQLite ledger holds at its version 4, with claims and heartbeats
    """
    CREATE TABLE revisions (
        window_id     text PRIMARY KEY,
        fingerprint   text NOT NULL,
        sequence      integer NOT NULL,
        created       timestamptz NOT NULL,
        last_modified timestamptz NOT NULL
    );
    CREATE TABLE decisions (
        key        text PRIMARY KEY,
        window_id  text NOT NULL,
        kind       text NOT NULL,
        due        timestamptz NOT NULL,
        state      text NOT NULL CHECK (state IN ('send', 'skipped')),
        reason     text,
        decided_at timestamptz NOT NULL
    );
    CREATE TABLE deliveries (
        key         text NOT NULL,
        recipient   text NOT NULL,
        channel     text NOT NULL,
        state       text NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
        attempts    integer NOT NULL DEFAULT 0,
        last_error  text,
        message_id  text,
        payload     bytea,
        expires     timestamptz NOT NULL,
        next_try    timestamptz NOT NULL,
        created     timestamptz NOT NULL,
        updated     timestamptz NOT NULL,
        owner       text,
        claim       bigint NOT NULL DEFAULT 0,
        lease_until timestamptz,
        PRIMARY KEY (key, recipient, channel)
    );
    CREATE INDEX deliveries_pending ON deliveries (next_try) WHERE state = 'pending';
    CREATE TABLE schedules (
        window_id text PRIMARY KEY,
        schedule  text NOT NULL
    );
    CREATE TABLE meta (
        name  text PRIMARY KEY,
        value text NOT NULL
    );
    CREATE TABLE nodes (
        node        text PRIMARY KEY,
        config_hash text NOT NULL,
        version     text NOT NULL,
        started     timestamptz NOT NULL,
        last_seen   timestamptz NOT NULL
    );
    """,
    # version 2: changes made to Alertmanager silences
    """
    CREATE TABLE silence_actions (
        id         bigserial PRIMARY KEY,
        at         timestamptz NOT NULL,
        target     text NOT NULL,
        window_id  text NOT NULL,
        occurrence text NOT NULL,
        action     text NOT NULL,
        silence_id text,
        starts     timestamptz,
        ends       timestamptz,
        error      text
    );
    CREATE INDEX silence_actions_window ON silence_actions (window_id, at);
    """,
    # version 3: acknowledgements (who confirmed which window occurrence, via which channel, when)
    """
    CREATE TABLE acknowledgements (
        window_id  text NOT NULL,
        occurrence text NOT NULL,
        channel    text NOT NULL,
        recipient  text NOT NULL,
        at         timestamptz NOT NULL,
        PRIMARY KEY (window_id, occurrence, channel, recipient)
    );
    """,
]

_COLUMNS = ("key, recipient, channel, state, attempts, last_error, message_id, payload, expires, next_try, "
            "owner, claim")
_CLAIM = (
    "WITH t AS (SELECT COALESCE(%(now)s::timestamptz, clock_timestamp()) AS now), "
    "picked AS (SELECT d.key, d.recipient, d.channel FROM deliveries d, t WHERE d.state = 'pending' "
    "AND d.next_try <= t.now AND (d.owner IS NULL OR d.lease_until IS NULL OR d.lease_until <= t.now) "
    "AND (d.owner IS NULL OR d.owner = %(owner)s OR %(now)s::timestamptz IS NOT NULL "
    "OR pg_postmaster_start_time() + %(lease)s + %(reconnect)s <= t.now) "
    "AND (%(channel)s::text IS NULL OR d.channel = %(channel)s::text) "
    "ORDER BY d.created, d.key, d.recipient LIMIT %(limit)s FOR UPDATE OF d SKIP LOCKED) "
    "UPDATE deliveries d SET owner = %(owner)s, claim = d.claim + 1, lease_until = t.now + %(lease)s "
    "FROM picked, t WHERE (d.key, d.recipient, d.channel) = (picked.key, picked.recipient, picked.channel) "
    "RETURNING d.key, d.recipient, d.channel, d.state, d.attempts, d.last_error, d.message_id, d.payload, "
    "d.expires, d.next_try, d.owner, d.claim, d.created")


def _delivery(row: Sequence[Any]) -> Delivery:
    key, recipient, channel, state, attempts, error, message_id, payload, expires, next_try, owner, claim = row[:12]
    return Delivery(key, recipient, channel, state, attempts, error, message_id,
                    bytes(payload) if payload is not None else None, expires, next_try, owner, claim)


def _translated(func: Callable[P, T]) -> Callable[P, T]:
    """Turn a database error of one call into a one-line LedgerError."""

    @functools.wraps(func)
    def call(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return func(*args, **kwargs)
        except psycopg.Error as exc:
            ledger = args[0]
            if isinstance(ledger, PostgresLedger):
                raise ledger.error(exc) from None
            raise

    return call


class PostgresLedger:
    """An open, migrated PostgreSQL ledger (a pool of connections). Call :meth:`close` when done."""

    shared = True

    def __init__(self, url: str) -> None:
        self.url = redact(url)
        self._password = urlsplit(url).password or ""
        self._conninfo = url
        self._local = threading.local()
        self._origin = uuid.uuid4().hex[:12]
        self._stop = threading.Event()
        self._listener: threading.Thread | None = None
        self._used: weakref.WeakKeyDictionary[psycopg.Connection[Any], float] = weakref.WeakKeyDictionary()
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT) as conn:
                self._migrate(conn)
        except psycopg.Error as exc:
            raise self.error(exc, "cannot open the ledger") from None
        self.pool = ConnectionPool(url, min_size=1, max_size=4, open=False, timeout=WAIT, name="outage-ledger",
                                   kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT},
                                   configure=self._configure, check=self._check,
                                   reconnect_timeout=3600)
        self.pool.open(wait=False)

    def error(self, exc: BaseException, what: str = "ledger") -> LedgerError:
        """Given a database error, return it as one line naming the server, without the password."""
        text = " ".join(str(exc).split()) or type(exc).__name__
        if self._password:
            text = text.replace(self._password, "***")
        return LedgerError(f"{what} {self.url}: {text}")

    @staticmethod
    def _configure(conn: psycopg.Connection[Any]) -> None:
        conn.execute(SESSION)

    def _check(self, conn: psycopg.Connection[Any]) -> None:
        """The pool's check of a connection it hands out, unless it was given back within FRESH seconds."""
        if time.monotonic() - self._used.get(conn, float("-inf")) > FRESH:
            ConnectionPool.check_connection(conn)

    def _migrate(self, conn: psycopg.Connection[Any]) -> None:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK,))
            conn.execute("CREATE TABLE IF NOT EXISTS outage_daemon_schema (version integer NOT NULL)")
            row = conn.execute("SELECT max(version) FROM outage_daemon_schema").fetchone()
            try:
                current = int(row[0]) if row and row[0] is not None else 0
            except (TypeError, ValueError):
                raise LedgerError(f"the ledger {self.url} has a schema version that is not a number "
                                  "(outage_daemon_schema.version): it was not made by outage-daemon, or was "
                                  "damaged; give the daemon an empty database") from None
            if current > len(SCHEMA):
                raise LedgerError(f"the ledger {self.url} is at schema version {current}, newer than this "
                                  f"outage-daemon understands ({len(SCHEMA)}): upgrade outage-daemon")
            for number, script in enumerate(SCHEMA[current:], start=current + 1):
                conn.execute(script)
                conn.execute("DELETE FROM outage_daemon_schema")
                conn.execute("INSERT INTO outage_daemon_schema VALUES (%s)", (number,))
                log.info("ledger %s: schema version %d", self.url, number)

    def close(self) -> None:
        self._stop.set()
        if self._listener is not None:
            self._listener.join(5)
        self.pool.close()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[psycopg.Connection[Any]]:
        """One transaction on a pooled connection, or the exclusive block's own (blocks nest)."""
        held: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if held is not None:
            yield held
            return
        with self._pooled() as conn, conn.transaction():
            yield conn

    @contextlib.contextmanager
    def _one(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection for one statement (atomic by itself: autocommit, one round trip instead
        of three), or the exclusive block's own transaction."""
        held: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if held is not None:
            yield held
            return
        with self._pooled() as conn:
            yield conn

    @contextlib.contextmanager
    def _pooled(self) -> Iterator[psycopg.Connection[Any]]:
        with self.pool.connection() as conn:
            self._used.pop(conn, None)  # checked when next handed out, unless this use ends well
            yield conn
            self._used[conn] = time.monotonic()

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        if getattr(self._local, "conn", None) is not None:
            yield
            return
        try:
            with self._tx() as conn:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (EXCLUSIVE_LOCK,))
                self._local.conn = conn
                try:
                    yield
                finally:
                    self._local.conn = None
        except psycopg.Error as exc:
            raise self.error(exc) from None

    def exclusive(self) -> contextlib.AbstractContextManager[None]:
        return self._exclusive()

    def _notify(self, conn: psycopg.Connection[Any], topic: str) -> None:
        conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"{topic} {self._origin}"))

    @_translated
    def now(self) -> datetime | None:
        with self._one() as conn:
            row = conn.execute("SELECT clock_timestamp()").fetchone()
        return row[0] if row else None

    # --- the feed ------------------------------------------------------------------------------
    @_translated
    def revisions(self) -> dict[str, Revision]:
        with self._tx() as conn:
            rows = conn.execute("SELECT window_id, fingerprint, sequence, created, last_modified FROM revisions")
            return {r[0]: Revision(*r) for r in rows}

    @_translated
    def save_revisions(self, revisions: Iterable[Revision]) -> None:
        rows = [(r.window_id, r.fingerprint, r.sequence, r.created, r.last_modified) for r in revisions]
        with self._tx() as conn, conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO revisions VALUES (%s, %s, %s, %s, %s) ON CONFLICT (window_id) DO UPDATE SET "
                "fingerprint = excluded.fingerprint, sequence = excluded.sequence, created = excluded.created, "
                "last_modified = excluded.last_modified WHERE revisions.fingerprint <> excluded.fingerprint "
                "OR revisions.sequence <> excluded.sequence", rows)
            if cur.rowcount > 0:
                self._notify(conn, "reload")

    @_translated
    def schedules(self) -> dict[str, Schedule]:
        with self._tx() as conn:
            return {r[0]: Schedule.from_json(r[1]) for r in conn.execute("SELECT window_id, schedule FROM schedules")}

    @_translated
    def save_schedules(self, schedules: Mapping[str, Schedule]) -> None:
        with self._tx() as conn, conn.cursor() as cur:
            cur.executemany("INSERT INTO schedules VALUES (%s, %s) ON CONFLICT (window_id) DO UPDATE SET "
                            "schedule = excluded.schedule", [(k, v.to_json()) for k, v in schedules.items()])

    @_translated
    def get_meta(self, name: str) -> str | None:
        with self._tx() as conn:
            row = conn.execute("SELECT value FROM meta WHERE name = %s", (name,)).fetchone()
            return str(row[0]) if row else None

    @_translated
    def set_meta(self, name: str, value: str) -> None:
        with self._tx() as conn:
            conn.execute("INSERT INTO meta VALUES (%s, %s) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                         (name, value))

    # --- decisions and deliveries --------------------------------------------------------------
    @_translated
    def decided(self, keys: Iterable[str]) -> set[str]:
        with self._tx() as conn:
            rows = conn.execute("SELECT key FROM decisions WHERE key = ANY(%s)", (list(keys),))
            return {r[0] for r in rows}

    @_translated
    def record(self, decisions: Iterable[Decision], deliveries: Iterable[Delivery], now: datetime) -> None:
        chosen, rows = list(decisions), list(deliveries)
        with self._tx() as conn:
            if chosen:
                conn.execute(
                    "INSERT INTO decisions SELECT k, w, kind, due, st, reason, %s FROM unnest(%s::text[], %s::text[], "
                    "%s::text[], %s::timestamptz[], %s::text[], %s::text[]) AS v(k, w, kind, due, st, reason) "
                    "ON CONFLICT DO NOTHING",
                    (now, [d.key for d in chosen], [d.window_id for d in chosen], [str(d.kind) for d in chosen],
                     [d.due for d in chosen], ["skipped" if d.skipped else "send" for d in chosen],
                     [d.reason for d in chosen]))
            if not rows:
                return
            cursor = conn.execute(
                "INSERT INTO deliveries (key, recipient, channel, state, attempts, message_id, payload, expires, "
                "next_try, created, updated) SELECT k, r, c, 'pending', 0, m, p, e, n, %s, %s FROM unnest("
                "%s::text[], %s::text[], %s::text[], %s::text[], %b::bytea[], %s::timestamptz[], "
                "%s::timestamptz[]) AS v(k, r, c, m, p, e, n) ON CONFLICT DO NOTHING",
                (now, now, [d.key for d in rows], [d.recipient for d in rows], [d.channel for d in rows],
                 [d.message_id for d in rows], [d.payload for d in rows], [d.expires for d in rows],
                 [d.next_try for d in rows]))
            if cursor.rowcount > 0:
                self._notify(conn, "record")

    @_translated
    def claim(self, owner: str, now: datetime | None, lease: timedelta = LEASE, limit: int | None = None,
              channel: str | None = None) -> list[Delivery]:
        with self._one() as conn:
            rows = conn.execute(
                _CLAIM, {"now": now, "limit": limit, "owner": owner, "lease": lease, "channel": channel,
                         "reconnect": RECONNECT}).fetchall()
        rows.sort(key=lambda r: (r[12], r[0], r[1]))
        return [_delivery(r) for r in rows]

    @_translated
    def mark(self, attempts: Sequence[Attempt]) -> list[bool]:
        if not attempts:
            return []
        ds = [a.delivery for a in attempts]
        with self._one() as conn:
            rows = conn.execute(
                "UPDATE deliveries d SET state = v.state, attempts = d.attempts + 1, last_error = v.error, "
                "updated = v.stamp, next_try = COALESCE(v.next_try, d.next_try), payload = CASE WHEN v.state IN "
                "('sent', 'failed') THEN NULL ELSE d.payload END, owner = NULL, lease_until = NULL "
                "FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::int8[], %s::text[], %s::text[], "
                "%s::timestamptz[], %s::timestamptz[]) AS v(key, recipient, channel, owner, claim, state, error, "
                "stamp, next_try) WHERE d.key = v.key AND d.recipient = v.recipient AND d.channel = v.channel "
                "AND d.state = 'pending' AND d.owner IS NOT DISTINCT FROM v.owner AND d.claim = v.claim "
                "RETURNING d.key, d.recipient, d.channel",
                ([d.key for d in ds], [d.recipient for d in ds], [d.channel for d in ds], [d.owner for d in ds],
                 [d.claim for d in ds], [a.state for a in attempts], [a.error for a in attempts],
                 [a.at for a in attempts], [a.next_try for a in attempts])).fetchall()
        held = {(r[0], r[1], r[2]) for r in rows}
        return [(d.key, d.recipient, d.channel) in held for d in ds]

    @_translated
    def renew(self, deliveries: Sequence[Delivery], lease: timedelta, now: datetime | None = None) -> list[bool]:
        if not deliveries:
            return []
        with self._one() as conn:
            rows = conn.execute(
                "UPDATE deliveries d SET lease_until = COALESCE(%s::timestamptz, clock_timestamp()) + %s "
                "FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::int8[]) "
                "AS v(key, recipient, channel, owner, claim) WHERE d.key = v.key AND d.recipient = v.recipient "
                "AND d.channel = v.channel AND d.state = 'pending' AND d.owner = v.owner AND d.claim = v.claim "
                "RETURNING d.key, d.recipient, d.channel",
                (now, lease, [d.key for d in deliveries], [d.recipient for d in deliveries],
                 [d.channel for d in deliveries], [d.owner for d in deliveries],
                 [d.claim for d in deliveries])).fetchall()
        held = {(r[0], r[1], r[2]) for r in rows}
        return [(d.key, d.recipient, d.channel) in held for d in deliveries]

    @_translated
    def release(self, owner: str | None = None, only: Sequence[Delivery] = ()) -> int:
        if only:
            with self._one() as conn:
                return conn.execute(
                    "UPDATE deliveries d SET owner = NULL, lease_until = NULL FROM unnest(%s::text[], %s::text[], "
                    "%s::text[], %s::text[], %s::int8[]) AS v(key, recipient, channel, owner, claim) "
                    "WHERE d.key = v.key AND d.recipient = v.recipient AND d.channel = v.channel "
                    "AND d.state = 'pending' AND d.owner IS NOT DISTINCT FROM v.owner AND d.claim = v.claim",
                    ([d.key for d in only], [d.recipient for d in only], [d.channel for d in only],
                     [d.owner for d in only], [d.claim for d in only])).rowcount
        with self._one() as conn:
            cursor = conn.execute(
                "UPDATE deliveries SET owner = NULL, lease_until = NULL WHERE state = 'pending' "
                "AND owner IS NOT NULL AND (%(owner)s::text IS NULL OR owner = %(owner)s)", {"owner": owner})
            return cursor.rowcount

    @_translated
    def pending(self, now: datetime | None = None) -> list[Delivery]:
        with self._tx() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM deliveries WHERE state = 'pending' "  # noqa: S608 - constant columns
                "AND (%(now)s::timestamptz IS NULL OR next_try <= %(now)s) ORDER BY created, key, recipient",
                {"now": now}).fetchall()
        return [_delivery(r) for r in rows]

    @_translated
    def next_tries(self) -> list[datetime]:
        with self._one() as conn:
            return [r[0] for r in conn.execute("SELECT next_try FROM deliveries WHERE state = 'pending'")]

    @_translated
    def deliveries(self, key: str | None = None) -> list[Delivery]:
        with self._tx() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM deliveries WHERE %(key)s::text IS NULL OR key = %(key)s "  # noqa: S608
                "ORDER BY key, recipient", {"key": key}).fetchall()
        return [_delivery(r) for r in rows]

    @_translated
    def counts(self) -> dict[str, int]:
        with self._tx() as conn:
            return {str(r[0]): int(r[1]) for r in conn.execute("SELECT state, count(*) FROM deliveries GROUP BY state")}

    @_translated
    def acknowledge(self, ack: Acknowledgement) -> bool:
        with self._tx() as conn:
            cursor = conn.execute("INSERT INTO acknowledgements VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                                  (ack.window_id, ack.occurrence, ack.channel, ack.recipient, ack.at))
            return cursor.rowcount == 1

    @_translated
    def acknowledgements(self, window: str | None = None) -> list[Acknowledgement]:
        with self._tx() as conn:
            rows = conn.execute("SELECT window_id, occurrence, recipient, channel, at FROM acknowledgements "
                                "WHERE %(w)s::text IS NULL OR window_id = %(w)s ORDER BY at, recipient",
                                {"w": window}).fetchall()
        return [Acknowledgement(*r) for r in rows]

    # --- replicas ------------------------------------------------------------------------------
    def listen(self, hint: Callable[[str], None]) -> None:
        if self._listener is None:
            self._listener = threading.Thread(target=self._listen, args=(hint,), name="ledger-listen", daemon=True)
            self._listener.start()

    def _listen(self, hint: Callable[[str], None]) -> None:
        """LISTEN on a connection of its own; reconnect with backoff while the server is away."""
        wait = 0.5
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    wait = 0.5
                    hint("listen")  # (re)connected: whatever was said meanwhile was missed; look now
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=0.5):
                            topic, _, origin = note.payload.partition(" ")
                            if origin != self._origin:
                                hint(topic)
            except psycopg.Error as exc:
                log.debug("ledger LISTEN connection lost: %s", self.error(exc))
            self._stop.wait(wait)
            wait = min(wait * 2, 10.0)

    @_translated
    def heartbeat(self, node: str, config_hash: str, version: str, stale: timedelta) -> list[Peer]:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO nodes VALUES (%s, %s, %s, now(), now()) ON CONFLICT (node) DO UPDATE SET "
                "config_hash = excluded.config_hash, version = excluded.version, last_seen = excluded.last_seen",
                (node, config_hash, version))
            rows = conn.execute("SELECT node, config_hash, version, started, last_seen FROM nodes "
                                "WHERE last_seen > now() - %s ORDER BY node", (stale,)).fetchall()
        return [Peer(*r) for r in rows]

    @_translated
    def leave(self, node: str) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM nodes WHERE node = %s", (node,))

    @_translated
    def history(self, window: str | None = None, recipient: str | None = None) -> list[Entry]:
        with self._tx() as conn:
            rows = conn.execute(HISTORY_SQL.format(param="%s::text"), (window, window)).fetchall()
        return history_entries(rows, lambda stamp: stamp, recipient)

    # --- monitoring (Alertmanager silences) -----------------------------------------------------
    @contextlib.contextmanager
    def hold(self, name: str) -> Iterator[bool]:
        """A session advisory lock on a connection kept for the block: released when the block ends,
        or by the server when this process dies (its connection closes), so a dead replica never
        keeps the job from the others."""
        try:
            with self.pool.connection() as conn:
                row = conn.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", (JOB_LOCKS, name)).fetchone()
                held = bool(row and row[0])
                try:
                    yield held
                finally:
                    if held:
                        conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (JOB_LOCKS, name))
        except psycopg.Error as exc:
            raise self.error(exc) from None

    @_translated
    def record_silences(self, actions: Iterable[SilenceAction]) -> None:
        with self._tx() as conn, conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO silence_actions (at, target, window_id, occurrence, action, silence_id, starts, ends, "
                "error) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [(a.at, a.target, a.window_id, a.occurrence, a.action, a.silence_id, a.starts, a.ends, a.error)
                 for a in actions])

    @_translated
    def silence_actions(self, window: str | None = None) -> list[SilenceAction]:
        with self._tx() as conn:
            rows = conn.execute("SELECT at, target, window_id, occurrence, action, silence_id, starts, ends, error "
                                "FROM silence_actions WHERE (%s::text IS NULL OR window_id = %s::text) ORDER BY at, id",
                                (window, window)).fetchall()
        return [SilenceAction(*r) for r in rows]

    # --- ledger copy ---------------------------------------------------------------------------
    @_translated
    def dump(self) -> History:
        with self._tx() as conn:
            meta = {str(r[0]): str(r[1]) for r in conn.execute("SELECT name, value FROM meta")}
            decisions = tuple((Decision(r[0], r[1], Kind(r[2]), r[3], r[5] if r[4] == "skipped" else None), r[6])
                              for r in conn.execute("SELECT key, window_id, kind, due, state, reason, decided_at "
                                                    "FROM decisions ORDER BY key"))
            rows = conn.execute(f"SELECT {_COLUMNS}, created, updated FROM deliveries "  # noqa: S608
                                "ORDER BY created, key, recipient").fetchall()
        deliveries = tuple((replace(_delivery(r), owner=None, claim=0), r[12], r[13]) for r in rows)
        return History(tuple(self.revisions().values()), self.schedules(), meta, decisions, deliveries,
                       tuple(self.silence_actions()), tuple(self.acknowledgements()))

    @_translated
    def restore(self, history: History) -> None:
        with self._exclusive(), self._tx() as conn:
            row = conn.execute("SELECT (SELECT count(*) FROM deliveries) + (SELECT count(*) FROM decisions)").fetchone()
            if row and row[0]:
                raise LedgerError(f"the ledger {self.url} is not empty: copy into a new one")
            self.save_revisions(history.revisions)
            self.save_schedules(history.schedules)
            for name, value in history.meta.items():
                self.set_meta(name, value)
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO decisions VALUES (%s, %s, %s, %s, %s, %s, %s)", [
                    (d.key, d.window_id, str(d.kind), d.due, "skipped" if d.skipped else "send", d.reason, at)
                    for d, at in history.decisions])
                cur.executemany(
                    "INSERT INTO deliveries (key, recipient, channel, state, attempts, last_error, message_id, "
                    "payload, expires, next_try, created, updated) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
                    "%s, %s)", [(d.key, d.recipient, d.channel, d.state, d.attempts, d.last_error, d.message_id,
                                 d.payload, d.expires, d.next_try, created, updated)
                                for d, created, updated in history.deliveries])
            self.record_silences(history.silences)
            for ack in history.acknowledgements:
                self.acknowledge(ack)

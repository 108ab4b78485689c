"""The embedded ledger: one SQLite file in the state directory for everything that must survive a restart.

It holds the feed's revisions (SEQUENCE, CREATED, LAST-MODIFIED per window) and, for the
notifications, one row per delivery. WAL mode; every write is one transaction, so a kill -9 at any
point leaves either the old or the new state. One daemon per state directory (the daemon's lock),
so claims here only fence the sends of one process; the connection may be used from one thread
at a time (the notifier keeps it on one worker thread).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

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
from outage_daemon.core.timerules import UTC
from outage_daemon.ledger.base import HISTORY_SQL, LEASE, LedgerError, history_entries

T = TypeVar("T")

# A payload lives in a table of its own: a claim or an outcome rewrites a delivery's row, which then
# stays small, instead of the whole message with it. It is read only while its delivery is pending.
_PAYLOAD = ("(SELECT payload FROM payloads p WHERE deliveries.state = 'pending' AND p.key = deliveries.key "
            "AND p.recipient = deliveries.recipient AND p.channel = deliveries.channel)")
_DELIVERY_COLUMNS = (f"key, recipient, channel, state, attempts, last_error, message_id, {_PAYLOAD}, expires, "
                     "next_try, owner, claim")


def _delivery(row: tuple[Any, ...]) -> Delivery:
    key, recipient, channel, state, attempts, error, message_id, payload, expires, next_try, owner, claim = row
    return Delivery(key, recipient, channel, state, attempts, error, message_id, payload,
                    datetime.fromisoformat(expires), datetime.fromisoformat(next_try), owner, claim)


def _utc(when: datetime) -> str:
    """Given an instant, return it as stored: ISO 8601 in UTC, whose text sorts as the instants do (the
    microseconds, when there are any, follow the seconds as '.', which sorts after the '+' of none)."""
    return when.astimezone(UTC).isoformat()


SCHEMA = [
    # version 1
    """
    CREATE TABLE revisions (
        window_id     TEXT PRIMARY KEY,
        fingerprint   TEXT NOT NULL,
        sequence      INTEGER NOT NULL,
        created       TEXT NOT NULL,
        last_modified TEXT NOT NULL
    );
    """,
    # version 2: notifications
    """
    CREATE TABLE decisions (
        key        TEXT PRIMARY KEY,
        window_id  TEXT NOT NULL,
        kind       TEXT NOT NULL,
        due        TEXT NOT NULL,
        state      TEXT NOT NULL CHECK (state IN ('send', 'skipped')),
        reason     TEXT,
        decided_at TEXT NOT NULL
    );
    CREATE TABLE deliveries (
        key        TEXT NOT NULL,
        recipient  TEXT NOT NULL,
        channel    TEXT NOT NULL,
        state      TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
        attempts   INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        message_id TEXT,
        payload    BLOB,
        expires    TEXT NOT NULL,
        next_try   TEXT NOT NULL,
        created    TEXT NOT NULL,
        updated    TEXT NOT NULL,
        PRIMARY KEY (key, recipient, channel)
    );
    CREATE INDEX deliveries_pending ON deliveries (state, next_try);
    CREATE TABLE schedules (
        window_id TEXT PRIMARY KEY,
        schedule  TEXT NOT NULL
    );
    CREATE TABLE meta (
        name  TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # version 3: claims with a lease, fenced by (owner, claim)
    """
    ALTER TABLE deliveries ADD COLUMN owner TEXT;
    ALTER TABLE deliveries ADD COLUMN claim INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE deliveries ADD COLUMN lease_until TEXT;
    """,
    # version 4: heartbeats (one row here: SQLite is one daemon's)
    """
    CREATE TABLE nodes (
        node        TEXT PRIMARY KEY,
        config_hash TEXT NOT NULL,
        version     TEXT NOT NULL,
        started     TEXT NOT NULL,
        last_seen   TEXT NOT NULL
    );
    """,
    # version 5: changes made to Alertmanager silences
    """
    CREATE TABLE silence_actions (
        at         TEXT NOT NULL,
        target     TEXT NOT NULL,
        window_id  TEXT NOT NULL,
        occurrence TEXT NOT NULL,
        action     TEXT NOT NULL,
        silence_id TEXT,
        starts     TEXT,
        ends       TEXT,
        error      TEXT
    );
    CREATE INDEX silence_actions_window ON silence_actions (window_id, at);
    """,
    # version 6: acknowledgements (who confirmed which window occurrence, via which channel, when)
    """
    CREATE TABLE acknowledgements (
        window_id  TEXT NOT NULL,
        occurrence TEXT NOT NULL,
        channel    TEXT NOT NULL,
        recipient  TEXT NOT NULL,
        at         TEXT NOT NULL,
        PRIMARY KEY (window_id, occurrence, channel, recipient)
    );
    """,
    # version 7: payloads apart from their deliveries (a claim or an outcome no longer rewrites the message),
    # and the index of pending deliveries holds only those (as PostgreSQL's: the sent ones only grow)
    """
    CREATE TABLE payloads (
        key       TEXT NOT NULL,
        recipient TEXT NOT NULL,
        channel   TEXT NOT NULL,
        payload   BLOB NOT NULL,
        PRIMARY KEY (key, recipient, channel)
    );
    INSERT INTO payloads SELECT key, recipient, channel, payload FROM deliveries
        WHERE state = 'pending' AND payload IS NOT NULL;
    ALTER TABLE deliveries DROP COLUMN payload;
    DROP INDEX deliveries_pending;
    CREATE INDEX deliveries_pending ON deliveries (next_try) WHERE state = 'pending';
    """,
]


class SqliteLedger:
    """An open ledger file. Use as a context manager, or call :meth:`close`."""

    shared = False

    def __init__(self, path: str) -> None:
        self.path = path
        self.url = f"sqlite:///{path}"
        self.spent: list[tuple[str, str, str]] = []  # deliveries done whose payloads the next claim deletes
        if sqlite3.sqlite_version_info < (3, 35):  # RETURNING, UPDATE FROM, DROP COLUMN
            raise LedgerError(f"the ledger needs SQLite 3.35 or newer; this Python has {sqlite3.sqlite_version}: "
                              "use a newer Python build, or a PostgreSQL ledger (--ledger postgresql://…)")
        try:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            self.db = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            # In WAL mode, NORMAL loses nothing when the process is killed (only on power loss the
            # last commits); every delivery is marked sent in a commit of its own.
            self.db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError):
                raise LedgerError(f"cannot open the ledger {path}: {exc}") from exc
            raise LedgerError(f"the ledger {path} is damaged ({exc}); to recover, move it aside "
                              f"(mv {path} {path}.damaged) and start again: the windows in the config are then "
                              "taken as announced, and reminders follow the catch-up rules") from exc
        except (OSError, sqlite3.Error) as exc:
            fix = (": the file is damaged or not a ledger; move it aside to start a new one (its history is "
                   "lost) or restore a backup") if isinstance(exc, sqlite3.DatabaseError) else ""
            raise LedgerError(f"cannot open the ledger {path}: {exc}{fix}") from exc

    def _migrate(self) -> None:
        current = self.db.execute("PRAGMA user_version").fetchone()[0]
        if current > len(SCHEMA):
            raise LedgerError(f"the ledger {self.path} is at schema version {current}, newer than this "
                              f"outage-daemon understands ({len(SCHEMA)}): upgrade outage-daemon")
        for number, script in enumerate(SCHEMA[current:], start=current + 1):
            with self.db:
                self.db.execute("BEGIN IMMEDIATE")
                for statement in _split(script):
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version={number}")

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error), self._tx():
            self._forget_spent()
        self.db.close()

    def _keep_payloads(self, deliveries: Sequence[Delivery]) -> None:
        """Store the payloads of ``deliveries`` that are pending (one recorded again keeps its first)."""
        self.db.executemany(
            "INSERT OR IGNORE INTO payloads SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM deliveries "
            "WHERE key = ?1 AND recipient = ?2 AND channel = ?3 AND state = 'pending')",
            [(d.key, d.recipient, d.channel, d.payload) for d in deliveries if d.payload is not None])

    def _forget_spent(self) -> None:
        """Delete the payloads of the deliveries marked done since last time: in one go, which costs
        less than one by one in every outcome's own transaction."""
        spent, self.spent = self.spent, []
        for chunk in _chunks(spent):
            self.db.execute(
                f"DELETE FROM payloads WHERE (key, recipient, channel) IN (VALUES {_rows(len(chunk), 3)})",  # noqa: S608
                [value for ident in chunk for value in ident])

    @contextlib.contextmanager
    def _tx(self) -> Iterator[None]:
        """One write transaction, or a part of the one already open (blocks nest)."""
        if self.db.in_transaction:
            yield
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.rollback()
            raise
        self.db.commit()

    def exclusive(self) -> contextlib.AbstractContextManager[None]:
        return self._tx()

    def __enter__(self) -> SqliteLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def now(self) -> datetime | None:
        return None

    def revisions(self) -> dict[str, Revision]:
        rows = self.db.execute(
            "SELECT window_id, fingerprint, sequence, created, last_modified FROM revisions")
        return {r[0]: Revision(r[0], r[1], r[2], datetime.fromisoformat(r[3]),
                               datetime.fromisoformat(r[4])) for r in rows}

    def save_revisions(self, revisions: Iterable[Revision]) -> None:
        rows = [(r.window_id, r.fingerprint, r.sequence, r.created.isoformat(),
                 r.last_modified.isoformat()) for r in revisions]
        with self._tx():
            self.db.executemany(
                "INSERT INTO revisions VALUES (?, ?, ?, ?, ?) ON CONFLICT(window_id) DO UPDATE SET "
                "fingerprint=excluded.fingerprint, sequence=excluded.sequence, "
                "created=excluded.created, last_modified=excluded.last_modified", rows)

    def schedules(self) -> dict[str, Schedule]:
        return {r[0]: Schedule.from_json(r[1]) for r in self.db.execute("SELECT window_id, schedule FROM schedules")}

    def save_schedules(self, schedules: Mapping[str, Schedule]) -> None:
        with self._tx():
            self.db.executemany(
                "INSERT INTO schedules VALUES (?, ?) ON CONFLICT(window_id) DO UPDATE SET schedule=excluded.schedule",
                [(k, v.to_json()) for k, v in schedules.items()])

    def get_meta(self, name: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return str(row[0]) if row else None

    def set_meta(self, name: str, value: str) -> None:
        with self._tx():
            self.db.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value=excluded.value",
                            (name, value))

    def decided(self, keys: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(list(keys)):
            found.update(r[0] for r in self.db.execute(
                f"SELECT key FROM decisions WHERE key IN ({', '.join('?' * len(chunk))})", chunk))  # noqa: S608
        return found

    def record(self, decisions: Iterable[Decision], deliveries: Iterable[Delivery], now: datetime) -> None:
        stamp = _utc(now)
        with self._tx():
            self.db.executemany(
                "INSERT OR IGNORE INTO decisions VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(d.key, d.window_id, str(d.kind), d.due.isoformat(), "skipped" if d.skipped else "send", d.reason,
                  stamp) for d in decisions])
            rows = list(deliveries)
            self.db.executemany(
                "INSERT OR IGNORE INTO deliveries (key, recipient, channel, state, attempts, message_id, "
                "expires, next_try, created, updated) VALUES (?, ?, ?, 'pending', 0, ?, ?, ?, ?, ?)",
                [(d.key, d.recipient, d.channel, d.message_id, _utc(d.expires), _utc(d.next_try), stamp, stamp)
                 for d in rows])
            self._keep_payloads(rows)

    def claim(self, owner: str, now: datetime | None, lease: timedelta = LEASE, limit: int | None = None,
              channel: str | None = None) -> list[Delivery]:
        now = now or datetime.now(UTC)
        stamp = _utc(now)  # every time is stored by _utc, whose text sorts as the instant does
        with self._tx():
            self._forget_spent()
            rows = self.db.execute(  # one statement: rows taken, renumbered and read back at once
                f"UPDATE deliveries SET owner = ?, claim = claim + 1, lease_until = ? WHERE rowid IN ("  # noqa: S608
                "SELECT rowid FROM deliveries WHERE state = 'pending' AND next_try <= ? "
                "AND (owner IS NULL OR lease_until IS NULL OR lease_until <= ?) AND (? IS NULL OR channel = ?) "
                f"ORDER BY created, key, recipient LIMIT ?) RETURNING created, {_DELIVERY_COLUMNS}",
                (owner, _utc(now + lease), stamp, stamp, channel, channel, -1 if limit is None else limit)).fetchall()
        rows.sort(key=lambda r: (r[0], r[1], r[2]))  # RETURNING has no order of its own
        return [_delivery(r[1:]) for r in rows]

    def mark(self, attempts: Sequence[Attempt]) -> list[bool]:
        if not attempts:
            return []
        held: set[tuple[str, str, str]] = set()
        with self._tx():
            for chunk in _chunks(attempts):  # one statement each
                held.update(self.db.execute(
                    f"WITH v(key, recipient, channel, owner, claim, state, error, at, next_try) AS "  # noqa: S608
                    f"(VALUES {_rows(len(chunk), 9)}) "
                    "UPDATE deliveries SET state = v.state, attempts = attempts + 1, last_error = v.error, "
                    "updated = v.at, next_try = COALESCE(v.next_try, deliveries.next_try), owner = NULL, "
                    "lease_until = NULL FROM v "
                    "WHERE deliveries.key = v.key AND deliveries.recipient = v.recipient "
                    "AND deliveries.channel = v.channel AND deliveries.state = 'pending' "
                    "AND deliveries.owner IS v.owner AND deliveries.claim = v.claim "
                    "RETURNING deliveries.key, deliveries.recipient, deliveries.channel",
                    [value for a in chunk for value in (
                        a.delivery.key, a.delivery.recipient, a.delivery.channel, a.delivery.owner, a.delivery.claim,
                        a.state, a.error, _utc(a.at), _utc(a.next_try) if a.next_try else None)]).fetchall())
        done = [(a.delivery.key, a.delivery.recipient, a.delivery.channel) for a in attempts]
        self.spent += [ident for a, ident in zip(attempts, done, strict=True)
                       if ident in held and a.state in ("sent", "failed")]
        return [ident in held for ident in done]

    def renew(self, deliveries: Sequence[Delivery], lease: timedelta, now: datetime | None = None) -> list[bool]:
        until = _utc((now or datetime.now(UTC)) + lease)
        with self._tx():
            return [self.db.execute(
                "UPDATE deliveries SET lease_until = ? WHERE key = ? AND recipient = ? AND channel = ? "
                "AND state = 'pending' AND owner IS ? AND claim = ?",
                (until, d.key, d.recipient, d.channel, d.owner, d.claim)).rowcount == 1 for d in deliveries]

    def release(self, owner: str | None = None, only: Sequence[Delivery] = ()) -> int:
        if only:
            with self._tx():
                return sum(self.db.execute(
                    "UPDATE deliveries SET owner = NULL, lease_until = NULL WHERE key = ? AND recipient = ? "
                    "AND channel = ? AND state = 'pending' AND owner IS ? AND claim = ?",
                    (d.key, d.recipient, d.channel, d.owner, d.claim)).rowcount for d in only)
        with self._tx():
            cursor = self.db.execute(
                "UPDATE deliveries SET owner = NULL, lease_until = NULL "
                "WHERE state = 'pending' AND owner IS NOT NULL AND (? IS NULL OR owner = ?)", (owner, owner))
            if owner is None:  # a process killed before its next claim left the payloads of what it did
                self.db.execute("DELETE FROM payloads WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE "
                                "d.key = payloads.key AND d.recipient = payloads.recipient "
                                "AND d.channel = payloads.channel AND d.state = 'pending')")
        return cursor.rowcount

    def pending(self, now: datetime | None = None) -> list[Delivery]:
        sql = f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE state = 'pending'"  # noqa: S608
        rows = self.db.execute(sql + " ORDER BY created, key, recipient").fetchall()
        found = [_delivery(r) for r in rows]
        return [d for d in found if now is None or d.next_try <= now]

    def next_tries(self) -> list[datetime]:
        rows = self.db.execute("SELECT next_try FROM deliveries WHERE state = 'pending'")
        return [datetime.fromisoformat(r[0]) for r in rows]

    def deliveries(self, key: str | None = None) -> list[Delivery]:
        sql = f"SELECT {_DELIVERY_COLUMNS} FROM deliveries"  # noqa: S608
        rows = self.db.execute(sql + (" WHERE key = ?" if key else "") + " ORDER BY key, recipient",
                               (key,) if key else ()).fetchall()
        return [_delivery(r) for r in rows]

    def counts(self) -> dict[str, int]:
        return {str(r[0]): int(r[1]) for r in
                self.db.execute("SELECT state, count(*) FROM deliveries GROUP BY state")}

    def history(self, window: str | None = None, recipient: str | None = None) -> list[Entry]:
        rows = self.db.execute(HISTORY_SQL.format(param="?"), (window, window)).fetchall()
        return history_entries(rows, datetime.fromisoformat, recipient)

    def acknowledge(self, ack: Acknowledgement) -> bool:
        with self._tx():
            cursor = self.db.execute("INSERT OR IGNORE INTO acknowledgements VALUES (?, ?, ?, ?, ?)",
                                     (ack.window_id, ack.occurrence, ack.channel, ack.recipient, _utc(ack.at)))
        return cursor.rowcount == 1

    def acknowledgements(self, window: str | None = None) -> list[Acknowledgement]:
        rows = self.db.execute("SELECT window_id, occurrence, recipient, channel, at FROM acknowledgements "
                               "WHERE ? IS NULL OR window_id = ? ORDER BY at, recipient", (window, window))
        return [Acknowledgement(w, o, r, c, datetime.fromisoformat(at)) for w, o, r, c, at in rows]

    def listen(self, hint: Callable[[str], None]) -> None:
        """One daemon per file: there is no one to hear from."""

    def heartbeat(self, node: str, config_hash: str, version: str, stale: timedelta) -> list[Peer]:
        now = datetime.now(UTC)
        with self._tx():
            self.db.execute(
                "INSERT INTO nodes VALUES (?, ?, ?, ?, ?) ON CONFLICT(node) DO UPDATE SET "
                "config_hash=excluded.config_hash, version=excluded.version, last_seen=excluded.last_seen",
                (node, config_hash, version, _utc(now), _utc(now)))
            rows = self.db.execute("SELECT node, config_hash, version, started, last_seen FROM nodes "
                                   "ORDER BY node").fetchall()
        peers = [Peer(r[0], r[1], r[2], datetime.fromisoformat(r[3]), datetime.fromisoformat(r[4])) for r in rows]
        return [p for p in peers if p.last_seen > now - stale]

    def leave(self, node: str) -> None:
        with self._tx():
            self.db.execute("DELETE FROM nodes WHERE node = ?", (node,))

    @contextlib.contextmanager
    def hold(self, name: str) -> Iterator[bool]:
        """One daemon per file (the state directory's lock): it always holds every job."""
        yield True

    def record_silences(self, actions: Iterable[SilenceAction]) -> None:
        with self._tx():
            self.db.executemany("INSERT INTO silence_actions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
                (_utc(a.at), a.target, a.window_id, a.occurrence, a.action, a.silence_id,
                 _utc(a.starts) if a.starts else None, _utc(a.ends) if a.ends else None, a.error) for a in actions])

    def silence_actions(self, window: str | None = None) -> list[SilenceAction]:
        rows = self.db.execute("SELECT * FROM silence_actions WHERE (? IS NULL OR window_id = ?) ORDER BY at, rowid",
                               (window, window)).fetchall()
        def stamp(text: str | None) -> datetime | None:
            return datetime.fromisoformat(text) if text else None

        return [SilenceAction(datetime.fromisoformat(r[0]), r[1], r[2], r[3], r[4], r[5], stamp(r[6]), stamp(r[7]),
                              r[8]) for r in rows]

    def dump(self) -> History:
        meta = {str(r[0]): str(r[1]) for r in self.db.execute("SELECT name, value FROM meta")}
        decisions = tuple(
            (Decision(r[0], r[1], Kind(r[2]), datetime.fromisoformat(r[3]), r[5] if r[4] == "skipped" else None),
             datetime.fromisoformat(r[6]))
            for r in self.db.execute("SELECT key, window_id, kind, due, state, reason, decided_at FROM decisions "
                                     "ORDER BY key"))
        rows = self.db.execute(f"SELECT {_DELIVERY_COLUMNS}, created, updated FROM deliveries "  # noqa: S608
                               "ORDER BY created, key, recipient").fetchall()
        deliveries = tuple((replace(_delivery(r[:12]), owner=None, claim=0), datetime.fromisoformat(r[12]),
                            datetime.fromisoformat(r[13])) for r in rows)
        return History(tuple(self.revisions().values()), self.schedules(), meta, decisions, deliveries,
                       tuple(self.silence_actions()), tuple(self.acknowledgements()))

    def restore(self, history: History) -> None:
        with self._tx():
            if self.db.execute("SELECT (SELECT count(*) FROM deliveries) + (SELECT count(*) FROM decisions)"
                               ).fetchone()[0]:
                raise LedgerError(f"the ledger {self.path} is not empty: copy into a new one")
            self.save_revisions(history.revisions)
            self.save_schedules(history.schedules)
            for name, value in history.meta.items():
                self.set_meta(name, value)
            self.db.executemany("INSERT INTO decisions VALUES (?, ?, ?, ?, ?, ?, ?)", [
                (d.key, d.window_id, str(d.kind), d.due.isoformat(), "skipped" if d.skipped else "send", d.reason,
                 _utc(at)) for d, at in history.decisions])
            self.db.executemany(
                "INSERT INTO deliveries (key, recipient, channel, state, attempts, last_error, message_id, "
                "expires, next_try, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(d.key, d.recipient, d.channel, d.state, d.attempts, d.last_error, d.message_id,
                  _utc(d.expires), _utc(d.next_try), _utc(created), _utc(updated))
                 for d, created, updated in history.deliveries])
            self._keep_payloads([d for d, _, _ in history.deliveries])
            self.record_silences(history.silences)
            for ack in history.acknowledgements:
                self.acknowledge(ack)


def _chunks(items: Sequence[T], size: int = 500) -> Iterator[Sequence[T]]:
    """Given items, yield them in runs of at most ``size`` (a statement's parameters are bounded)."""
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _rows(count: int, width: int) -> str:
    """Return the placeholders of ``count`` rows of ``width`` values: ``(?, ?), (?, ?)``."""
    row = f"({', '.join('?' * width)})"
    return ", ".join([row] * count)


def _split(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]

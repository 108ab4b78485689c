"""The ledger: one SQLite file in the state directory for everything that must survive a restart.

It holds the feed's revisions (SEQUENCE, CREATED, LAST-MODIFIED per window) and, for the
notifications, one row per delivery. WAL mode; every write is one transaction, so a kill -9 at any
point leaves either the old or the new state.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from outage_daemon.core.decide import Schedule, Skip
from outage_daemon.core.revisions import Revision


@dataclass(frozen=True)
class Delivery:
    """One message to one recipient over one channel, as the ledger holds it."""

    key: str
    recipient: str
    channel: str
    state: str
    attempts: int
    last_error: str | None
    message_id: str | None
    payload: bytes | None
    expires: datetime
    next_try: datetime


_DELIVERY_COLUMNS = "key, recipient, channel, state, attempts, last_error, message_id, payload, expires, next_try"


def _delivery(row: tuple[Any, ...]) -> Delivery:
    key, recipient, channel, state, attempts, error, message_id, payload, expires, next_try = row
    return Delivery(key, recipient, channel, state, attempts, error, message_id, payload,
                    datetime.fromisoformat(expires), datetime.fromisoformat(next_try))

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
]


def ledger_path(directory: str) -> str:
    """Given the state directory, return the ledger file's path."""
    return os.path.join(directory, "ledger.sqlite3")


class Ledger:
    """An open ledger file. Use as a context manager, or call :meth:`close`."""

    def __init__(self, path: str) -> None:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        # In WAL mode, NORMAL loses nothing when the process is killed (only on power loss the
        # last commits); every delivery is marked sent in a commit of its own.
        self.db.execute("PRAGMA synchronous=NORMAL")
        self._migrate()

    def _migrate(self) -> None:
        current = self.db.execute("PRAGMA user_version").fetchone()[0]
        for number, script in enumerate(SCHEMA[current:], start=current + 1):
            with self.db:
                self.db.execute("BEGIN IMMEDIATE")
                for statement in _split(script):
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version={number}")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def revisions(self) -> dict[str, Revision]:
        """Return every stored revision by window id."""
        rows = self.db.execute(
            "SELECT window_id, fingerprint, sequence, created, last_modified FROM revisions")
        return {r[0]: Revision(r[0], r[1], r[2], datetime.fromisoformat(r[3]),
                               datetime.fromisoformat(r[4])) for r in rows}

    def save_revisions(self, revisions: Iterable[Revision]) -> None:
        """Store these revisions (insert or replace), all in one transaction."""
        rows = [(r.window_id, r.fingerprint, r.sequence, r.created.isoformat(),
                 r.last_modified.isoformat()) for r in revisions]
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany(
                "INSERT INTO revisions VALUES (?, ?, ?, ?, ?) ON CONFLICT(window_id) DO UPDATE SET "
                "fingerprint=excluded.fingerprint, sequence=excluded.sequence, "
                "created=excluded.created, last_modified=excluded.last_modified", rows)


    # --- notifications ---------------------------------------------------------------------

    def get_meta(self, name: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return str(row[0]) if row else None

    def set_meta(self, name: str, value: str) -> None:
        self.db.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value=excluded.value",
                        (name, value))

    def decided(self, keys: Iterable[str]) -> set[str]:
        """Given reminder keys, return those already decided (sent or skipped)."""
        wanted = list(keys)
        found: set[str] = set()
        for i in range(0, len(wanted), 500):
            chunk = wanted[i:i + 500]
            marks = ",".join("?" * len(chunk))
            found.update(r[0] for r in self.db.execute(
                f"SELECT key FROM decisions WHERE key IN ({marks})", chunk))  # noqa: S608 - placeholders only
        return found

    def record(self, sends: Iterable[tuple[str, str, str, datetime, Iterable[Delivery]]],
               skips: Iterable[Skip], now: datetime) -> None:
        """In one transaction, record decisions and the pending deliveries of what is to be sent:
        after a crash they are found and retried, never lost."""
        stamp = now.isoformat()
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            for key, window_id, kind, due, deliveries in sends:
                self.db.execute("INSERT OR IGNORE INTO decisions VALUES (?, ?, ?, ?, 'send', NULL, ?)",
                                (key, window_id, kind, due.isoformat(), stamp))
                self.db.executemany(
                    "INSERT OR IGNORE INTO deliveries (key, recipient, channel, state, attempts, message_id, "
                    "payload, expires, next_try, created, updated) VALUES (?, ?, ?, 'pending', 0, ?, ?, ?, ?, ?, ?)",
                    [(d.key, d.recipient, d.channel, d.message_id, d.payload, d.expires.isoformat(),
                      d.next_try.isoformat(), stamp, stamp) for d in deliveries])
            self.db.executemany("INSERT OR IGNORE INTO decisions VALUES (?, ?, ?, ?, 'skipped', ?, ?)",
                                [(k.key, k.window_id, k.kind, k.due.isoformat(), k.reason, stamp) for k in skips])

    def pending(self, now: datetime | None = None) -> list[Delivery]:
        """Return the deliveries not yet made (only those due for a try by ``now``, if given)."""
        sql = f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE state = 'pending'"  # noqa: S608
        rows = self.db.execute(sql + " ORDER BY created, key, recipient").fetchall()
        found = [_delivery(r) for r in rows]
        return [d for d in found if now is None or d.next_try <= now]

    def next_tries(self) -> list[datetime]:
        """Return when each pending delivery is due for its next try (without reading payloads)."""
        rows = self.db.execute("SELECT next_try FROM deliveries WHERE state = 'pending'")
        return [datetime.fromisoformat(r[0]) for r in rows]

    def deliveries(self, key: str | None = None) -> list[Delivery]:
        sql = f"SELECT {_DELIVERY_COLUMNS} FROM deliveries"  # noqa: S608
        rows = self.db.execute(sql + (" WHERE key = ?" if key else "") + " ORDER BY key, recipient",
                               (key,) if key else ()).fetchall()
        return [_delivery(r) for r in rows]

    def mark(self, delivery: Delivery, state: str, now: datetime, error: str | None = None,
             next_try: datetime | None = None) -> None:
        """Record the outcome of one attempt: 'sent', 'failed', or 'pending' again (with next_try)."""
        drop_payload = state in ("sent", "failed")
        with self.db:
            self.db.execute(
                "UPDATE deliveries SET state = ?, attempts = attempts + 1, last_error = ?, updated = ?, "
                "next_try = COALESCE(?, next_try), payload = CASE WHEN ? THEN NULL ELSE payload END "
                "WHERE key = ? AND recipient = ? AND channel = ?",
                (state, error, now.isoformat(), next_try.isoformat() if next_try else None, drop_payload,
                 delivery.key, delivery.recipient, delivery.channel))

    def counts(self) -> dict[str, int]:
        """Return the number of deliveries by state."""
        return {str(r[0]): int(r[1]) for r in
                self.db.execute("SELECT state, count(*) FROM deliveries GROUP BY state")}

    def schedules(self) -> dict[str, Schedule]:
        return {r[0]: Schedule.from_json(r[1]) for r in self.db.execute("SELECT window_id, schedule FROM schedules")}

    def save_schedules(self, schedules: dict[str, Schedule]) -> None:
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany(
                "INSERT INTO schedules VALUES (?, ?) ON CONFLICT(window_id) DO UPDATE SET schedule=excluded.schedule",
                [(k, v.to_json()) for k, v in schedules.items()])


def _split(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]

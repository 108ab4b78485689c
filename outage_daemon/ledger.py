"""The ledger: one SQLite file in the state directory for everything that must survive a restart.

It holds the feed's revisions (SEQUENCE, CREATED, LAST-MODIFIED per window) and, for the
notifications, one row per delivery. WAL mode; every write is one transaction, so a kill -9 at any
point leaves either the old or the new state.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from datetime import datetime

from .revisions import Revision

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
]


class Ledger:
    """An open ledger file. Use as a context manager, or call :meth:`close`."""

    def __init__(self, path: str) -> None:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
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


def _split(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]

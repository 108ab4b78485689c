"""The ledger's contract: what the notifier needs from storage, whatever the backend.

Every write is atomic; recording is idempotent (one row per key, recipient and channel, whoever
records it first); sending is claimed with a lease, and an outcome is recorded only by the holder
of the claim it was sent under, so a sender that was paused past its lease cannot overwrite
another's work. Backends: :mod:`outage_daemon.ledger.sqlite` (the embedded default).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from outage_daemon.core.records import Attempt, Decision, Delivery, Revision, Schedule

LEASE = timedelta(seconds=15)


class LedgerError(Exception):
    """The ledger cannot be opened or used; the message says which and how to recover."""


class Ledger(Protocol):
    """An open ledger. ``shared`` is True when several processes may use it at once."""

    url: str
    shared: bool

    def close(self) -> None:
        """Release the connection."""

    # --- the feed ------------------------------------------------------------------------------
    def revisions(self) -> dict[str, Revision]:
        """Return every stored revision by window id."""

    def save_revisions(self, revisions: Iterable[Revision]) -> None:
        """Store these revisions (insert or replace), in one transaction."""

    # --- what lifecycle notices compare against --------------------------------------------------
    def schedules(self) -> dict[str, Schedule]:
        """Return the schedule last seen of every window by id."""

    def save_schedules(self, schedules: Mapping[str, Schedule]) -> None:
        """Store these schedules (insert or replace), in one transaction."""

    def get_meta(self, name: str) -> str | None:
        """Given a name, return its stored value or None."""

    def set_meta(self, name: str, value: str) -> None:
        """Store a value under a name."""

    # --- decisions and deliveries --------------------------------------------------------------
    def decided(self, keys: Iterable[str]) -> set[str]:
        """Given notification keys, return those already decided (to send or to skip)."""

    def record(self, decisions: Iterable[Decision], deliveries: Iterable[Delivery], now: datetime) -> None:
        """In one transaction, record decisions and pending deliveries; rows already there stay
        as they are (idempotent), so after a crash they are found and retried, never lost."""

    def claim(self, owner: str, now: datetime, lease: timedelta = LEASE, limit: int | None = None,
              channel: str | None = None) -> list[Delivery]:
        """Given a sender's name, return the pending deliveries due for a try by ``now`` that no one
        else holds (or whose lease expired), oldest first, at most ``limit`` and only on ``channel``
        when given, each now claimed by ``owner`` until ``now + lease``."""

    def mark(self, attempts: Sequence[Attempt]) -> list[bool]:
        """Given outcomes of attempts at claimed deliveries, record them in one transaction; return,
        for each, False (and change nothing) when its claim is no longer held (fencing)."""

    def release(self, owner: str | None = None) -> int:
        """Give up the claims of ``owner`` (every claim when None); return how many."""

    def pending(self, now: datetime | None = None) -> list[Delivery]:
        """Return the deliveries not yet made (only those due for a try by ``now``, if given)."""

    def next_tries(self) -> list[datetime]:
        """Return when each pending delivery is due for its next try (without reading payloads)."""

    def deliveries(self, key: str | None = None) -> list[Delivery]:
        """Return every delivery (of one key, if given), ordered by key and recipient."""

    def counts(self) -> dict[str, int]:
        """Return the number of deliveries by state."""

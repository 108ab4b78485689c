"""The ledger's contract: what the notifier needs from storage, whatever the backend.

Every write is atomic; recording is idempotent (one row per key, recipient and channel, whoever
records it first); sending is claimed with a lease, and an outcome is recorded only by the holder
of the claim it was sent under, so a sender that was paused past its lease cannot overwrite
another's work. Backends: :mod:`outage_daemon.ledger.sqlite` (the embedded default) and
:mod:`outage_daemon.ledger.postgres` (shared by replicas).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

from outage_daemon.core.acks import Acknowledgement
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

LEASE = timedelta(seconds=15)


def redact(url: str) -> str:
    """Given a ledger URL, return it fit for a log: any password replaced by ``***``."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # not a URL: nothing of it is shown
        return "(a malformed URL)"
    if password is None:
        return url
    user, _, host = parts.netloc.rpartition("@")
    return parts._replace(netloc=f"{user.split(':', 1)[0]}:***@{host}").geturl()


class LedgerError(Exception):
    """The ledger cannot be opened or used; the message says which and how to recover."""


class Ledger(Protocol):
    """An open ledger. ``shared`` is True when several processes may use it at once."""

    url: str
    shared: bool

    def close(self) -> None:
        """Release the connection."""

    def exclusive(self) -> AbstractContextManager[None]:
        """Return a block whose ledger calls form one transaction that no other process's exclusive
        block interleaves with (a read-compute-write step such as a reload); blocks may nest."""

    def now(self) -> datetime | None:
        """Return the ledger's clock (the database's, shared by every replica), or None when the
        ledger has no clock of its own (an embedded file: the host's clock is the ledger's)."""

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

    def claim(self, owner: str, now: datetime | None, lease: timedelta = LEASE, limit: int | None = None,
              channel: str | None = None) -> list[Delivery]:
        """Given a sender's name, return the pending deliveries due for a try by ``now`` that no one
        else holds (or whose lease expired), oldest first, at most ``limit`` and only on ``channel``
        when given, each now claimed by ``owner`` until ``now + lease``; ``now`` None means the
        ledger's own clock (the database's, shared by every replica)."""

    def mark(self, attempts: Sequence[Attempt]) -> list[bool]:
        """Given outcomes of attempts at claimed deliveries, record them in one transaction; return,
        for each, False (and change nothing) when its claim is no longer held (fencing)."""

    def renew(self, deliveries: Sequence[Delivery], lease: timedelta, now: datetime | None = None) -> list[bool]:
        """Given claimed deliveries (a send of theirs still on the wire or queued), extend each claim to
        ``now + lease`` (``now`` None: the ledger's clock) while it is still held under the claim it
        carries; return, for each, whether it was (fencing: False means another holds it now)."""

    def release(self, owner: str | None = None, only: Sequence[Delivery] = ()) -> int:
        """Give up the claims of ``owner`` (every claim when None), or with ``only``, of just those
        deliveries, each while still held under the claim it carries (fencing); return how many."""

    def pending(self, now: datetime | None = None) -> list[Delivery]:
        """Return the deliveries not yet made (only those due for a try by ``now``, if given)."""

    def next_tries(self) -> list[datetime]:
        """Return when each pending delivery is due for its next try (without reading payloads)."""

    def deliveries(self, key: str | None = None) -> list[Delivery]:
        """Return every delivery (of one key, if given), ordered by key and recipient."""

    def counts(self) -> dict[str, int]:
        """Return the number of deliveries by state."""

    # --- answers (``outage-daemon history``) ----------------------------------------------------
    def history(self, window: str | None = None, recipient: str | None = None) -> list[Entry]:
        """Return what was decided and delivered, oldest decision first (then key, recipient): one
        entry per delivery, and one per decision without any (skipped, or to nobody). ``window``
        keeps one window's entries; ``recipient`` keeps deliveries to that recipient, written as in
        the config or as the bare address inside ``Name <addr>``. Reads no payloads."""
    # --- acknowledgements ----------------------------------------------------------------------
    def acknowledge(self, ack: Acknowledgement) -> bool:
        """Given a confirmation, record it unless that recipient already confirmed that occurrence
        on that channel; return True when recorded now (the first one stays: idempotent)."""

    def acknowledgements(self, window: str | None = None) -> list[Acknowledgement]:
        """Return the recorded confirmations (of one window, if given), oldest first."""

    # --- replicas --------------------------------------------------------------------------------
    def listen(self, hint: Callable[[str], None]) -> None:
        """From now on, call ``hint(topic)`` (from another thread) when another process records
        deliveries ('record') or new revisions ('reload'); a hint may be lost: poll anyway."""

    def heartbeat(self, node: str, config_hash: str, version: str, stale: timedelta) -> list[Peer]:
        """Given this replica's name, config hash and version, store its heartbeat (on the ledger's
        clock) and return every replica seen within ``stale``, this one included."""

    def leave(self, node: str) -> None:
        """Remove this replica's heartbeat (a clean stop: its peers stop counting it at once)."""

    # --- monitoring (Alertmanager silences) -----------------------------------------------------
    def hold(self, name: str) -> AbstractContextManager[bool]:
        """Given a job's name, return a block that yields whether this process holds the job's lock
        (no other process holds it until the block ends; False at once when another does)."""

    def record_silences(self, actions: Iterable[SilenceAction]) -> None:
        """Store these changes to silences, in one transaction."""

    def silence_actions(self, window: str | None = None) -> list[SilenceAction]:
        """Return the changes to silences (of one window, if given), oldest first."""

    # --- ledger copy -----------------------------------------------------------------------------
    def dump(self) -> History:
        """Return everything the ledger holds (claims left out)."""

    def restore(self, history: History) -> None:
        """Given a history, write it into this empty ledger in one transaction; raise LedgerError
        when the ledger already holds deliveries or decisions."""


HISTORY_SQL = ("SELECT d.key, d.window_id, d.kind, d.due, d.decided_at, d.state, d.reason, v.recipient, v.channel, "
               "v.state, v.last_error, v.attempts, v.updated FROM decisions d LEFT JOIN deliveries v ON v.key = d.key "
               "WHERE ({param} IS NULL OR d.window_id = {param}) ORDER BY d.decided_at, d.key, v.recipient, v.channel")


def history_entries(rows: Iterable[Sequence[Any]], when: Callable[[Any], datetime],
                    recipient: str | None) -> list[Entry]:
    """Given rows of :data:`HISTORY_SQL` and how a backend's stored time becomes a datetime, return the
    entries, keeping only deliveries to ``recipient`` (as written, or the bare address) when given."""
    entries = []
    for key, window_id, kind, due, decided_at, decision, reason, to, channel, state, error, attempts, updated in rows:
        if decision == "skipped":
            entries.append(Entry(key, window_id, kind, when(due), when(decided_at), "skipped", reason))
        else:
            entries.append(Entry(key, window_id, kind, when(due), when(decided_at), state or "decided", error, to,
                                 channel, attempts or 0, when(updated) if updated else None))
    if recipient is None:
        return entries
    return [e for e in entries if e.recipient is not None
            and (e.recipient == recipient or e.recipient.endswith(f"<{recipient}>"))]

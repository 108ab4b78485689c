"""The ledger behind one interface (:class:`Ledger`), opened from a URL by :func:`open_ledger`.

``sqlite:///PATH`` is the embedded default, in the state directory (``sqlite:////abs/path`` for an
absolute path, ``sqlite:///rel/path`` for a relative one); ``postgresql://USER@HOST/DB`` (or
``postgres://``, any libpq URL) is the ledger that replicas share. A backend is a module with
a class that satisfies :class:`outage_daemon.ledger.base.Ledger`, named here by its URL scheme.
"""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

from outage_daemon.ledger.base import LEASE, Ledger, LedgerError, redact

__all__ = ["LEASE", "Ledger", "LedgerError", "default_url", "is_shared", "open_ledger", "redact"]

SHARED = ("postgresql", "postgres")


def default_url(state_dir: str) -> str:
    """Given the state directory, return the URL of its SQLite ledger."""
    return f"sqlite:///{os.path.abspath(os.path.join(state_dir, 'ledger.sqlite3'))}"


def is_shared(url: str) -> bool:
    """Given a ledger URL, return whether several daemons may use it at once (PostgreSQL)."""
    return scheme_of(url) in SHARED


def scheme_of(url: str) -> str:
    """Given a ledger URL, return its scheme ('' when the URL cannot be read at all)."""
    try:
        return urlsplit(url).scheme
    except ValueError:  # e.g. postgresql://[::1 (an unclosed IPv6 address)
        return ""


def open_ledger(url: str) -> Ledger:
    """Given a ledger URL, return the open, migrated ledger; raise LedgerError."""
    try:
        scheme = urlsplit(url).scheme
    except ValueError as exc:  # the URL is not quoted: it may hold a password
        raise LedgerError(f"the ledger URL is not a URL ({exc}); e.g. postgresql://USER@HOST/DATABASE "
                          "or sqlite:///PATH") from None
    if scheme == "sqlite":
        from outage_daemon.ledger.sqlite import SqliteLedger

        path = unquote(url[len("sqlite:///"):]) if url.startswith("sqlite:///") else ""
        if not path or path.endswith("/"):
            raise LedgerError(f"ledger URL {url!r}: name a file, e.g. sqlite:////var/lib/outage-daemon/ledger.sqlite3 "
                              "(four slashes for an absolute path, three for a relative one)")
        return SqliteLedger(path)
    if scheme in SHARED:
        from outage_daemon.ledger.postgres import PostgresLedger

        return PostgresLedger(url)
    raise LedgerError(f"ledger URL {redact(url)!r}: unknown scheme {scheme!r} "
                      "(use sqlite:///PATH or postgresql://USER@HOST/DATABASE)")

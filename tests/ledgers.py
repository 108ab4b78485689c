"""Opening the ledger in a state directory, as the daemon does: through the URL factory."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

from outage_daemon.ledger import Ledger, default_url, open_ledger


def ledger_in(state: Path) -> closing[Ledger]:
    """Given a state directory, return its ledger, to use in a ``with`` block."""
    return closing(open_ledger(default_url(str(state))))

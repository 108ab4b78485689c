"""The embedded default outbox: every message becomes a file in a Maildir (read it with any client)."""

from __future__ import annotations

import asyncio
import mailbox
import os

from outage_daemon.channels.base import ACCEPTED, Outcome


class Outbox:
    """A Maildir in the state directory; each write runs off the event loop."""

    def __init__(self, folder: str) -> None:
        os.makedirs(os.path.dirname(os.path.abspath(folder)), exist_ok=True)
        self.folder = folder
        self.box = mailbox.Maildir(folder, create=True)
        self.concurrency = 1

    async def send(self, sender: str, recipient: str, payload: bytes) -> Outcome:
        """Given a message, add it to the Maildir; a full or unwritable disk is a temporary failure."""
        try:
            await asyncio.to_thread(self.box.add, payload)
        except OSError as exc:
            return Outcome(False, True, f"outbox: {exc.strerror or exc}")
        return ACCEPTED

    async def close(self) -> None:
        return None

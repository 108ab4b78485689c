"""The embedded default outbox: every message becomes a file in a Maildir (read it with any client)."""

from __future__ import annotations

import asyncio
import contextlib
import mailbox
import os
import socket
import time
import uuid

from outage_daemon.channels.base import ACCEPTED, Outcome


class Outbox:
    """A Maildir in the state directory; each write runs off the event loop."""

    def __init__(self, folder: str) -> None:
        os.makedirs(os.path.dirname(os.path.abspath(folder)), exist_ok=True)
        self.folder = folder
        self.box = mailbox.Maildir(folder, create=True)
        self.concurrency = 1
        self._count = 0

    async def send(self, sender: str, recipient: str, payload: bytes) -> Outcome:
        """Given a message, add it to the Maildir; a full or unwritable disk is a temporary failure."""
        try:
            await asyncio.to_thread(self.add, payload)
        except OSError as exc:
            return Outcome(False, True, f"outbox: {exc.strerror or exc}")
        return ACCEPTED

    def add(self, payload: bytes) -> str:
        """Deliver one message as Maildir says (write and fsync in tmp/, then link into new/); on
        any failure (a full disk) nothing is left behind in tmp/. Return the file's name."""
        self._count += 1
        name = f"{time.time_ns()}.M{os.getpid()}P{self._count}Q{uuid.uuid4().hex[:12]}.{socket.gethostname()}"
        tmp, new = os.path.join(self.folder, "tmp", name), os.path.join(self.folder, "new", name)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                view = memoryview(payload)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(tmp, new)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return name

    async def close(self) -> None:
        return None

"""What keeps the daemon alive under load it did not ask for: the descriptor limit, a cap on HTTP
connections (beyond it a connection is closed at once), and a log that says a repeated line once
per interval instead of thousands of times a second."""

from __future__ import annotations

import asyncio
import logging
import resource
import time

from aiohttp import web

IDLE_TIMEOUT = 15.0  # seconds an HTTP connection may sit without a complete request (idle or slow headers)
LOG_INTERVAL = 10.0  # seconds between two copies of the same log line


def raise_fd_limit() -> int:
    """Raise the soft limit on open descriptors to the hard limit; return the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return soft


def connection_cap(fd_limit: int) -> int:
    """Given the descriptor limit, return how many HTTP connections to hold at most: half of it, so
    the ledger, SMTP, webhooks and feeds always have descriptors left."""
    return max(16, min(fd_limit // 2, 4096))


class CappedSite(web.BaseSite):
    """A TCP site that holds at most ``cap`` connections of its runner's server at once: a new one
    over the cap closes the oldest idle one (no request in progress), so idle sockets cannot lock
    out a real client, and no descriptors run out."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, cap: int) -> None:
        super().__init__(runner)
        self.host, self.port, self.cap = host, port, cap

    @property
    def name(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        """Listen; at the cap, each new connection first closes the oldest idle one."""
        await super().start()
        server = self._runner.server
        assert server is not None  # noqa: S101 - the runner is set up first

        def factory() -> web.RequestHandler:
            connections = server.connections
            if len(connections) >= self.cap:
                idle = [h for h in connections if not (h._request_in_progress or h._force_close)]
                for handler in idle[: len(connections) - self.cap + 1]:
                    handler.force_close()
            return server()

        self._server = await asyncio.get_running_loop().create_server(
            factory, self.host, self.port, reuse_address=True)


class Repeats(logging.Filter):
    """Let a warning or error through at most once per LOG_INTERVAL (by its logger, level and text)."""

    def __init__(self, interval: float = LOG_INTERVAL) -> None:
        super().__init__()
        self.interval = interval
        self.seen: dict[tuple[str, int, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        """Return whether to emit ``record`` (INFO and below always); a line let through again says how
        many were held back."""
        if record.levelno < logging.WARNING:
            return True
        text = record.getMessage()
        key = (record.name, record.levelno, text)
        now = time.monotonic()
        last, held = self.seen.get(key, (-self.interval, 0))
        if now - last < self.interval:
            self.seen[key] = (last, held + 1)
            return False
        if len(self.seen) > 1000:
            self.seen.clear()
        self.seen[key] = (now, 0)
        if held:
            record.msg, record.args = f"{text} (and {held} more like it in the last {self.interval:.0f} s)", None
        return True

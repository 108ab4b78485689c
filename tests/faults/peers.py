"""A real HTTP peer on loopback for the fault-injection suite."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from loopback import LoopbackServer

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Peer(LoopbackServer):
    """An aiohttp server on 127.0.0.1 in a thread of its own; ``handler`` answers every POST and GET;
    ``hits`` lists (path, monotonic time) of every request."""

    def __init__(self, handler: Handler) -> None:
        super().__init__()
        self.handler = handler
        self.hits: list[tuple[str, float]] = []

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.hits.append((request.path, time.monotonic()))
        return await self.handler(request)

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/{tail:.*}", self._handle)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

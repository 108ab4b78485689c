"""An aiohttp app served from a thread of its own on 127.0.0.1: the chat services and endpoints the
tests talk to (no other address is ever a target). Subclasses add their routes."""

from __future__ import annotations

import asyncio
import ssl
import threading

from aiohttp import web


class LoopbackServer:
    """Serve :meth:`routes` on a free loopback port from a background thread; ``port`` once started."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self.tls: ssl.SSLContext | None = None  # set before start() to serve HTTPS
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def routes(self, app: web.Application) -> None:
        """Add the server's routes to ``app``."""
        raise NotImplementedError

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        self.routes(app)
        self.runner = runner = web.AppRunner(app, shutdown_timeout=0.1)
        self.loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=self.tls)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.ready.set()
        self.loop.run_forever()

    def start(self) -> LoopbackServer:
        """Start serving; return once the port is known."""
        self.thread.start()
        self.ready.wait(10)
        return self

    async def _shutdown(self) -> None:
        await self.runner.cleanup()
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in pending:  # handlers still running (a deliberately slow one)
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    def stop(self) -> None:
        """Close the server and cancel the handlers still running, then stop its loop."""
        asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)

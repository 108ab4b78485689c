"""The fault-injection suite (issue 18): `pytest tests/faults/` runs it alone. Every test meets a
real peer on loopback (the daemon process, an aiosmtpd relay, an aiohttp server) and every loop in
it is bounded in count and time."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from faults.peers import Handler, Peer


@pytest.fixture
def peer() -> Iterator[Callable[[Handler], Peer]]:
    """Start loopback HTTP peers with a given handler; all are stopped after the test."""
    started: list[Peer] = []

    def start(handler: Handler) -> Peer:
        server = Peer(handler)
        server.start()
        assert server.port
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()

"""Faults 3, 5 and 6 at the channels, against a real SMTP relay and real HTTP peers on loopback:
a cancelled SMTP send, garbled SMTP replies, Retry-After in other digits, endless webhook bodies,
empty or invalid webhook URLs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from smtpsink import Server, Sink

from faults.peers import Peer
from outage_daemon.channels.email.smtp import SmtpPool
from outage_daemon.channels.render import templates
from outage_daemon.channels.webhook import WebhookChannel
from outage_daemon.core.model import Config
from outage_daemon.core.timerules import UTC
from outage_daemon.credentials import CredentialError
from outage_daemon.pipeline import Notifier


def smtp_config(port: int, people: int) -> str:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1, seconds=-5)
    return f"""
timezone: UTC
notify: {{before_stop: [1h], at_stop: false, before_restore: [], at_restore: false}}
email:
  from: ops@example.com
  smtp: {{host: 127.0.0.1, port: {port}, security: none, retry: 1s, timeout: 5s, connections: 1}}
audiences: {{team: {{email: [{", ".join(f"u{i}@example.com" for i in range(people))}]}}}}
windows:
  - {{id: w, system: s, title: t, start: "{start:%Y-%m-%dT%H:%M:%S}Z", end: "{start + timedelta(hours=1):%Y-%m-%dT%H:%M:%S}Z"}}
"""


def run_once(config: Config, state: Path, retry_for: float) -> list[tuple[str, str, int, str | None]]:
    async def go() -> list[tuple[str, str, int, str | None]]:
        notifier = Notifier.open(config, str(state), lambda: datetime.now(UTC))
        try:
            await notifier.run_once(timedelta(seconds=retry_for))
            return [(d.recipient, d.state, d.attempts, d.last_error) for d in notifier.ledger.deliveries()]
        finally:
            await notifier.close()

    return asyncio.run(go())


def test_garbled_smtp_replies_are_temporary(tmp_path: Path, config_of: Callable[[str], Config]) -> None:
    """Fault 5: a reply aiosmtplib cannot read (code -1) is retried, not a permanent failure."""
    box = Sink(garble=4)
    with Server(box) as server:
        rows = run_once(config_of(smtp_config(server.port, 4)), tmp_path / "state", retry_for=20)
    assert {state for _, state, _, _ in rows} == {"sent"}, rows
    assert sorted(box.recipients()) == [f"u{i}@example.com" for i in range(4)]
    assert all(attempts >= 2 for _, _, attempts, _ in rows[:1]), rows  # the first one was garbled


def test_a_cancelled_smtp_send_drops_its_connection_and_close_is_quick(config_of: Callable[[str], Config]) -> None:
    """Fault 3: a send cancelled mid-DATA does not go back to the pool out of step with the relay,
    so closing the pool does not wait a timeout for an answer to QUIT."""
    box = Sink(delay=4.0)
    with Server(box) as server:
        config = config_of(smtp_config(server.port, 1))
        assert config.email is not None and config.email.smtp is not None

        async def go() -> float:
            pool = SmtpPool(config.email.smtp, None)  # type: ignore[union-attr]
            sending = asyncio.ensure_future(pool.send("ops@example.com", "u0@example.com", b"Subject: x\r\n\r\nx\r\n"))
            await asyncio.sleep(1.0)
            sending.cancel()
            with pytest.raises(asyncio.CancelledError):
                await sending
            t0 = time.monotonic()
            await pool.close()
            return time.monotonic() - t0

        assert asyncio.run(go()) < 1.0


def hook_config(timeout: str = "5s") -> str:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1, seconds=-5)
    return f"""
timezone: UTC
notify: {{before_stop: [1h], at_stop: false, before_restore: [], at_restore: false}}
webhooks: {{robot: {{kind: generic, url_env: FAULT_HOOK_URL, timeout: {timeout}, retry: 1s}}}}
audiences: {{ops: {{webhooks: [robot]}}}}
windows:
  - {{id: w, system: s, title: t, start: "{start:%Y-%m-%dT%H:%M:%S}Z", end: "{start + timedelta(hours=1):%Y-%m-%dT%H:%M:%S}Z"}}
"""


def channel(config: Config) -> WebhookChannel:
    return WebhookChannel(config, templates(None), lambda: int(time.time() * 1000))


def test_retry_after_in_other_digits_is_a_plain_retry(peer: Callable[..., Peer], config_of: Callable[[str], Config],
                                                      monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fault 6: `Retry-After: ²` (a Unicode digit) no longer crashes the pass: the attempt is
    recorded and retried with the usual backoff."""
    calls = []

    async def busy(request: web.Request) -> web.StreamResponse:
        calls.append(1)
        if len(calls) == 1:
            return web.Response(status=429, headers={"Retry-After": "²"})
        return web.json_response({"ok": True})

    server = peer(busy)
    monkeypatch.setenv("FAULT_HOOK_URL", server.url("hook"))
    rows = run_once(config_of(hook_config()), tmp_path / "state", retry_for=10)
    assert [(r, s, a) for r, s, a, _ in rows] == [("robot", "sent", 2)], rows


def test_an_endless_webhook_reply_is_not_read_to_the_end(peer: Callable[..., Peer], config_of: Callable[[str], Config],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault 6: a reply body is read up to 64 KiB, never to its end (here: 64 MiB over 4 s)."""

    async def flood(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=400)
        await response.prepare(request)
        chunk = b"x" * (1 << 20)
        for _ in range(64):  # bounded: 64 MiB at most
            await response.write(chunk)
            await asyncio.sleep(0.06)
        return response

    server = peer(flood)
    monkeypatch.setenv("FAULT_HOOK_URL", server.url("hook"))
    hooks = channel(config_of(hook_config("10s")))

    async def go() -> tuple[float, str | None]:
        t0 = time.monotonic()
        try:
            outcome = await hooks.send("robot", b"{}")
        finally:
            await hooks.close()
        return time.monotonic() - t0, outcome.error

    took, error = asyncio.run(go())
    assert took < 2.0, took
    assert error is not None and error.startswith("HTTP 400") and len(error) < 300


@pytest.mark.parametrize("url", ["", "   ", "not a url", "ftp://127.0.0.1/x", "http://", "http://127.0.0.1/\nx"])
def test_an_empty_or_invalid_webhook_url_is_refused_at_load(url: str, config_of: Callable[[str], Config],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault 6: empty or invalid URLs are a credential error at load, whose text does not quote them."""
    monkeypatch.setenv("FAULT_HOOK_URL", url)
    with pytest.raises(CredentialError, match=r"webhook robot: the URL|FAULT_HOOK_URL is empty") as caught:
        channel(config_of(hook_config()))
    assert url.strip() in ("", "http://") or url not in str(caught.value)

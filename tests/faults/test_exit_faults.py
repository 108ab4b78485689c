"""Issue 22, point 3: every outbound call has a total deadline, and no process waits for a
third-party thread to exit: an Apprise endpoint that sends its headers and then drips its body
kept `run --once` and `send-test` alive for minutes, and the daemon past SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from daemonproc import Daemon
from smtpsink import wait_for

from faults.peers import Peer
from outage_daemon.core.timerules import UTC

DRIP_SECONDS = 120  # the peer's body takes this long: far beyond every deadline the tests allow


async def drip(request: web.Request) -> web.StreamResponse:
    """Answer 200 with headers at once, then one byte a second (bounded: DRIP_SECONDS bytes)."""
    response = web.StreamResponse(status=200, headers={"Content-Length": str(DRIP_SECONDS)})
    await response.prepare(request)
    for _ in range(DRIP_SECONDS):
        await response.write(b" ")
        await asyncio.sleep(1)
    return response


def config_text(port: int, due_in: timedelta) -> str:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1) + due_in
    return f"""
timezone: UTC
notify: {{before_stop: [1h], at_stop: false, before_restore: [], at_restore: false}}
webhooks:
  tail: {{kind: apprise, url_env: DRIP_URL, timeout: 2s, retry: 10m}}
audiences: {{team: {{webhooks: [tail]}}}}
windows:
  - {{id: w, system: s, title: t, audiences: [team], start: "{start:%Y-%m-%dT%H:%M:%S}Z",
     end: "{start + timedelta(hours=1):%Y-%m-%dT%H:%M:%S}Z"}}
"""


def timed(args: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    import os
    t0 = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "outage_daemon", *args], capture_output=True, text=True,
                          timeout=DRIP_SECONDS, check=False, env=dict(os.environ, **env))
    return time.monotonic() - t0, done


@pytest.mark.parametrize("command", ["run-once", "send-test"])
def test_a_dripping_apprise_peer_does_not_keep_a_command_alive(command: str, tmp_path: Path,
                                                                peer: Callable[..., Peer]) -> None:
    server = peer(drip)
    path = tmp_path / "c.yaml"
    path.write_text(config_text(server.port, timedelta(seconds=-5)))
    args = ["run", "--once"] if command == "run-once" else ["send-test", "--webhook", "tail"]
    seconds, done = timed([*args, "-c", str(path), "--state-dir", str(tmp_path / "state")],
                          {"DRIP_URL": f"json://127.0.0.1:{server.port}/hook"})
    assert server.hits, done
    assert done.returncode == 1 and "Traceback" not in done.stderr, done
    assert "no answer within 2s" in done.stdout + done.stderr, done
    assert seconds < 20, f"{command} lived {seconds:.0f} s"


def test_the_daemon_exits_promptly_on_sigterm_while_apprise_drips(tmp_path: Path, peer: Callable[..., Peer]) -> None:
    server = peer(drip)
    path = tmp_path / "c.yaml"
    path.write_text(config_text(server.port, timedelta(seconds=-5)))
    daemon = Daemon(path, tmp_path / "state", watchdog_usec=None,
                    env={"DRIP_URL": f"json://127.0.0.1:{server.port}/hook"})
    try:
        assert daemon.read_notify("READY=1"), daemon.output()
        assert wait_for(lambda: bool(server.hits), 20), daemon.output()
        t0 = time.monotonic()
        daemon.signal(signal.SIGTERM)
        daemon.proc.wait(30)
        assert time.monotonic() - t0 < 15, daemon.output()
        assert daemon.proc.returncode == 0 and "Traceback" not in daemon.output()
    finally:
        daemon.stop()

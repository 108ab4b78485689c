"""What the benchmarks share: config generators, timing, free ports, an SMTP sink that records
arrivals, systemd's notify socket, and starting the real daemon."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

UTC = timezone.utc


def config_text(n: int, recipients: int = 2, start: datetime | None = None, repeat: str | None = None) -> str:
    """A config of ``n`` one-off windows (each repeating by ``repeat``, if given), six reminders each,
    across four zones."""
    zones = ["Asia/Shanghai", "America/New_York", "Europe/Berlin", "Australia/Sydney"]
    first = start or datetime(2026, 2, 1, 9, tzinfo=UTC)
    lines = [
        "timezone: Asia/Shanghai",
        "notify: {before_stop: [1d, 2h, 15m], at_stop: true, before_restore: [30m], at_restore: true}",
        "audiences:",
        "  team: {email: [" + ", ".join(f"u{i}@example.com" for i in range(recipients)) + "]}",
        "calendar: {name: Bench, base_url: 'https://status.example.com'}",
        "windows:",
    ]
    for i in range(n):
        at = first + timedelta(minutes=37 * i)
        end = at + timedelta(hours=2)
        lines.append(f"  - {{id: w{i}, system: 系统{i % 50}, title: 升级, timezone: {zones[i % 4]}, "
                     f"start: '{at:%Y-%m-%dT%H:%MZ}', end: '{end:%Y-%m-%dT%H:%MZ}', "
                     + (f"repeat: '{repeat}', " if repeat else "")
                     + f"services: [开具, 查询], description: 第{i}次维护}}")
    return "\n".join(lines) + "\n"


def median_of(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# An SMTP sink in its own process that writes "arrival-time key" per message to a file.
SINK = r"""
import sys, time, asyncio
from aiosmtpd.controller import Controller
out = open(sys.argv[2], "a", buffering=1)
class H:
    async def handle_DATA(self, server, session, envelope):
        key = b""
        for line in envelope.content.split(b"\r\n"):
            if line.lower().startswith(b"x-outage-key:"):
                key = line.split(b":", 1)[1].strip()
                break
            if not line:
                break
        out.write(f"{time.time():.6f} {key.decode()} {envelope.rcpt_tos[0]}\n")
        return "250 OK"
c = Controller(H(), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start()
print("ready", flush=True)
sys.stdin.read()
c.stop()
"""


class Notify:
    """A NOTIFY_SOCKET of our own, to time READY=1."""

    def __init__(self, folder: Path) -> None:
        self.path = str(folder / "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.5)

    def wait(self, want: str, timeout: float = 300) -> float:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                if want in self.sock.recv(65536).decode():
                    return time.monotonic()
            except TimeoutError:
                continue
        raise RuntimeError(f"no {want} within {timeout} s")


def daemon_config(n: int, port: int, probes: int, start_in: float, recipients: int) -> str:
    """``n`` windows days ahead (the load) plus ``probes`` windows whose 5 s reminder falls due
    one second apart from ``start_in`` seconds on."""
    text = config_text(n, start=datetime.now(UTC) + timedelta(days=2))
    text = text.replace("calendar:", f"email: {{from: ops@example.com, smtp: {{host: 127.0.0.1, port: {port}, "
                                     f"security: none, connections: 4}}}}\ncalendar:")
    text = text.replace("audiences:\n", "audiences:\n  probe: {email: [" + ", ".join(
        f"p{i}@example.com" for i in range(recipients)) + "]}\n")
    now = datetime.now(UTC)
    for i in range(probes):
        stop = now + timedelta(seconds=start_in + 5 + i)
        text += (f"  - id: probe{i}\n    system: probe\n    audiences: [probe]\n"
                 f"    notify: {{before_stop: [5s], at_stop: false, before_restore: [], at_restore: false}}\n"
                 f"    start: {stop:%Y-%m-%dT%H:%M:%S}Z\n    end: {stop + timedelta(hours=1):%Y-%m-%dT%H:%M:%S}Z\n")
    return text


def start_daemon(config: Path, folder: Path, http_port: int, notify: Notify) -> subprocess.Popen[bytes]:
    """Start the real daemon on ``config`` with its state in ``folder``; its log goes to folder/daemon.log."""
    env = dict(os.environ, NOTIFY_SOCKET=notify.path)
    return subprocess.Popen([sys.executable, "-m", "outage_daemon", "run", "-c", str(config), "--state-dir",
                             str(folder / "state"), "--listen", f"127.0.0.1:{http_port}"], env=env,
                            stdout=subprocess.DEVNULL, stderr=open(folder / "daemon.log", "wb"))


def start_recording_sink(folder: Path) -> tuple[subprocess.Popen[str], int, Path]:
    """Start the recording SMTP sink; return it, its port and the file of arrivals."""
    port, arrivals = free_port(), folder / "arrivals.txt"
    sink = subprocess.Popen([sys.executable, "-c", SINK, str(port), str(arrivals)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
    return sink, port, arrivals

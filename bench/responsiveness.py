"""Responsiveness of the running daemon: /healthz polled every 20 ms from another process while
the daemon re-plans, reloads on SIGHUP and fans one reminder out to 1,000 recipients.

The daemon keeps its event loop free (ledger, planning, rendering and Maildir writes run on worker
threads), so a probe should never wait long whatever the daemon is doing.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from common import UTC, Notify, config_text, free_port, start_daemon, start_recording_sink

# Polls GET /healthz every 20 ms over one keep-alive connection until the duration ends; prints
# "wall-clock-time latency-ms" per probe.
POLLER = r"""
import http.client, sys, time
port, seconds = int(sys.argv[1]), float(sys.argv[2])
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
end = time.monotonic() + seconds
tick = time.monotonic()
while time.monotonic() < end:
    t0 = time.perf_counter()
    try:
        conn.request("GET", "/healthz")
        conn.getresponse().read()
    except (OSError, http.client.HTTPException) as exc:  # counted as a probe that waited this long
        print(f"{time.time():.4f} {(time.perf_counter() - t0) * 1000:.2f} {type(exc).__name__}", flush=True)
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        continue
    print(f"{time.time():.4f} {(time.perf_counter() - t0) * 1000:.2f}", flush=True)
    tick += 0.02
    time.sleep(max(0.0, tick - time.monotonic()))
"""


def fanout_config(n: int, smtp_port: int, recipients: int, due_in: float) -> str:
    """``n`` windows with 20 recipients each, plus one window whose 5 s reminder goes to
    ``recipients`` people ``due_in`` seconds from now."""
    text = config_text(n, recipients=20, start=datetime.now(UTC) + timedelta(days=2))
    text = text.replace("calendar:", f"email: {{from: ops@example.com, smtp: {{host: 127.0.0.1, port: {smtp_port}, "
                                     f"security: none, connections: 4}}}}\ncalendar:")
    text = text.replace("audiences:\n", "audiences:\n  crowd: {email: [" + ", ".join(
        f"c{i}@example.com" for i in range(recipients)) + "]}\n")
    stop = datetime.now(UTC) + timedelta(seconds=due_in + 5)
    return text + (f"  - id: crowd\n    system: crowd\n    audiences: [crowd]\n"
                   f"    notify: {{before_stop: [5s], at_stop: false, before_restore: [], at_restore: false}}\n"
                   f"    start: {stop:%Y-%m-%dT%H:%M:%S}Z\n    end: {stop + timedelta(hours=1):%Y-%m-%dT%H:%M:%S}Z\n")


def worst(probes: list[tuple[float, float]], start: float, end: float) -> tuple[float, int]:
    """Given (time, latency ms) probes, return the worst latency and the count within [start, end]."""
    inside = [ms for at, ms in probes if start <= at <= end]
    return (max(inside) if inside else float("nan")), len(inside)


def bench_responsiveness(n: int, folder: Path, recipients: int, watch_passes: int) -> dict[str, object]:
    """Start the daemon on ``n`` windows; poll /healthz through ``watch_passes`` watch re-plans
    (30 s apart), a SIGHUP reload and a ``recipients`` fan-out; return the worst latency of each."""
    folder.mkdir(parents=True, exist_ok=True)
    sink, smtp_port, arrivals = start_recording_sink(folder)
    http_port, notify = free_port(), Notify(folder)
    config = folder / "daemon.yaml"
    t0 = time.monotonic()
    due_in = 30 * watch_passes + 40  # after the watch passes and the reload
    config.write_text(fanout_config(n, smtp_port, recipients, due_in), encoding="utf-8")
    proc = start_daemon(config, folder, http_port, notify)
    results: dict[str, object] = {}
    poller = None
    try:
        results["startup_s"] = notify.wait("READY=1") - t0
        watch_end = time.time() + 30 * watch_passes + 3
        probes_file = folder / "probes.txt"  # a file, not a pipe: a full pipe would stall the poller
        poller = subprocess.Popen([sys.executable, "-c", POLLER, str(http_port), str(due_in + 180)],
                                  stdout=open(probes_file, "w"))  # noqa: SIM115 - the child holds it
        marks = {"steady": (time.time(), watch_end)}
        while time.time() < watch_end:
            time.sleep(0.5)
        started = time.time()
        proc.send_signal(signal.SIGHUP)
        notify.wait("RELOADING=1")
        notify.wait("READY=1")
        marks["reload"] = (started, time.time())
        fan_start = due_at(config)
        while len(arrivals.read_text().splitlines() if arrivals.exists() else []) < recipients:
            if time.time() > fan_start + 120:
                raise RuntimeError("the fan-out did not finish in 2 minutes")
            time.sleep(0.2)
        marks["fanout"] = (fan_start, time.time())
        poller.terminate()
        poller.wait()
        out = probes_file.read_text(encoding="utf-8")
        probes = [(float(f[0]), float(f[1])) for f in (line.split() for line in out.splitlines())]
        results["failed_probes"] = sum(1 for line in out.splitlines() if len(line.split()) > 2)
        for name, (start, end) in marks.items():
            results[f"{name}_worst_ms"], results[f"{name}_probes"] = worst(probes, start, end)
    finally:
        if poller is not None and poller.poll() is None:
            poller.kill()
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        sink.communicate("")
    return results


def due_at(config: Path) -> float:
    """Return the Unix time the crowd reminder falls due (5 s before its window starts)."""
    stamp = config.read_text(encoding="utf-8").split("id: crowd\n", 1)[1].split("start: ", 1)[1].split("Z", 1)[0]
    return datetime.fromisoformat(stamp).replace(tzinfo=UTC).timestamp() - 5

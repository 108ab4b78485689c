"""Responsiveness of the running daemon: /healthz polled every 20 ms from another process while
the daemon re-plans, reloads on SIGHUP, fans one reminder out to 1,000 recipients, and reloads on
SIGHUP while it fans a second one out (the reload sent once the first of its messages arrived).

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

LEAD = 90  # seconds from a crowd reminder to its window's start, when it expires

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


def fanout_config(n: int, smtp_port: int, recipients: int, due_in: float, second_in: float) -> str:
    """``n`` windows with 20 recipients each, plus two windows whose reminders (LEAD before their
    start, so that a slow fan-out on a loaded machine still ends before it expires) go to
    ``recipients`` people ``due_in`` and ``second_in`` seconds from now."""
    text = config_text(n, recipients=20, start=datetime.now(UTC) + timedelta(days=2))
    text = text.replace("calendar:", f"email: {{from: ops@example.com, smtp: {{host: 127.0.0.1, port: {smtp_port}, "
                                     f"security: none, connections: 4}}}}\ncalendar:")
    text = text.replace("audiences:\n", "audiences:\n  crowd: {email: [" + ", ".join(
        f"c{i}@example.com" for i in range(recipients)) + "]}\n")
    for name, due in (("crowd", due_in), ("crowd2", second_in)):
        stop = datetime.now(UTC) + timedelta(seconds=due + LEAD)
        text += (f"  - id: {name}\n    system: crowd\n    audiences: [crowd]\n"
                 f"    notify: {{before_stop: [{LEAD}s], at_stop: false, before_restore: [], at_restore: false}}\n"
                 f"    start: {stop:%Y-%m-%dT%H:%M:%S}Z\n    end: {stop + timedelta(hours=1):%Y-%m-%dT%H:%M:%S}Z\n")
    return text


def worst(probes: list[tuple[float, float]], start: float, end: float) -> tuple[float, int]:
    """Given (time, latency ms) probes, return the worst latency and the count within [start, end]."""
    inside = [ms for at, ms in probes if start <= at <= end]
    return (max(inside) if inside else float("nan")), len(inside)


def bench_responsiveness(n: int, folder: Path, recipients: int, watch_passes: int) -> dict[str, object]:
    """Start the daemon on ``n`` windows; poll /healthz through ``watch_passes`` watch re-plans
    (30 s apart), a SIGHUP reload, a ``recipients`` fan-out and a SIGHUP reload during a second one;
    return the worst latency of each (and how long the last reload and fan-out overlapped)."""
    folder.mkdir(parents=True, exist_ok=True)
    sink, smtp_port, arrivals = start_recording_sink(folder)
    http_port, notify = free_port(), Notify(folder)
    config = folder / "daemon.yaml"
    t0 = time.monotonic()
    due_in = 30 * watch_passes + 40  # after the watch passes and the reload
    second_in = due_in + 15  # after the first fan-out
    config.write_text(fanout_config(n, smtp_port, recipients, due_in, second_in), encoding="utf-8")
    proc = start_daemon(config, folder, http_port, notify)
    results: dict[str, object] = {}
    poller = None
    try:
        results["startup_s"] = notify.wait("READY=1") - t0
        watch_end = time.time() + 30 * watch_passes + 3
        probes_file = folder / "probes.txt"  # a file, not a pipe: a full pipe would stall the poller
        poller = subprocess.Popen([sys.executable, "-c", POLLER, str(http_port), str(second_in + 180)],
                                  stdout=open(probes_file, "w"))  # noqa: SIM115 - the child holds it
        marks = {"steady": (time.time(), watch_end)}
        while time.time() < watch_end:
            time.sleep(0.5)
        started = time.time()
        proc.send_signal(signal.SIGHUP)
        notify.wait("RELOADING=1")
        notify.wait("READY=1")
        marks["reload"] = (started, time.time())
        fan_start = due_at(config, "crowd")
        wait_arrivals(arrivals, recipients, fan_start, 0.2)
        marks["fanout"] = (fan_start, time.time())
        second = due_at(config, "crowd2")
        wait_arrivals(arrivals, recipients + 1, second, 0.005)  # the first of the second fan-out
        started = time.time()
        proc.send_signal(signal.SIGHUP)
        notify.wait("RELOADING=1")
        notify.wait("READY=1")
        reloaded = time.time()
        wait_arrivals(arrivals, 2 * recipients, second, 0.2)
        done = last_arrival(arrivals)
        marks["reload_fanout"] = (started, max(reloaded, done))
        results["reload_fanout_overlap_s"] = max(0.0, min(reloaded, done) - started)
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


def due_at(config: Path, window: str) -> float:
    """Return the Unix time the reminder of crowd ``window`` falls due (LEAD seconds before it starts)."""
    stamp = config.read_text(encoding="utf-8").split(f"id: {window}\n", 1)[1].split("start: ", 1)[1].split("Z", 1)[0]
    return datetime.fromisoformat(stamp).replace(tzinfo=UTC).timestamp() - LEAD


def wait_arrivals(arrivals: Path, count: int, due: float, step: float) -> None:
    """Wait until the sink recorded ``count`` messages, looking every ``step`` seconds; raise when
    that takes more than 2 minutes from ``due``."""
    while len(arrivals.read_text().splitlines() if arrivals.exists() else []) < count:
        if time.time() > due + 120:
            raise RuntimeError("the fan-out did not finish in 2 minutes")
        time.sleep(step)


def last_arrival(arrivals: Path) -> float:
    """Return the Unix time the sink recorded its last message."""
    return float(arrivals.read_text().splitlines()[-1].split()[0])

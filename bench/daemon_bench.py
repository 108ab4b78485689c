"""Benchmarks of the running daemon: reminder lateness, HTTP throughput, start-up, reload, memory.

Used by bench/run.py; every figure stands next to its baseline measured in the same run.
"""

from __future__ import annotations

import asyncio
import json
import signal
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from common import UTC, Notify, daemon_config, free_port, start_daemon, start_recording_sink


async def _load(url: str, total: int, concurrency: int, headers: dict[str, str]) -> float:
    import aiohttp

    done = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal done
        while done < total:
            done += 1
            async with session.get(url, headers=headers) as response:
                await response.read()

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as session:
        start = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        return total / (time.perf_counter() - start)


def load_rps(url: str, total: int, headers: dict[str, str] | None = None, concurrency: int = 8) -> float:
    """Requests per second from a client in another process."""
    code = (f"import asyncio, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); from daemon_bench import _load; "
            f"print(asyncio.run(_load({url!r}, {total}, {concurrency}, {headers or {}!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=600)
    return float(out.stdout.strip())


BARE = r"""
import sys
from aiohttp import web
data = open(sys.argv[2], "rb").read()
etag = sys.argv[3]
async def feed(request):
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers={"ETag": etag})
    return web.Response(body=data, headers={"ETag": etag, "Content-Type": "text/calendar; charset=utf-8"})
app = web.Application()
app.router.add_get("/calendar.ics", feed)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=lambda *a: print("ready", flush=True),
            access_log=None)
"""


def lateness(config: Path, arrivals: Path, probes: int, recipients: int, start_in: float) -> dict[str, float]:
    """Wait for every probe reminder at the sink; return how late the first and last messages were."""
    due = {}
    text = config.read_text(encoding="utf-8")
    for i in range(probes):
        stamp = text.split(f"id: probe{i}\n", 1)[1].split("start: ", 1)[1].split("Z", 1)[0]
        due[f"probe{i}"] = datetime.fromisoformat(stamp).replace(tzinfo=UTC).timestamp() - 5
    deadline = time.monotonic() + start_in + probes + 60
    while time.monotonic() < deadline:
        lines = arrivals.read_text().splitlines() if arrivals.exists() else []
        if len(lines) >= probes * recipients:
            break
        time.sleep(0.5)
    per_key: dict[str, list[float]] = {}
    for line in arrivals.read_text().splitlines():
        at, key, _ = line.split(" ", 2)
        per_key.setdefault(key.split("/", 1)[0], []).append(float(at))
    first = [min(v) - due[k] for k, v in per_key.items()]
    last = [max(v) - due[k] for k, v in per_key.items()]
    return {"reminders": len(per_key), "messages": sum(len(v) for v in per_key.values()),
            "first_median_ms": statistics.median(first) * 1000, "first_worst_ms": max(first) * 1000,
            "last_median_ms": statistics.median(last) * 1000, "last_worst_ms": max(last) * 1000}


def http_rates(folder: Path, http_port: int, requests: int) -> dict[str, float]:
    """Our /calendar.ics next to a bare aiohttp handler with the same bytes, in interleaved rounds."""
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/calendar.ics") as response:
        data, etag = response.read(), response.headers["ETag"]
    (folder / "feed.ics").write_bytes(data)
    bare_port = free_port()
    bare = subprocess.Popen([sys.executable, "-c", BARE, str(bare_port), str(folder / "feed.ics"), etag],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert bare.stdout is not None and bare.stdout.readline().strip() == "ready"
        ours_url, bare_url = f"http://127.0.0.1:{http_port}/calendar.ics", f"http://127.0.0.1:{bare_port}/calendar.ics"
        full_requests = max(requests // 10, 20) if len(data) > 1_000_000 else requests
        plain = {"Accept-Encoding": "identity"}  # the same bytes on both sides (ours would send gzip)
        rounds: dict[str, list[float]] = {}
        for _ in range(3):  # interleaved rounds, medians: the machine's noise hits both sides alike
            for name, url, count, headers in (
                    ("full_ours_rps", ours_url, full_requests, plain), ("full_bare_rps", bare_url, full_requests, plain),
                    ("304_ours_rps", ours_url, requests, {**plain, "If-None-Match": etag}),
                    ("304_bare_rps", bare_url, requests, {**plain, "If-None-Match": etag}),
                    ("gzip_ours_rps", ours_url, full_requests, {"Accept-Encoding": "gzip"})):
                rounds.setdefault(name, []).append(load_rps(url, count, headers))
    finally:
        bare.terminate()
        bare.wait()
    return {"feed_bytes": len(data), **{k: statistics.median(v) for k, v in rounds.items()}}


def bench_daemon(n: int, folder: Path, probes: int, requests: int) -> dict[str, object]:
    """Start the real daemon on ``n`` windows; measure lateness, HTTP, start-up, reload and peak RSS."""
    folder.mkdir(parents=True, exist_ok=True)
    sink, smtp_port, arrivals = start_recording_sink(folder)
    http_port = free_port()
    config = folder / "daemon.yaml"
    start_in = 25.0 if n >= 10_000 else 12.0
    config.write_text(daemon_config(n, smtp_port, probes, start_in, recipients=10), encoding="utf-8")
    notify = Notify(folder)
    t0 = time.monotonic()
    proc = start_daemon(config, folder, http_port, notify)
    results: dict[str, object] = {}
    try:
        results["startup_s"] = notify.wait("READY=1") - t0
        results["lateness"] = lateness(config, arrivals, probes, 10, start_in)
        results["http"] = http_rates(folder, http_port, requests)
        # Reload: SIGHUP to READY=1 (the config unchanged: validation, revisions, feeds, plan).
        t1 = time.monotonic()
        proc.send_signal(signal.SIGHUP)
        notify.wait("RELOADING=1")
        results["reload_s"] = notify.wait("READY=1") - t1
        status = Path(f"/proc/{proc.pid}/status").read_text()
        results["peak_rss_mb"] = int(status.split("VmHWM:")[1].split()[0]) / 1024
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        sink.communicate("")
    return results


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(bench_daemon(int(sys.argv[1]), Path(tmp), int(sys.argv[2]), int(sys.argv[3])), indent=1))

"""Benchmarks: how cost grows with windows and recipients, each figure next to a baseline measured
in the same run (these machines are noisy). Prints a table and writes bench/results.json.

    python bench/run.py           # the full run (100, 1,000 and 10,000 windows)
    python bench/run.py --quick   # a smaller run that proves the suite still works

Not a test: nothing here asserts; targets are printed as pass/fail.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))  # pgserver: a PostgreSQL of its own

from common import config_text, median_of  # noqa: E402
from icalendar import Calendar, Event  # noqa: E402
from pgserver import PgServer  # noqa: E402

from outage_daemon.cli import print_problems  # noqa: E402
from outage_daemon.core.checks import warnings  # noqa: E402
from outage_daemon.core.records import Attempt, Decision, Delivery  # noqa: E402
from outage_daemon.core.revisions import revise, revise_all  # noqa: E402
from outage_daemon.formats import ical as feed  # noqa: E402
from outage_daemon.formats.push import pushes  # noqa: E402
from outage_daemon.formats.text import summary  # noqa: E402
from outage_daemon.ledger.base import LEASE  # noqa: E402
from outage_daemon.ledger.sqlite import SqliteLedger  # noqa: E402
from outage_daemon.loader import load  # noqa: E402

UTC = timezone.utc
NOW = datetime(2026, 1, 1, tzinfo=UTC)
RESULTS: dict[str, object] = {}
ROWS: list[tuple[str, str, str, str]] = []


def row(what: str, value: str, baseline: str, verdict: str) -> None:
    ROWS.append((what, value, baseline, verdict))


def verdict(ok: bool) -> str:
    return "pass" if ok else "FAIL"


def bench_cli(sizes: list[int], folder: Path, repeat: int) -> None:
    """1. check and preview as a user runs them: a whole process, config to output."""
    results = {}
    for n in sizes:
        path = folder / f"w{n}.yaml"
        path.write_text(config_text(n), encoding="utf-8")
        for command in ("check", "preview"):
            args = [sys.executable, "-m", "outage_daemon", command, "-c", str(path), "--now", "2026-01-01T00:00:00Z"]
            if command == "preview":
                args += ["--until", "3650d", "--json"]
            seconds = median_of(lambda a=args: subprocess.run(a, capture_output=True, check=False), repeat)
            results[f"{command}_{n}"] = seconds
    bare = median_of(lambda: subprocess.run([sys.executable, "-c", "import outage_daemon.cli"], check=True), repeat)
    results["python_import_baseline"] = bare
    RESULTS["cli"] = results
    big, mid = max(sizes), sorted(sizes)[-2] if len(sizes) > 1 else None
    for command in ("check", "preview"):
        for n in sizes:
            target = command == "check" and n == 10_000
            row(f"{command}, {n:,} windows (process)", f"{results[f'{command}_{n}']:.2f} s",
                f"{bare:.2f} s start-up", verdict(results[f"{command}_{n}"] < 3) + " (< 3 s)" if target else "")
        if mid:
            net_mid = results[f"{command}_{mid}"] - bare
            if net_mid < 0.1 * bare:  # the smaller size is lost in start-up noise: no ratio to speak of
                row(f"{command} growth {mid:,} → {big:,}", "n/a", f"{mid:,} windows within start-up noise", "")
                continue
            growth = (results[f"{command}_{big}"] - bare) / net_mid
            results[f"{command}_growth"] = growth
            row(f"{command} growth {mid:,} → {big:,}", f"{growth:.1f}×", f"{big // mid}× windows",
                verdict(growth <= 12) + " (≤ 12×)")


def bare_icalendar(config: object) -> bytes:
    """The same events (same text) built with the bare icalendar library: no caching, no VTIMEZONE."""
    cal = Calendar()
    cal.add("prodid", "-//bench//EN")
    cal.add("version", "2.0")
    for window in config.windows:  # type: ignore[attr-defined]
        ev = Event()
        ev.add("uid", f"{window.id}@status.example.com")
        ev.add("dtstamp", NOW)
        ev.add("created", NOW)
        ev.add("last-modified", NOW)
        ev.add("sequence", 0)
        ev.add("dtstart", window.start)
        ev.add("dtend", window.end)
        ev.add("summary", summary(window, config.language))
        ev.add("description", feed.describe(window, config))  # type: ignore[arg-type]
        ev.add("categories", [window.system])
        ev.add("status", "CONFIRMED")
        ev.add("transp", "TRANSPARENT")
        ev.add("url", f"https://status.example.com/#{window.id}")
        cal.add_component(ev)
    return cal.to_ical()


def bench_render(sizes: list[int], folder: Path, repeat: int) -> None:
    """2. Feed render: full, next to bare icalendar; incremental after one window changed."""
    results = {}
    for n in sizes:
        path = folder / f"r{n}.yaml"
        path.write_text(config_text(n), encoding="utf-8")
        config = load(str(path))
        revisions = revise_all(config, {}, NOW)
        full = median_of(lambda c=config, r=revisions: feed.render(c, r, NOW, cache={}), repeat)
        bare = median_of(lambda c=config: bare_icalendar(c), repeat)
        cache: dict[str, bytes] = {}
        feed.render(config, revisions, NOW, cache=cache)
        changed = dict(revisions)

        def one_change(c: object = config, r: dict = changed, k: dict = cache,
                       counter: object = iter(range(10**9))) -> None:
            r["w7"] = revise(r["w7"], "w7", f"changed-{next(counter)}", NOW)  # type: ignore[call-overload]
            feed.render(c, r, NOW, cache=k)  # type: ignore[arg-type]

        incremental = median_of(one_change, repeat)
        results[n] = {"full_s": full, "bare_icalendar_s": bare, "incremental_s": incremental,
                      "ratio_full_to_bare": full / bare, "incremental_fraction": incremental / full}
        row(f"render {n:,} windows, full", f"{full * 1000:.0f} ms", f"{bare * 1000:.0f} ms bare icalendar",
            f"{full / bare:.2f}× " + verdict(full / bare <= 1.2) + " (≤ 1.2×)")
        row(f"render {n:,} windows, one changed", f"{incremental * 1000:.1f} ms", f"{full * 1000:.0f} ms full",
            f"{incremental / full:.1%} " + verdict(incremental / full < 0.05) + " (< 5%)")
    n = max(sizes[:2])  # repeating windows: each occurrence placed in its zone, the last end found once
    path = folder / f"repeat{n}.yaml"
    path.write_text(config_text(n, repeat="FREQ=WEEKLY;UNTIL=20271231T000000Z"), encoding="utf-8")
    config = load(str(path))
    revisions = revise_all(config, {}, NOW)
    loading = median_of(lambda p=path: load(str(p)), repeat)
    full = median_of(lambda c=config, r=revisions: feed.render(c, r, NOW, cache={}), repeat)
    results[f"repeating_{n}"] = {"load_s": loading, "full_s": full}
    row(f"load {n:,} weekly windows (2 years)", f"{loading * 1000:.0f} ms", "", "")
    row(f"render {n:,} weekly windows (2 years), full", f"{full * 1000:.0f} ms", "", "")
    RESULTS["render"] = results


def bench_push(sizes: list[int], folder: Path, repeat: int) -> None:
    """2b. Calendar push: recording every window for a new calendar, next to a full feed render; the
    check every pass makes when nothing changed, next to the same render."""
    results = {}
    for n in sizes:
        path = folder / f"p{n}.yaml"
        path.write_text(config_text(n) + "calendars:\n  team: {kind: caldav, url: 'http://127.0.0.1:9/c/'}\n",
                        encoding="utf-8")
        config = load(str(path))
        target = config.calendars["team"]
        revisions = revise_all(config, {}, NOW)
        first = median_of(lambda c=config, t=target, r=revisions: pushes(c, t, r, {}, NOW), repeat)
        full = median_of(lambda c=config, r=revisions: feed.render(c, r, NOW, cache={}), repeat)
        index = pushes(config, target, revisions, {}, NOW)[2]
        steady = median_of(lambda c=config, t=target, r=revisions, i=index: pushes(c, t, r, i, NOW), repeat)
        results[n] = {"first_s": first, "full_render_s": full, "steady_s": steady,
                      "ratio_first_to_render": first / full, "steady_fraction": steady / full}
        row(f"push {n:,} windows, new calendar", f"{first * 1000:.0f} ms", f"{full * 1000:.0f} ms feed render",
            f"{first / full:.2f}× " + verdict(first / full <= 2.0) + " (≤ 2×)")
        row(f"push {n:,} windows, a pass, unchanged", f"{steady * 1000:.1f} ms", f"{full * 1000:.0f} ms feed render",
            f"{steady / full:.1%} " + verdict(steady / full < 0.10) + " (< 10%)")
    RESULTS["push"] = results


def stat_of(pid: int | str) -> list[str]:
    """Given a process, return the fields of its ``/proc/PID/stat`` after its name (state, parent,
    …); raise OSError once it is gone."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_of(pid: int, reaped: bool = False) -> float:
    """Given a process, return the seconds of CPU it has used (with those of its children it has
    reaped, when ``reaped``); 0 once it is gone."""
    try:
        fields = stat_of(pid)
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:15 if reaped else 13]) / os.sysconf("SC_CLK_TCK")


def server_processes(server: PgServer) -> tuple[int, list[int]] | None:
    """Given our own PostgreSQL server, return its postmaster and the processes it runs now; None
    for an external server."""
    if server.folder is None:
        return None
    postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
    children = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError, IndexError):
            if entry.name.isdigit() and stat_of(entry.name)[1] == str(postmaster):
                children.append(int(entry.name))
    return postmaster, children


def server_cpu(server: PgServer) -> float | None:
    """Given our own PostgreSQL server, return the seconds of CPU it has used: the postmaster, the
    backends it has reaped and those alive; None for an external server (not measurable here)."""
    found = server_processes(server)
    if found is None:
        return None
    postmaster, children = found
    return cpu_of(postmaster, reaped=True) + sum(cpu_of(child) for child in children)


class WritesInMemory(SqliteLedger):
    """The control of the fan-out bench, not a mode of the daemon: the SQLite ledger with the
    deliveries recorded, claimed and their outcomes acknowledged in memory, none written, to show
    what the fan-out costs without its bookkeeping."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.held: list[Delivery] = []

    def record(self, decisions: Iterable[Decision], deliveries: Iterable[Delivery], now: datetime) -> None:
        self.held.extend(deliveries)
        super().record(decisions, [], now)

    def claim(self, owner: str, now: datetime | None, lease: timedelta = LEASE,
              limit: int | None = None, channel: str | None = None) -> list[Delivery]:
        mine = [d for d in self.held if channel is None or d.channel == channel][:limit]
        taken = {id(d) for d in mine}
        self.held = [d for d in self.held if id(d) not in taken]
        return mine

    def mark(self, attempts: Sequence[Attempt]) -> list[bool]:
        return [True] * len(attempts)


def start_sink() -> tuple[subprocess.Popen[bytes], int]:
    """aiosmtpd's discarding sink in a process of its own, on a free loopback port."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
                             "-c", "aiosmtpd.handlers.Sink"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return proc, port
        time.sleep(0.05)
    raise RuntimeError("the SMTP sink did not start")


async def bare_fanout(port: int, messages: list[tuple[str, bytes]], connections: int) -> None:
    """The baseline: the same bytes through aiosmtplib, the same number of connections, nothing else."""
    import asyncio

    import aiosmtplib

    queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
    for item in messages:
        queue.put_nowait(item)

    async def worker() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
        await client.connect()
        while not queue.empty():
            rcpt, data = queue.get_nowait()
            await client.sendmail("ops@example.com", [rcpt], data)
        await client.quit()

    await asyncio.gather(*(worker() for _ in range(connections)))


def bench_fanout(count: int, folder: Path, repeat: int, pin: bool = False) -> None:
    """3. Email fan-out of ``count`` personalised messages on one node, its ledger on SQLite and on
    PostgreSQL, each next to bare aiosmtplib sending the same bytes on as many connections; with
    them a control, our fan-out with the ledger's delivery writes kept in memory (what the fan-out
    costs without its bookkeeping). The four interleaved in every repeat (this machine's speed
    drifts), ratios from their medians, spread from the ratios of each repeat, and the CPU that
    each side and the sink (and the PostgreSQL server) used. Ours is timed as a running daemon makes
    a fan-out: its ledger open (opening and migrating it is start-up, timed apart), from the pass
    that finds the reminder due to the channels and the ledger closed (SMTP QUIT, as bare
    aiosmtplib's). A first round, untimed, warms all (imports, compiled templates). ``pin``: our side
    and bare aiosmtplib on the last CPU, the sink and the PostgreSQL server on the first (as a relay
    and a database on other hosts take none of the sender's CPU)."""
    import asyncio

    from outage_daemon.channels.email.message import payloads
    from outage_daemon.channels.render import templates
    from outage_daemon.core.decide import decide
    from outage_daemon.core.planner import plan
    from outage_daemon.pipeline import Notifier

    proc, port = start_sink()
    server = PgServer()
    mine = os.sched_getaffinity(0)
    if pin:
        first, last = min(mine), max(mine)
        assert first != last, "--pin needs two CPUs"
        postmaster, children = server_processes(server) or (0, [])
        for pid in (proc.pid, postmaster, *children):  # backends forked later inherit the postmaster's
            if pid:
                os.sched_setaffinity(pid, {first})
        os.sched_setaffinity(0, {last})  # this thread, and the threads it starts from now on
    sides = ("sqlite", "postgres", "control", "bare")
    times: dict[str, list[float]] = {side: [] for side in sides}
    opened: dict[str, list[float]] = {"sqlite": [], "postgres": []}  # opening the ledger: start-up, timed apart
    cpu: dict[str, list[tuple[float, float, float | None]]] = {side: [] for side in sides}  # ours, sink, server
    try:
        start = datetime.now(UTC) + timedelta(hours=1, seconds=-5)
        text = config_text(1, recipients=count, start=start).replace(
            "calendar:", f"email: {{from: ops@example.com, smtp: {{host: 127.0.0.1, port: {port}, security: none, "
            f"connections: 4}}}}\ncalendar:").replace("[1d, 2h, 15m]", "[1h]")

        def notifier(side: str, config: object, state: Path) -> Notifier:
            state.mkdir()
            clock = lambda: datetime.now(UTC)  # noqa: E731
            if side == "control":
                return Notifier(config, WritesInMemory(str(state / "ledger.sqlite3")), str(state), clock)  # type: ignore[arg-type]
            return Notifier.open(config, str(state), clock, server.database() if side == "postgres" else None)  # type: ignore[arg-type]

        def used() -> tuple[float, float, float | None]:
            return time.process_time(), cpu_of(proc.pid), server_cpu(server)

        def spent(since: tuple[float, float, float | None]) -> tuple[float, float, float | None]:
            time.sleep(0.3)  # the server's backends, closed with the pool, are gone and counted
            now = used()
            return now[0] - since[0], now[1] - since[1], None if now[2] is None or since[2] is None else now[2] - since[2]

        async def ours(side: str, config: object, state: Path) -> tuple[float, float, tuple[float, float, float | None]]:
            t0 = time.perf_counter()
            running = notifier(side, config, state)
            t1, c1 = time.perf_counter(), used()
            try:
                tally = await running.run_once()
            finally:
                await running.close()
            took = time.perf_counter() - t1
            assert tally.sent == count, tally
            return took, t1 - t0, spent(c1)

        for attempt in range(-1, repeat):  # -1: the warm-up round
            path = folder / f"fan{attempt}.yaml"
            path.write_text(text, encoding="utf-8")
            config = load(str(path))
            now = datetime.now(UTC)
            [send], _ = decide(plan(config, now - timedelta(hours=1), now), set(), now)
            prepared = list(payloads(send, config, [f"u{i}@example.com" for i in range(count)], now,
                                     templates(None)).items())
            for side in sides:
                if side == "bare":
                    t0, c0 = time.perf_counter(), used()
                    asyncio.run(bare_fanout(port, prepared, 4))
                    took, opening, cost = time.perf_counter() - t0, 0.0, spent(c0)
                else:
                    took, opening, cost = asyncio.run(ours(side, config, folder / f"fan-state{attempt}-{side}"))
                if attempt >= 0:
                    times[side].append(took)
                    cpu[side].append(cost)
                    if side in opened:
                        opened[side].append(opening)
    finally:
        os.sched_setaffinity(0, mine)
        server.stop()
        proc.terminate()
        proc.wait()
    bare_rate = count / statistics.median(times["bare"])
    results: dict[str, object] = {"messages": count, "connections": 4, "repeats": repeat, "pinned": pin,
                                  "bare_aiosmtplib_per_s": bare_rate}
    per = 1000 / count  # CPU is shown per 1,000 messages

    def cpu_ms(side: str, which: int) -> float | None:
        used = [u for u in (c[which] for c in cpu[side]) if u is not None]
        return statistics.median(used) * 1000 * per if used else None

    results["bare_cpu_ms"] = {"ours": cpu_ms("bare", 0), "sink": cpu_ms("bare", 1)}
    where = ", sink and server on another CPU" if pin else ""
    names = {"sqlite": f"ledger on SQLite{where}", "postgres": f"ledger on PostgreSQL{where}",
             "control": f"control: delivery writes kept in memory{where}"}
    usage = {side: {"ours": cpu_ms(side, 0), "sink": cpu_ms(side, 1),
                    "server": cpu_ms(side, 2) if side == "postgres" else None} for side in names}
    for side, name in names.items():
        rate = count / statistics.median(times[side])
        spread = [b / o for o, b in zip(times[side], times["bare"], strict=True)]
        results[side] = {"ours_per_s": rate, "ratio": rate / bare_rate, "ratio_min": min(spread),
                         "ratio_max": max(spread), "cpu_ms": usage[side]}
        if side in opened:
            results[side]["open_s"] = statistics.median(opened[side])  # type: ignore[index]
        target = "(no target)" if side == "control" else verdict(rate / bare_rate >= 0.9) + " (≥ 0.9×)"
        row(f"email fan-out, {count:,} personalised, {name}", f"{rate:.0f} msg/s", f"{bare_rate:.0f} msg/s bare aiosmtplib",
            f"{rate / bare_rate:.2f}× ({min(spread):.2f}–{max(spread):.2f}) {target}")
    for side, name in names.items():
        ours_cpu, server_ms = f"{usage[side]['ours']:.0f} ms", usage[side]["server"]
        if server_ms is not None:
            ours_cpu += f" + {server_ms:.0f} ms the PostgreSQL server"
        row(f"CPU per 1,000 messages of the fan-out, {name}", f"{ours_cpu}; sink {usage[side]['sink']:.0f} ms",
            f"bare {cpu_ms('bare', 0):.0f} ms; sink {cpu_ms('bare', 1):.0f} ms", "")
    RESULTS["fanout"] = results


def bench_running_daemon(sizes: list[int], folder: Path, quick: bool) -> None:
    """4-6. The running daemon: lateness, HTTP next to a bare aiohttp handler, start-up, reload, RSS."""
    from daemon_bench import bench_daemon

    results = {n: bench_daemon(n, folder / f"daemon{n}", probes=5 if quick else 20, requests=300 if quick else 2000)
               for n in sizes}
    RESULTS["daemon"] = results
    big = max(sizes)
    r = results[big]
    late = r["lateness"]  # type: ignore[index]
    row(f"reminder lateness, {big:,} windows, first msg", f"{late['first_median_ms']:.0f} ms median",
        f"{late['first_worst_ms']:.0f} ms worst", verdict(late["first_median_ms"] < 50 and late["first_worst_ms"] < 200)
        + " (< 50 / < 200 ms)")
    row(f"reminder lateness, {big:,} windows, last msg", f"{late['last_median_ms']:.0f} ms median",
        f"{late['last_worst_ms']:.0f} ms worst ({late['messages']} msgs)", "")
    http = r["http"]  # type: ignore[index]
    for what, ours, bare in (("full GET", "full_ours_rps", "full_bare_rps"), ("304", "304_ours_rps", "304_bare_rps")):
        ratio = http[ours] / http[bare]
        row(f"HTTP feed {what}, {big:,} windows ({http['feed_bytes'] / 1e6:.1f} MB)", f"{http[ours]:.0f} req/s",
            f"{http[bare]:.0f} req/s bare aiohttp", f"{ratio:.2f}× " + verdict(ratio >= 0.7) + " (≥ 0.7×)")
    row(f"HTTP feed gzip GET, {big:,} windows", f"{http['gzip_ours_rps']:.0f} req/s", "(pre-compressed once)", "")
    for n in sizes:
        row(f"daemon start-up to READY=1, {n:,} windows", f"{results[n]['startup_s']:.2f} s", "", "")
        row(f"reload (SIGHUP to READY=1), {n:,} windows", f"{results[n]['reload_s']:.2f} s", "", "")
    rss = r["peak_rss_mb"]
    row(f"daemon peak RSS, {big:,} windows", f"{rss:.0f} MB", "", verdict(rss < 200) + " (< 200 MB)")
    if len(sizes) > 1:
        small = sorted(sizes)[-2]
        for key in ("startup_s", "reload_s", "peak_rss_mb"):
            growth = results[big][key] / results[small][key]  # type: ignore[operator]
            row(f"{key} growth {small:,} → {big:,}", f"{growth:.1f}×", f"{big // small}× windows",
                verdict(growth <= 12) + " (≤ 12×)")


def bench_responsiveness(n: int, folder: Path, quick: bool) -> None:
    """7. /healthz latency while the daemon re-plans, reloads and fans out (nothing blocks the loop)."""
    from responsiveness import bench_responsiveness as measure

    recipients = 200 if quick else 1000
    r = measure(n, folder / "responsive", recipients, watch_passes=1 if quick else 2)
    RESULTS["responsiveness"] = r
    for phase, what in (("steady", f"{1 if quick else 2} watch re-plans"), ("reload", "a SIGHUP reload"),
                        ("fanout", f"a {recipients:,}-recipient fan-out"),
                        ("reload_fanout", f"a SIGHUP reload during a {recipients:,}-recipient fan-out "
                         f"({r['reload_fanout_overlap_s']:.1f} s overlap)")):
        ms = r[f"{phase}_worst_ms"]
        row(f"/healthz every 20 ms during {what}, {n:,} windows", f"{ms:.0f} ms worst",
            f"{r[f'{phase}_probes']} probes", verdict(ms <= 50) + " (≤ 50 ms)")  # type: ignore[operator]
    startup = r["startup_s"]
    row(f"start-up to READY=1, {n:,} windows × 20 recipients", f"{startup:.2f} s", "",
        verdict(startup < 3) + " (< 3 s)")  # type: ignore[operator]
def bench_replicas(folder: Path, quick: bool) -> None:
    """8. Replicas on one PostgreSQL: fan-out by 1 (pinned to one CPU) and 3 of them (pinned round-robin
    over the CPUs) next to one SQLite daemon, the same against a relay that takes its time, lateness,
    takeover after kill -9 (quick: 600 recipients, the takeover with 200, a 3 s lease and a 1 s poll)."""
    from replicas_bench import bench_replicas as run

    r = run(folder / "replicas", quick)
    RESULTS["replicas"] = r
    base = r["sqlite_1"]["per_s"]  # type: ignore[index]
    n = r["sqlite_1"]["recipients"]  # type: ignore[index]
    row(f"daemon fan-out, {n:,} recipients, SQLite, 1 CPU", f"{base:.0f} msg/s", "(due time to last sent)", "")
    relay = f"relay {r['relay_postgres_1']['relay_ms']:.0f} ms per message, "  # type: ignore[index]
    for prefix, label in (("", ""), ("relay_", relay)):
        one = r[f"{prefix}postgres_1"]["per_s"]  # type: ignore[index]
        row(f"daemon fan-out, {n:,} recipients, {label}1 replica on PostgreSQL, 1 CPU", f"{one:.0f} msg/s",
            "" if prefix else f"{base:.0f} msg/s SQLite daemon", "" if prefix else f"{one / base:.2f}×")
        rate, spread = r[f"{prefix}postgres_3"]["per_s"], r[f"{prefix}postgres_3"]["cpus"]  # type: ignore[index]
        row(f"daemon fan-out, {n:,} recipients, {label}3 replicas on PostgreSQL, taskset over {spread} CPUs",
            f"{rate:.0f} msg/s", f"{one:.0f} msg/s 1 replica", f"{rate / one:.2f}× " + verdict(rate >= one) + " (≥ 1×)")
    three = r["postgres_3"]
    row(f"reminder lateness, 3 replicas, {n:,} recipients", f"{three['first_late_ms']:.0f} ms first",  # type: ignore[index]
        f"{three['last_late_ms']:.0f} ms last", "")  # type: ignore[index]
    take = r["takeover"]
    row(f"takeover after kill -9 ({take['held_at_kill']} claims held)", f"{take['takeover_s']:.1f} s",  # type: ignore[index]
        f"lease + poll = {take['target_s']:.0f} s", verdict(take["takeover_s"] <= take["target_s"])  # type: ignore[index]
        + " (≤ lease + poll)")


def bench_metrics(sizes: list[int], folder: Path, repeat: int) -> None:
    """3. /metrics with a gauge pair per window, computed at each scrape, next to rendering /api/windows
    (the other answer that walks every window for ``now``)."""
    from prometheus_client import generate_latest

    from outage_daemon.formats.status import api
    from outage_daemon.web import State

    results = {}
    for n in sizes:
        path = folder / f"m{n}.yaml"
        path.write_text(config_text(n), encoding="utf-8")
        config = load(str(path))
        state = State(config, {}, lambda: NOW)
        scrape = median_of(lambda s=state: generate_latest(s.metrics.registry), repeat)  # gauges cached
        cold = median_of(lambda c=config: generate_latest(State(c, {}, lambda: NOW).metrics.registry), repeat)
        windows = median_of(lambda c=config: json.dumps(api(c, NOW), ensure_ascii=False), repeat)
        results[n] = {"metrics_s": scrape, "metrics_cold_s": cold, "api_windows_s": windows,
                      "ratio": scrape / windows, "ratio_cold": cold / windows}
        row(f"/metrics {n:,} windows", f"{scrape * 1000:.0f} ms", f"{windows * 1000:.0f} ms /api/windows",
            f"{scrape / windows:.2f}× " + verdict(scrape / windows <= 1.0) + " (≤ 1×)")
        row(f"/metrics {n:,} windows, a window just started", f"{cold * 1000:.0f} ms",
            f"{windows * 1000:.0f} ms /api/windows", f"{cold / windows:.2f}× " + verdict(cold / windows <= 1.5)
            + " (≤ 1.5×)")
    RESULTS["metrics"] = results


def overlapping(n: int) -> str:
    """A config of ``n`` windows of one system, each overlapping the next: ``n`` warnings of check."""
    first = datetime(2027, 2, 1, tzinfo=UTC)
    rows = [f"  - {{id: w{i}, system: db, start: '{first + timedelta(minutes=30 * i):%Y-%m-%dT%H:%MZ}', "
            f"end: '{first + timedelta(minutes=30 * i + 120):%Y-%m-%dT%H:%MZ}'}}" for i in range(n)]
    return "timezone: UTC\nwindows:\n" + "\n".join(rows) + "\n"


def bench_check_warnings(sizes: list[int], folder: Path, repeat: int) -> None:
    """7. check's warnings printed with their source lines: each file split once (linear), against
    the baseline of splitting the file again for every warning (as before, quadratic)."""
    results = {}
    for n in sizes:
        path = folder / f"overlap{n}.yaml"
        path.write_text(overlapping(n), encoding="utf-8")
        found = warnings(load(str(path)), NOW)
        text = path.read_text(encoding="utf-8")
        with open(os.devnull, "w", encoding="utf-8") as sink, contextlib.redirect_stderr(sink):
            now = median_of(lambda f=found: print_problems(f, warning=True), repeat)
        before = median_of(lambda f=found, t=text: [p.compiler(t, True) for p in f], max(1, repeat // 2))
        results[n] = {"warnings": len(found), "print_s": now, "resplit_s": before}
        row(f"check: print {len(found):,} warnings", f"{now * 1000:.0f} ms", f"{before * 1000:.0f} ms re-splitting "
            f"({before / now:.0f}x)", "")
    small, large = sizes[0], sizes[-1]
    growth = results[large]["print_s"] / results[small]["print_s"]
    row(f"check: warnings x{large // small}: print time grows", f"x{growth:.1f}",
        f"x{results[large]['resplit_s'] / results[small]['resplit_s']:.1f} re-splitting",
        verdict(growth < 2 * large / small))
    RESULTS["check_warnings"] = results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--only", choices=["fanout", "replicas", "responsiveness"],
                        help="run one section (results.json is left as it is)")
    parser.add_argument("--repeat", type=int, help="repeats of the timed sections (default 5, quick 3)")
    parser.add_argument("--pin", action="store_true", help="fan-out: the senders on one CPU, the sink and the "
                        "PostgreSQL server on another")
    args = parser.parse_args()
    sizes = [100, 1000] if args.quick else [100, 1000, 10_000]
    repeat = args.repeat or (3 if args.quick else 5)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.only:
            if args.only == "fanout":
                bench_fanout(200 if args.quick else 1000, folder, repeat, args.pin)
            elif args.only == "replicas":
                bench_replicas(folder, args.quick)
            else:
                bench_responsiveness(1000 if args.quick else 10_000, folder, args.quick)
            for r in ROWS:
                print(" | ".join(r))
            return 0
        bench_cli(sizes, folder, repeat)
        bench_render(sizes, folder, repeat)
        bench_metrics(sizes, folder, repeat)
        bench_push(sizes, folder, repeat)
        bench_fanout(200 if args.quick else 1000, folder, repeat, args.pin)
        bench_running_daemon([1000] if args.quick else [1000, 10_000], folder, args.quick)
        bench_responsiveness(1000 if args.quick else 10_000, folder, args.quick)
        bench_replicas(folder, args.quick)
        bench_check_warnings([1000, 2000] if args.quick else [2500, 5000, 10_000], folder, repeat)
    RESULTS["meta"] = {"quick": args.quick, "seconds": time.perf_counter() - started, "cpus": os.cpu_count(),
                       "python": sys.version.split()[0]}
    widths = [max(len(r[i]) for r in [("what", "measured", "baseline (same run)", "target"), *ROWS])
              for i in range(4)]
    for r in [("what", "measured", "baseline (same run)", "target"), *ROWS]:
        print(" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    out = ROOT / "bench" / "results.json"
    out.write_text(json.dumps(RESULTS, indent=1, default=str) + "\n", encoding="utf-8")
    print(f"\nwritten {out.relative_to(ROOT)} in {RESULTS['meta']['seconds']:.0f} s")  # type: ignore[index]
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Replicas on one PostgreSQL ledger, as real daemon processes (used by bench/run.py).

- fan-out of N recipients (3,000; 600 in the quick run) by 1 and by 3 replicas on PostgreSQL, next to
  one daemon on SQLite: the rate is N over the time from the reminder's due time to the last delivery
  marked sent. Each daemon is pinned to one CPU (``sched_setaffinity``, what ``taskset -c`` does),
  round-robin over the CPUs this process may use: one replica (or the SQLite daemon) on the first,
  three spread over all of them, so that more replicas get more CPUs when there are any;
- the same 1 and 3 replicas against a relay that takes :data:`RELAY` per message, as a relay on a
  network that checks what it accepts does: there the relay's answers bound a replica, not the CPU;
- reminder lateness with 3 replicas: due time to the first and to the last delivery marked sent;
- takeover after kill -9: from the kill of the replica holding the most claims mid-fan-out to the
  first of its deliveries sent by another (target: the lease plus one poll).

The SMTP server is aiosmtpd in this process; the PostgreSQL server is the tests' throwaway one.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import psycopg  # noqa: E402
from daemonproc import Daemon  # noqa: E402
from pgserver import PgServer  # noqa: E402
from smtpsink import Server, Sink, wait_for  # noqa: E402

UTC = timezone.utc
AHEAD = 6.0  # seconds from writing the config to the reminder's due time (start-up fits in it)
SETTLE = 0.5  # seconds after a kill -9 before reading what the victim held (far below any lease)
RELAY = 0.02  # seconds a relay on a network takes to accept one message (the relay-bound rows)


def config_text(port: int, due: datetime, recipients: int, lease: str, poll: str) -> str:
    people = ", ".join(f"u{i:05}@example.com" for i in range(recipients))
    start = due + timedelta(minutes=10)
    return f"""
timezone: UTC
language: en
notify: {{before_stop: [10m], at_stop: false, before_restore: [], at_restore: false, late_limit: 1h}}
email:
  from: ops@example.com
  smtp: {{host: 127.0.0.1, port: {port}, security: none, retry: 1s, connections: 4, timeout: {int(lease[:-1]) // 2}s}}
audiences: {{all: {{email: [{people}]}}}}
ledger: {{lease: {lease}, poll: {poll}}}
windows:
  - {{id: w1, system: 发票系统, title: upgrade, start: '{start:%Y-%m-%dT%H:%M:%S}Z', end: '{start + timedelta(hours=1):%Y-%m-%dT%H:%M:%S}Z'}}
"""


def sent_times(url: str) -> list[datetime]:
    """Return when each delivery of the ledger at ``url`` was marked sent."""
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url[len("sqlite:///"):]) as db:
            return [datetime.fromisoformat(r[0]) for r in db.execute("SELECT updated FROM deliveries WHERE state = 'sent'")]
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute("SELECT updated FROM deliveries WHERE state = 'sent'")]


def cpus() -> list[int]:
    """Return the CPUs this process may run on, in order (the daemons are pinned round-robin over them)."""
    return sorted(os.sched_getaffinity(0))


def pinned(cpu: int) -> Callable[[], None]:
    """Given a CPU, return what pins a child process to it before it runs (``taskset -c CPU``)."""
    return lambda: os.sched_setaffinity(0, {cpu})


def run_fanout(folder: Path, url: str | None, replicas: int, recipients: int, delay: float = 0.0,
               lease: str = "15s", poll: str = "30s",
               during: Callable[[list[Daemon], str], dict[str, float]] | None = None) -> dict[str, float]:
    """Start ``replicas`` daemons on the ledger at ``url`` (None: SQLite), let them send one reminder
    to ``recipients``, and return rate, lateness and what ``during`` measured meanwhile."""
    folder.mkdir(parents=True)
    box = Sink(delay=delay)
    with Server(box) as smtp:
        due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=AHEAD)
        path = folder / "c.yaml"
        path.write_text(config_text(smtp.port, due, recipients, lease, poll))
        ledger = url or f"sqlite:///{folder / 'state0' / 'ledger.sqlite3'}"
        extra = (lambda n: ["--ledger", ledger, "--node", f"r{n}"]) if url else (lambda n: [])
        on = cpus()
        daemons = [Daemon(path, folder / f"state{n}", watchdog_usec=None, extra=extra(n), preexec=pinned(on[n % len(on)]))
                   for n in range(replicas)]
        try:
            for d in daemons:
                assert d.read_notify("READY=1", 60), d.output()
            measured = during(daemons, ledger) if during else {}
            assert wait_for(lambda: len(sent_times(ledger)) >= recipients, 300), daemons[0].output()[-2000:]
        finally:
            for d in daemons:
                d.stop()
    if during is None:  # no kill: every recipient got exactly one message
        assert len(box.received) == recipients, f"{len(box.received)} messages for {recipients} recipients"
    times = sorted(sent_times(ledger))
    first, last = (times[0] - due).total_seconds(), (times[-1] - due).total_seconds()
    return {"recipients": recipients, "replicas": replicas, "cpus": len({n % len(on) for n in range(replicas)}),
            "per_s": recipients / max(last, 1e-3), "relay_ms": delay * 1000,
            "first_late_ms": first * 1000, "last_late_ms": last * 1000, "received": len(box.received), **measured}


def kill_the_busiest(daemons: list[Daemon], url: str) -> dict[str, float]:
    """Mid-fan-out, kill -9 the replica holding the most claims; return the seconds until another
    replica has sent the first of the deliveries it held."""
    held: list[tuple[str, str]] = []
    with psycopg.connect(url, autocommit=True) as conn:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            row = conn.execute("SELECT owner FROM deliveries WHERE owner IS NOT NULL AND state = 'pending' "
                               "GROUP BY owner ORDER BY count(*) DESC LIMIT 1").fetchone()
            if row and conn.execute("SELECT count(*) FROM deliveries WHERE state = 'sent'").fetchone()[0] > 20:  # type: ignore[index]
                break
            time.sleep(0.01)
        victim = int(str(row[0])[1:])  # type: ignore[index]
        daemons[victim].signal(signal.SIGKILL)
        killed = time.monotonic()
        time.sleep(SETTLE)  # an outcome the victim wrote just before it died lands; it is no takeover
        held = conn.execute("SELECT key, recipient FROM deliveries WHERE owner = %s AND state = 'pending'",
                            (f"r{victim}",)).fetchall()
        while held and time.monotonic() < killed + 120:
            done = conn.execute("SELECT count(*) FROM deliveries WHERE state = 'sent' AND (key, recipient) IN "
                                "(SELECT * FROM unnest(%s::text[], %s::text[]))",
                                ([k for k, _ in held], [r for _, r in held])).fetchone()
            if done and done[0]:
                break
            time.sleep(0.05)
    return {"takeover_s": time.monotonic() - killed, "held_at_kill": len(held)}


def median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    """Given the runs of one scenario, return the one with the median rate."""
    return sorted(runs, key=lambda r: r["per_s"])[len(runs) // 2]


def bench_replicas(folder: Path, quick: bool) -> dict[str, object]:
    """Run every scenario; return the figures by name."""
    recipients, rounds = (600, 1) if quick else (3000, 3)
    server = PgServer()
    try:
        runs: dict[str, list[dict[str, float]]] = {
            "sqlite_1": [], "postgres_1": [], "postgres_3": [], "relay_postgres_1": [], "relay_postgres_3": []}
        for i in range(rounds):  # interleaved: this machine is shared, its speed drifts
            runs["sqlite_1"].append(run_fanout(folder / f"sqlite{i}", None, 1, recipients))
            for n in (1, 3):
                runs[f"postgres_{n}"].append(run_fanout(folder / f"pg{n}-{i}", server.database(), n, recipients))
                runs[f"relay_postgres_{n}"].append(run_fanout(folder / f"relay{n}-{i}", server.database(), n,
                                                              recipients, delay=RELAY))
        out: dict[str, object] = {name: median_run(found) for name, found in runs.items()}
        lease, poll = ("3s", "1s") if quick else ("15s", "30s")
        out["takeover"] = run_fanout(folder / "kill", server.database(), 3, 200 if quick else 1000, delay=0.02, lease=lease,
                                     poll=poll, during=kill_the_busiest)
        out["takeover"]["target_s"] = float(lease[:-1]) + float(poll[:-1])  # type: ignore[index]
    finally:
        server.stop()
    return out

"""The PostgreSQL ledger beyond the shared contract: concurrent replicas, its clock, its errors."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from pgserver import PgServer
from test_ledger import NOW, decision, pending

from outage_daemon.core.timerules import UTC
from outage_daemon.credentials import CredentialError
from outage_daemon.ledger import LedgerError, open_ledger


def test_replicas_claiming_at_once_share_the_work_and_never_overlap(pg_url: str) -> None:
    first = open_ledger(pg_url)
    first.record([decision("k1")], [pending("k1", f"u{i:03}@example.com") for i in range(300)], NOW)
    replicas = [first, open_ledger(pg_url), open_ledger(pg_url)]
    taken: list[list[str]] = [[], [], []]

    def drain(n: int) -> None:
        while claimed := replicas[n].claim(f"node-{n}", NOW, limit=7):
            taken[n] += [d.recipient for d in claimed]

    threads = [threading.Thread(target=drain, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for ledger in replicas:
        ledger.close()
    everyone = [r for part in taken for r in part]
    assert sorted(everyone) == [f"u{i:03}@example.com" for i in range(300)]  # each once, none lost
    assert sum(1 for part in taken if part) >= 2  # shared, not one replica doing it all


def test_exclusive_blocks_of_two_replicas_run_one_after_the_other(pg_url: str) -> None:
    replicas = [open_ledger(pg_url), open_ledger(pg_url)]
    replicas[0].set_meta("count", "0")

    def bump(n: int) -> None:
        with replicas[n].exclusive():
            seen = int(replicas[n].get_meta("count") or "0")
            time.sleep(0.2)  # a reload computing notices; the other must wait, not read the old count
            replicas[n].set_meta("count", str(seen + 1))

    threads = [threading.Thread(target=bump, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert replicas[0].get_meta("count") == "2"
    for ledger in replicas:
        ledger.close()


def test_leases_are_taken_on_the_database_clock(pg_url: str) -> None:
    ledger = open_ledger(pg_url)
    try:
        ledger.record([decision("k1")], [pending("k1", "a@example.com", NOW)], NOW)
        [held] = ledger.claim("node-a", None, lease=timedelta(seconds=15))
        with psycopg.connect(pg_url) as conn:
            row = conn.execute("SELECT lease_until - clock_timestamp() FROM deliveries").fetchone()
        assert row is not None and timedelta(seconds=13) < row[0] <= timedelta(seconds=15)
        assert held.owner == "node-a" and held.claim == 1
    finally:
        ledger.close()


def test_a_database_from_a_newer_version_is_refused(pg_url: str) -> None:
    open_ledger(pg_url).close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE outage_daemon_schema SET version = 99")
    with pytest.raises(LedgerError, match="newer than this outage-daemon understands"):
        open_ledger(pg_url)


def test_an_unreachable_server_is_one_line_without_the_password(pg_server: PgServer) -> None:
    from smtpsink import free_port

    url = f"postgresql://ops:s3cret-pw@127.0.0.1:{free_port()}/outage"
    with pytest.raises(LedgerError) as info:
        open_ledger(url)
    message = str(info.value)
    assert "\n" not in message and "s3cret-pw" not in message and "ops:***@127.0.0.1" in message
    assert message.startswith("cannot open the ledger postgresql://")


def test_peers_hear_a_record_as_a_hint(pg_url: str) -> None:
    hearing, speaking = open_ledger(pg_url), open_ledger(pg_url)
    heard: list[str] = []
    got = threading.Event()

    def hint(topic: str) -> None:
        heard.append(topic)
        if topic == "record":
            got.set()

    try:
        hearing.listen(hint)
        deadline = time.monotonic() + 10
        while "listen" not in heard and time.monotonic() < deadline:
            time.sleep(0.05)
        speaking.record([decision("k1")], [pending("k1", "a@example.com", datetime.now(UTC))], NOW)
        assert got.wait(10), heard
        hearing.record([decision("k2")], [pending("k2", "a@example.com")], NOW)
        time.sleep(0.7)
        assert heard.count("record") == 1  # its own record is not a hint to itself
    finally:
        hearing.close()
        speaking.close()


def test_the_ledger_url_from_the_option_the_environment_a_file_or_a_credential(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from outage_daemon.cli import ledger_url, parser

    for name in ("OUTAGE_DAEMON_LEDGER", "OUTAGE_DAEMON_LEDGER_FILE", "CREDENTIALS_DIRECTORY"):
        monkeypatch.delenv(name, raising=False)
    args = parser().parse_args(["run", "-c", "x.yaml", "--state-dir", str(tmp_path / "s")])
    assert ledger_url(args) == f"sqlite:///{tmp_path / 's' / 'ledger.sqlite3'}"
    (tmp_path / "creds").mkdir()
    (tmp_path / "creds" / "ledger-url").write_text("postgresql://ops:from-credential@db/outage\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path / "creds"))
    assert ledger_url(args) == "postgresql://ops:from-credential@db/outage"
    (tmp_path / "url").write_text("postgresql://ops:from-file@db/outage\n")
    monkeypatch.setenv("OUTAGE_DAEMON_LEDGER_FILE", str(tmp_path / "url"))
    assert ledger_url(args) == "postgresql://ops:from-file@db/outage"
    monkeypatch.setenv("OUTAGE_DAEMON_LEDGER", "postgresql://db/from-env")
    assert ledger_url(args) == "postgresql://db/from-env"
    args.ledger = "postgresql://db/from-option"
    assert ledger_url(args) == "postgresql://db/from-option"
    monkeypatch.delenv("OUTAGE_DAEMON_LEDGER")
    args.ledger = None
    monkeypatch.setenv("OUTAGE_DAEMON_LEDGER_FILE", str(tmp_path / "missing"))
    with pytest.raises(CredentialError, match="cannot read secret file"):
        ledger_url(args)

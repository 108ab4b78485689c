"""The ledger's contract, run against every backend: what the notifier relies on from storage."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from outage_daemon.core.acks import Acknowledgement
from outage_daemon.core.kinds import Kind
from outage_daemon.core.records import Attempt, Decision, Delivery, Revision, Schedule, SilenceAction
from outage_daemon.core.timerules import UTC
from outage_daemon.ledger import Ledger, LedgerError, default_url, open_ledger

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty ledger of each backend."""
    if request.param == "sqlite":
        return default_url(str(tmp_path / "state"))
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    raise AssertionError(request.param)


@pytest.fixture
def ledger(url: str) -> Iterator[Ledger]:
    opened = open_ledger(url)
    yield opened
    opened.close()


def pending(key: str, recipient: str, due: datetime = NOW, channel: str = "email") -> Delivery:
    return Delivery(key, recipient, channel, "pending", 0, None, f"<{recipient}>", b"body of " + recipient.encode(),
                    due + timedelta(hours=1), due)


def decision(key: str, reason: str | None = None) -> Decision:
    return Decision(key, "w1", Kind.BEFORE_STOP, NOW, reason)


def test_reopening_migrates_nothing_twice_and_keeps_rows(url: str) -> None:
    first = open_ledger(url)
    first.record([decision("k1")], [pending("k1", "a@example.com")], NOW)
    first.close()
    again = open_ledger(url)
    assert [d.recipient for d in again.deliveries()] == ["a@example.com"]
    again.close()


def test_revisions_schedules_and_meta_round_trip(ledger: Ledger) -> None:
    rev = Revision("w1", "f" * 64, 3, NOW, NOW + timedelta(minutes=5))
    ledger.save_revisions([rev])
    ledger.save_revisions([Revision("w1", "e" * 64, 4, NOW, NOW + timedelta(minutes=9))])
    assert ledger.revisions()["w1"].sequence == 4
    schedule = Schedule("2026-03-02T22:00:00+08:00", "2026-03-03T06:00:00+08:00", None, (), "confirmed")
    ledger.save_schedules({"w1": schedule})
    assert ledger.schedules() == {"w1": schedule}
    assert ledger.get_meta("initialized") is None
    ledger.set_meta("initialized", "1")
    ledger.set_meta("initialized", "2")
    assert ledger.get_meta("initialized") == "2"


def test_recording_is_idempotent(ledger: Ledger) -> None:
    ledger.record([decision("k1"), decision("k2", "superseded")], [pending("k1", "a@example.com")], NOW)
    changed = pending("k1", "a@example.com", NOW + timedelta(minutes=1))
    ledger.record([decision("k1")], [changed, pending("k1", "b@example.com")], NOW + timedelta(minutes=1))
    rows = ledger.deliveries()
    assert [(d.recipient, d.next_try) for d in rows] == [("a@example.com", NOW), ("b@example.com", NOW)]
    assert ledger.decided(["k1", "k2", "k3"]) == {"k1", "k2"}
    assert ledger.counts() == {"pending": 2}


def test_claim_takes_only_what_is_due_and_free(ledger: Ledger) -> None:
    ledger.record([decision("k1")], [pending("k1", "a@example.com"),
                                     pending("k1", "later@example.com", NOW + timedelta(minutes=10))], NOW)
    claimed = ledger.claim("node-a", NOW)
    assert [d.recipient for d in claimed] == ["a@example.com"]
    assert claimed[0].owner == "node-a" and claimed[0].payload == b"body of a@example.com"
    assert ledger.claim("node-b", NOW + timedelta(seconds=5)) == []  # held by node-a until its lease ends
    assert [d.recipient for d in ledger.claim("node-b", NOW + timedelta(minutes=11))] == \
        ["a@example.com", "later@example.com"]  # node-a's lease expired: reclaimed


@pytest.mark.parametrize(("due", "at", "taken"), [
    pytest.param(NOW - timedelta(microseconds=1), NOW, True, id="due-a-microsecond-before-a-whole-second"),
    pytest.param(NOW + timedelta(microseconds=1), NOW, False, id="due-a-microsecond-after-a-whole-second"),
    pytest.param(NOW, NOW, True, id="due-at-the-whole-second"),
    pytest.param(NOW + timedelta(microseconds=500), NOW + timedelta(microseconds=500), True, id="due-at-a-fraction"),
    pytest.param(NOW + timedelta(seconds=1), NOW + timedelta(microseconds=999_999), False, id="due-the-next-second"),
    pytest.param(NOW.astimezone(timezone(timedelta(hours=8))), NOW - timedelta(microseconds=1), False,
                 id="due-in-another-zone-a-microsecond-later"),
])
def test_claim_compares_instants_to_the_microsecond(ledger: Ledger, due: datetime, at: datetime, taken: bool) -> None:
    ledger.record([decision("k1")], [pending("k1", "a@example.com", due)], NOW)
    assert len(ledger.claim("node-a", at)) == taken
    if taken:  # its lease runs out exactly a lease after: another takes it then, not a microsecond before
        until = at + timedelta(seconds=15)
        assert ledger.claim("node-b", until - timedelta(microseconds=1), timedelta(seconds=15)) == []
        assert [d.owner for d in ledger.claim("node-b", until, timedelta(seconds=15))] == ["node-b"]


def test_claim_honours_a_limit(ledger: Ledger) -> None:
    ledger.record([decision("k1")], [pending("k1", f"u{i}@example.com") for i in range(5)], NOW)
    first = ledger.claim("node-a", NOW, limit=2)
    second = ledger.claim("node-b", NOW, limit=10)
    assert len(first) == 2 and len(second) == 3
    assert not {d.recipient for d in first} & {d.recipient for d in second}


def test_claim_takes_one_channel_when_asked(ledger: Ledger) -> None:
    """Each channel sends in its own loop (issue 18): a claim may be limited to one channel."""
    ledger.record([decision("k1")], [pending("k1", f"u{i}@example.com") for i in range(3)]
                  + [pending("k1", "robot", channel="webhook")], NOW)
    assert [d.recipient for d in ledger.claim("node-a", NOW, limit=1, channel="webhook")] == ["robot"]
    assert [d.recipient for d in ledger.claim("node-a", NOW, limit=2, channel="email")] == \
        ["u0@example.com", "u1@example.com"]
    assert ledger.claim("node-a", NOW, channel="webhook") == []


def test_a_lost_claim_cannot_overwrite_the_new_holders_outcome(ledger: Ledger) -> None:
    ledger.record([decision("k1")], [pending("k1", "a@example.com")], NOW)
    [stale] = ledger.claim("node-a", NOW, lease=timedelta(seconds=15))
    [fresh] = ledger.claim("node-b", NOW + timedelta(seconds=20))
    assert ledger.mark([Attempt(fresh, "sent", NOW + timedelta(seconds=21))]) == [True]
    assert ledger.mark([Attempt(stale, "failed", NOW + timedelta(seconds=22), "550 no")]) == [False]
    [row] = ledger.deliveries()
    assert (row.state, row.last_error, row.attempts, row.payload) == ("sent", None, 1, None)


def test_the_ledger_clock_is_the_databases_or_none(ledger: Ledger) -> None:
    """Issue 21: replicas time reminders on the shared ledger's clock; an embedded one has none."""
    theirs = ledger.now()
    if ledger.shared:
        assert theirs is not None and abs(theirs - datetime.now(UTC)) < timedelta(seconds=5)
    else:
        assert theirs is None


def test_renewing_a_claim_keeps_it_and_is_fenced(ledger: Ledger) -> None:
    """A send still on the wire keeps its claim past the first lease (issue 21); a claim another
    replica took over is not renewed."""
    ledger.record([decision("k1")], [pending("k1", "a@example.com"), pending("k1", "b@example.com")], NOW)
    a, b = ledger.claim("node-a", NOW, lease=timedelta(seconds=15))
    [taken] = ledger.claim("node-b", NOW + timedelta(seconds=20), limit=1)
    assert taken.recipient == "a@example.com"
    assert ledger.renew([a, b], timedelta(seconds=15), NOW + timedelta(seconds=20)) == [False, True]
    assert ledger.claim("node-c", NOW + timedelta(seconds=30)) == []  # b held till 35 s, a by node-b
    assert ledger.mark([Attempt(b, "sent", NOW + timedelta(seconds=31))]) == [True]
    assert ledger.renew([b], timedelta(seconds=15), NOW + timedelta(seconds=32)) == [False]  # made: nothing held


def test_mark_pending_again_waits_for_next_try(ledger: Ledger) -> None:
    ledger.record([decision("k1")], [pending("k1", "a@example.com"), pending("k1", "b@example.com")], NOW)
    a, b = ledger.claim("node-a", NOW)
    retry = NOW + timedelta(minutes=2)
    assert ledger.mark([Attempt(a, "pending", NOW, "451 busy", retry), Attempt(b, "failed", NOW, "550 no")]) == \
        [True, True]
    assert ledger.counts() == {"pending": 1, "failed": 1}
    assert ledger.next_tries() == [retry]
    assert ledger.claim("node-a", NOW + timedelta(minutes=1)) == []
    [again] = ledger.claim("node-a", retry)
    assert (again.attempts, again.last_error, again.payload) == (1, "451 busy", b"body of a@example.com")
    assert [d.recipient for d in ledger.pending(retry)] == ["a@example.com"]
    assert ledger.pending(NOW) == []


def test_release_gives_claims_back(ledger: Ledger) -> None:
    ledger.record([decision("k1")], [pending("k1", "a@example.com"), pending("k1", "b@example.com")], NOW)
    ledger.claim("node-a", NOW, limit=1)
    ledger.claim("node-b", NOW, limit=1)
    assert ledger.release("node-a") == 1
    assert [d.recipient for d in ledger.claim("node-c", NOW)] == ["a@example.com"]
    assert ledger.release() == 2


def test_release_of_some_claims_is_fenced(ledger: Ledger) -> None:
    ledger.record([decision("k1")], [pending("k1", "a@example.com"), pending("k1", "b@example.com")], NOW)
    stale_a, stale_b = ledger.claim("node-a", NOW, lease=timedelta(seconds=15))
    [fresh_b] = ledger.claim("node-b", NOW + timedelta(seconds=20), limit=1, lease=timedelta(seconds=1)) or [None]
    assert fresh_b is not None
    taken = {fresh_b.recipient}
    mine = [d for d in (stale_a, stale_b) if d.recipient not in taken]
    assert ledger.release("node-a", [stale_a, stale_b]) == len(mine) == 1  # not the one node-b took over
    assert [d.owner for d in ledger.pending() if d.recipient in taken] == ["node-b"]
    assert [d.recipient for d in ledger.claim("node-c", NOW + timedelta(seconds=20))] == [mine[0].recipient]


def test_deliveries_of_one_key(ledger: Ledger) -> None:
    ledger.record([decision("k1"), decision("k2")],
                  [pending("k1", "a@example.com"), pending("k2", "hook", channel="webhook")], NOW)
    assert [(d.key, d.channel) for d in ledger.deliveries("k2")] == [("k2", "webhook")]


@pytest.mark.parametrize("url", ["postgres-without-scheme", "mysql://db/x", "sqlite://", "sqlite:///"],
                         ids=["no-scheme", "unknown-scheme", "sqlite-no-path", "sqlite-empty-path"])
def test_a_bad_url_is_one_clear_error(url: str) -> None:
    with pytest.raises(LedgerError, match="ledger URL"):
        open_ledger(url)


def test_a_ledger_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "ledger.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA user_version=99")
    with pytest.raises(LedgerError, match="newer than this outage-daemon understands"):
        open_ledger(f"sqlite:///{path}")


def test_a_ledger_of_schema_6_keeps_its_pending_payloads_when_they_move_to_their_own_table(tmp_path: Path) -> None:
    import sqlite3

    from outage_daemon.ledger.sqlite import SCHEMA

    path = tmp_path / "ledger.sqlite3"
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:  # as the version before payloads moved left it
        for script in SCHEMA[:6]:
            db.executescript(script)
        db.execute("PRAGMA user_version=6")
        row = ("INSERT INTO deliveries (key, recipient, channel, state, attempts, message_id, payload, expires, "
               "next_try, created, updated) VALUES (?, ?, 'email', ?, ?, ?, ?, ?, ?, ?, ?)")
        stamp = NOW.isoformat()
        db.execute(row, ("w1/a", "a@example.com", "pending", 0, "<a>", b"body of a", "2026-03-02T08:00:00+00:00",
                         stamp, stamp, stamp))
        db.execute(row, ("w1/a", "b@example.com", "sent", 1, "<b>", None, "2026-03-02T08:00:00+00:00",
                         stamp, stamp, stamp))
    with open_ledger(f"sqlite:///{path}") as ledger:
        assert [(d.recipient, d.state, d.payload) for d in ledger.deliveries()] == [
            ("a@example.com", "pending", b"body of a"), ("b@example.com", "sent", None)]
        [claimed] = ledger.claim("node-a", NOW)
        assert claimed.payload == b"body of a"
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert [r[1] for r in db.execute("PRAGMA table_info(deliveries)")].count("payload") == 0


def test_a_payload_is_gone_once_its_delivery_is_done(tmp_path: Path) -> None:
    import sqlite3

    url = default_url(str(tmp_path / "state"))
    with open_ledger(url) as ledger:
        ledger.record([Decision("w1/a", "w1", Kind.BEFORE_STOP, NOW)],
                      [pending("w1/a", "a@example.com"), pending("w1/a", "b@example.com")], NOW)
        a, b = ledger.claim("node-a", NOW)
        ledger.mark([Attempt(a, "sent", NOW), Attempt(b, "pending", NOW, "451 busy", NOW + timedelta(minutes=1))])
        assert [(d.recipient, d.payload) for d in ledger.deliveries()] == [
            ("a@example.com", None), ("b@example.com", b"body of b@example.com")]
    path = url.removeprefix("sqlite:///")
    with contextlib.closing(sqlite3.connect(path)) as db:  # not only hidden: deleted, the retried one's kept
        assert [r[0] for r in db.execute("SELECT recipient FROM payloads")] == ["b@example.com"]


def test_payloads_a_killed_process_left_are_deleted_when_the_next_start_gives_back_the_claims(
        tmp_path: Path) -> None:
    import sqlite3

    url = default_url(str(tmp_path / "state"))
    path = url.removeprefix("sqlite:///")
    killed = open_ledger(url)
    killed.record([Decision("w1/a", "w1", Kind.BEFORE_STOP, NOW)],
                  [pending("w1/a", "a@example.com"), pending("w1/a", "b@example.com")], NOW)
    a, _ = killed.claim("node-a", NOW)
    killed.mark([Attempt(a, "sent", NOW)])  # its payload waits for the next claim, which never comes
    killed.db.close()  # type: ignore[attr-defined]  # no close(): as after kill -9
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT count(*) FROM payloads").fetchone()[0] == 2
    with open_ledger(url) as started:
        assert started.release() == 1  # b's claim, given back
        assert [(d.recipient, d.payload) for d in started.pending()] == [("b@example.com", b"body of b@example.com")]
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert [r[0] for r in db.execute("SELECT recipient FROM payloads")] == ["b@example.com"]


def test_history_answers_what_was_decided_sent_skipped_and_failed(ledger: Ledger) -> None:
    later = NOW + timedelta(minutes=5)
    ledger.record([Decision("w1/a", "w1", Kind.BEFORE_STOP, NOW), Decision("w1/b", "w1", Kind.AT_STOP, NOW, "superseded")],
                  [pending("w1/a", "a@example.com"), pending("w1/a", "李娜 <li.na@example.com>")], NOW)
    ledger.record([Decision("w2/a", "w2", Kind.ANNOUNCED, later)], [pending("w2/a", "hook", later, channel="webhook")], later)
    a, b = ledger.claim("node-a", NOW)
    ledger.mark([Attempt(a, "sent", NOW + timedelta(seconds=1)), Attempt(b, "failed", NOW, "550 no such user")])
    entries = ledger.history()
    assert [(e.key, e.state, e.recipient, e.note) for e in entries] == [
        ("w1/a", "sent", "a@example.com", None),
        ("w1/a", "failed", "李娜 <li.na@example.com>", "550 no such user"),
        ("w1/b", "skipped", None, "superseded"),
        ("w2/a", "pending", "hook", None),
    ]
    first = entries[0]
    assert (first.window_id, first.kind, first.due, first.decided_at, first.channel, first.attempts) == \
        ("w1", "before_stop", NOW, NOW, "email", 1)
    assert first.updated == NOW + timedelta(seconds=1)
    assert [e.key for e in ledger.history(window="w2")] == ["w2/a"]
    assert [e.state for e in ledger.history(recipient="li.na@example.com")] == ["failed"]
    assert [e.state for e in ledger.history(window="w1", recipient="a@example.com")] == ["sent"]
    assert ledger.history(window="nope") == []
def test_claim_on_the_ledgers_own_clock(ledger: Ledger) -> None:
    real = datetime.now(UTC)
    ledger.record([decision("k1")], [pending("k1", "a@example.com", real - timedelta(seconds=1)),
                                     pending("k1", "b@example.com", real + timedelta(hours=1))], real)
    [mine] = ledger.claim("node-a", None, lease=timedelta(minutes=5))
    assert mine.recipient == "a@example.com"
    assert ledger.claim("node-b", None) == []  # held, on the same clock


def test_exclusive_blocks_nest_and_commit_together(ledger: Ledger) -> None:
    with ledger.exclusive():
        ledger.set_meta("initialized", "1")
        with ledger.exclusive():
            ledger.record([decision("k1")], [pending("k1", "a@example.com")], NOW)
    assert ledger.get_meta("initialized") == "1" and ledger.decided(["k1"]) == {"k1"}
    with pytest.raises(RuntimeError), ledger.exclusive():
        ledger.set_meta("initialized", "2")
        raise RuntimeError("half way")
    assert ledger.get_meta("initialized") == "1"  # rolled back whole


def test_heartbeats_name_the_live_replicas(ledger: Ledger) -> None:
    ledger.heartbeat("node-b", "b" * 64, "0.1.0", timedelta(minutes=1))
    peers = ledger.heartbeat("node-a", "a" * 64, "0.1.0", timedelta(minutes=1))
    assert [(p.node, p.config_hash[:1]) for p in peers] == [("node-a", "a"), ("node-b", "b")]
    assert peers[0].last_seen.tzinfo is not None
    ledger.leave("node-b")
    assert [p.node for p in ledger.heartbeat("node-a", "a" * 64, "0.1.0", timedelta(minutes=1))] == ["node-a"]


def test_history_copies_into_another_backend(ledger: Ledger, tmp_path: Path) -> None:
    ledger.save_revisions([Revision("w1", "f" * 64, 3, NOW, NOW + timedelta(minutes=5))])
    ledger.save_schedules({"w1": Schedule("2026-03-02T22:00:00+08:00", "2026-03-03T06:00:00+08:00", None, (),
                                          "confirmed")})
    ledger.set_meta("initialized", "1")
    ledger.record([decision("k1"), decision("k2", "superseded")],
                  [pending("k1", "a@example.com"), pending("k1", "b@example.com")], NOW)
    [a, _] = ledger.claim("node-a", NOW)
    ledger.mark([Attempt(a, "sent", NOW + timedelta(seconds=1))])
    ledger.record_silences([SilenceAction(NOW, "http://am:9093", "w1", "20260301T080000Z", "create", "s-1", NOW,
                                          NOW + timedelta(hours=1))])
    ledger.acknowledge(Acknowledgement("w1", "20260302T140000Z", "a@example.com", "email", NOW))
    copy = open_ledger(default_url(str(tmp_path / "copy")))
    try:
        copy.restore(ledger.dump())
        assert copy.dump() == ledger.dump() and len(copy.dump().silences) == 1
        assert len(copy.acknowledgements()) == 1
        assert [(d.recipient, d.state) for d in copy.deliveries()] == [("a@example.com", "sent"),
                                                                       ("b@example.com", "pending")]
        with pytest.raises(LedgerError, match="not empty"):
            copy.restore(ledger.dump())
    finally:
        copy.close()


def test_silence_actions_round_trip(ledger: Ledger) -> None:
    made = SilenceAction(NOW, "http://am:9093", "w1", "20260301T080000Z", "create", "s-1", NOW, NOW + timedelta(hours=1))
    failed = SilenceAction(NOW + timedelta(seconds=1), "http://am:9093", "", "", "list", None, None, None, "HTTP 503")
    other = SilenceAction(NOW + timedelta(seconds=2), "http://am:9093", "w2", "20260301T090000Z", "expire", "s-2",
                          NOW, NOW + timedelta(hours=2))
    ledger.record_silences([made, failed])
    ledger.record_silences([other])
    assert ledger.silence_actions() == [made, failed, other]
    assert ledger.silence_actions("w1") == [made]


def test_hold_is_one_process_at_a_time_on_a_shared_ledger(url: str) -> None:
    first, second = open_ledger(url), open_ledger(url)
    try:
        with first.hold("silences") as held, second.hold("silences") as also, second.hold("other") as other:
            assert held and other
            assert also is not first.shared  # SQLite is one daemon's: it always holds
        with second.hold("silences") as after:
            assert after  # released when the block ended
    finally:
        first.close()
        second.close()


def test_acknowledgements_are_recorded_once_and_replicas_agree(url: str) -> None:
    first, second = open_ledger(url), open_ledger(url)  # two processes on one ledger
    try:
        ack = Acknowledgement("w1", "20260302T140000Z", "Li Na <li.na@example.com>", "email", NOW)
        assert first.acknowledge(ack) is True
        assert second.acknowledge(replace(ack, at=NOW + timedelta(minutes=5))) is False
        assert first.acknowledge(Acknowledgement("w1", "20260302T140000Z", "ops-wecom", "webhook",
                                                 NOW + timedelta(minutes=1))) is True
        assert first.acknowledge(Acknowledgement("w1", "20260309T140000Z", "Li Na <li.na@example.com>", "email",
                                                 NOW + timedelta(minutes=2))) is True  # another occurrence
        first.acknowledge(Acknowledgement("w2", "20260302T140000Z", "li.na@example.com", "email", NOW))
        mine = second.acknowledgements("w1")
        assert [(a.occurrence, a.recipient, a.channel, a.at) for a in mine] == [
            ("20260302T140000Z", "Li Na <li.na@example.com>", "email", NOW),  # the first time stays
            ("20260302T140000Z", "ops-wecom", "webhook", NOW + timedelta(minutes=1)),
            ("20260309T140000Z", "Li Na <li.na@example.com>", "email", NOW + timedelta(minutes=2))]
        assert len(first.acknowledgements()) == 4
    finally:
        first.close()
        second.close()
    again = open_ledger(url)
    try:
        assert len(again.acknowledgements("w1")) == 3  # kept across a restart
    finally:
        again.close()

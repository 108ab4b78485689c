"""Pushed calendars against real CalDAV servers (Radicale and Xandikos on 127.0.0.1): what the server
holds is read back with the caldav client and compared with the feed, occurrence by occurrence."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from davservers import PASSWORD, SERVERS, USER, DavServer, free_port, start
from ical.calendar_stream import IcsCalendarStream
from icalendar import Calendar
from loopback import LoopbackServer

from outage_daemon.core.model import Config
from outage_daemon.core.timerules import UTC
from outage_daemon.formats.ical import render
from outage_daemon.formats.push import carried
from outage_daemon.pipeline import Notifier, Tally

NOW = datetime(2026, 3, 1, tzinfo=UTC)
SPAN = (datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC))

WINDOWS = """
  - {id: vat, system: VAT invoices, title: Upgrade, start: 2026-03-10 22:00, end: 2026-03-11 06:00,
     services: [issuing, checking], description: "Issue invoices before 21:00.", audiences: [finance]}
  - {id: weekly-db, system: Core database, timezone: Europe/Berlin, start: 2026-03-22 01:00, end: 2026-03-22 03:00,
     repeat: "FREQ=WEEKLY;BYDAY=SU;COUNT=3", audiences: [ops]}
  - {id: payroll, system: Payroll, start: 2026-03-15 20:00, end: 2026-03-15 23:00, audiences: [hr]}
"""


def pushed_config(target: str, windows: str = WINDOWS, language: str = "en", calendar: str = "") -> str:
    """Given the line of one pushed calendar (under ``calendars:``), return a config with the three
    windows above for it (``calendar``: more keys of ``calendar:``, after a comma)."""
    return f"""
timezone: Asia/Shanghai
language: {language}
notify: {{before_stop: [], at_stop: false, before_restore: [], at_restore: false, on_change: false}}
calendar: {{domain: status.example.com, keep_cancelled: 1d{calendar}}}
audiences:
  finance: {{email: [fin@example.com]}}
  ops: {{email: [ops@example.com]}}
  hr: {{email: [hr@example.com], public: false}}
calendars:
  {target}
windows:{windows}"""


def config_text(url: str, windows: str = WINDOWS, target: str = "") -> str:
    return pushed_config(f'finance-cal: {{kind: caldav, url: "{url}", user: {USER}, password_env: CALDAV_TEST_PASSWORD'
                         f'{target}}}', windows)


class Counting(LoopbackServer):
    """A loopback proxy in front of a CalDAV server that counts the writes it passes on."""

    def __init__(self, upstream: str, busy: int = 0) -> None:
        super().__init__()
        self.upstream, self.writes, self.busy = upstream, list[tuple[str, str, int]](), busy

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/{tail:.*}", self.forward)

    async def forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        if request.method == "PUT" and self.busy:  # the first writes are answered as a busy service does
            self.busy -= 1
            self.writes.append((request.method, request.path, 429))
            return web.Response(status=429, headers={"Retry-After": "120"})
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with aiohttp.ClientSession() as session, session.request(
                request.method, self.upstream + request.path_qs, data=body, headers=headers) as reply:
            data = await reply.read()
            if request.method in ("PUT", "DELETE"):
                self.writes.append((request.method, request.path, reply.status))
            keep = {k: v for k, v in reply.headers.items()
                    if k.lower() not in ("content-length", "transfer-encoding", "content-encoding", "connection")}
            return web.Response(status=reply.status, body=data, headers=keep)

    def made(self) -> list[tuple[str, str, int]]:
        """Return the writes the server accepted."""
        return [w for w in self.writes if 200 <= w[2] < 300]


@pytest.fixture(params=SERVERS)
def server(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DavServer]:
    monkeypatch.setenv("CALDAV_TEST_PASSWORD", PASSWORD)
    running = start(str(request.param), tmp_path / "dav")
    yield running
    running.stop()


class Daemon:
    """A notifier on a state directory with a clock the test sets; each :meth:`sync` is one pass."""

    def __init__(self, state: Path, config: Config) -> None:
        self.now = NOW
        self.notifier = Notifier.open(config, str(state), lambda: self.now)

    async def sync(self, config: Config, now: datetime | None = None) -> Tally:
        self.now = now or self.now
        built = self.notifier.build(config)
        tally = await self.notifier.reload(config, built)
        await self.notifier.deliver(tally)
        return tally

    @classmethod
    def synced(cls, state: Path, *configs: Config, check: Callable[[Daemon, Config], object] | None = None,
               recover: bool = False) -> dict[str, tuple[str, str | None]]:
        """Open a notifier on ``state`` (first giving up what a killed predecessor claimed, with
        ``recover``), run one pass per config in order, ``check`` the server against the last; close
        it and return the pushes' states."""
        async def go() -> dict[str, tuple[str, str | None]]:
            daemon = cls(state, configs[0])
            try:
                if recover:
                    await daemon.notifier.recover()
                for config in configs:
                    await daemon.sync(config)
                if check is not None:
                    check(daemon, configs[-1])
                return daemon.states()
            finally:
                await daemon.notifier.close()

        return asyncio.run(go())

    def states(self) -> dict[str, tuple[str, str | None]]:
        return {f"{d.key} {d.recipient}": (d.state, d.last_error) for d in self.notifier.ledger.deliveries()
                if d.channel == "caldav"}


def held(server: DavServer) -> dict[str, Any]:
    """Return the events the server holds by UID, as icalendar components, with each object's text."""
    out = {}
    for obj in server.calendar().events():
        for ev in Calendar.from_ical(obj.data).walk("VEVENT"):
            out[str(ev["UID"])] = (ev, obj.data)
    return out


def occurrences(texts: list[str]) -> dict[str, list[tuple[datetime, datetime]]]:
    """Given calendar texts, return every event's occurrences in SPAN by UID, as an independent
    parser (Home Assistant's ``ical``) expands them."""
    out: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for text in texts:
        cal = IcsCalendarStream.calendar_from_ics(text)
        for ev in cal.timeline_tz(UTC).overlapping(*SPAN):
            out[ev.uid or ""].append((ev.start_datetime, ev.end_datetime))
    return dict(out)


def assert_in_step(server: DavServer, daemon: Daemon, config: Config) -> dict[str, Any]:
    """Assert that the server holds exactly the feed's events for what the target carries: same UID,
    SEQUENCE, STATUS, SUMMARY, DESCRIPTION and the same occurrences; return them."""
    feed = render(config, daemon.notifier.revisions, daemon.now).decode()
    expected = {str(ev["UID"]): ev for ev in Calendar.from_ical(feed).walk("VEVENT")}
    target = config.calendars["finance-cal"]
    wanted = {f"{w.id}@status.example.com" for w in carried(config, target, daemon.now)}
    expected = {k: v for k, v in expected.items() if k in wanted}
    got = held(server)
    assert sorted(got) == sorted(expected)
    for uid, ev in expected.items():
        theirs = got[uid][0]
        for prop in ("SEQUENCE", "STATUS", "SUMMARY", "DESCRIPTION", "DTSTAMP"):
            assert str(theirs.get(prop)) == str(ev.get(prop)), (uid, prop)
    assert occurrences([text for _, text in got.values()]) == {
        uid: times for uid, times in occurrences([feed]).items() if uid in wanted}
    return got


def test_create_update_reschedule_cancel_and_delete(server: DavServer, write: Callable[..., Path],
                                                    tmp_path: Path) -> None:
    from outage_daemon.loader import load

    def config(windows: str) -> Config:
        return load(str(write(config_text(server.url, windows))))

    async def go() -> None:
        first = config(WINDOWS)
        daemon = Daemon(tmp_path / "state", first)
        try:
            await daemon.sync(first)
            got = assert_in_step(server, daemon, first)
            assert "payroll@status.example.com" not in got  # private: this calendar names no audience of it
            assert all(state == ("sent", None) for state in daemon.states().values()), daemon.states()

            changed = config(WINDOWS.replace("Issue invoices before 21:00.", "Issue invoices before 20:00."))
            await daemon.sync(changed)
            got = assert_in_step(server, daemon, changed)
            assert int(got["vat@status.example.com"][0]["SEQUENCE"]) == 1

            moved = config(WINDOWS.replace("2026-03-10 22:00, end: 2026-03-11 06:00",
                                           "2026-03-12 22:00, end: 2026-03-13 06:00"))
            await daemon.sync(moved)
            assert_in_step(server, daemon, moved)

            cancelled = WINDOWS.replace("audiences: [finance]}", "audiences: [finance], status: cancelled}")
            off = config(cancelled)
            await daemon.sync(off)
            got = assert_in_step(server, daemon, off)
            vat = got["vat@status.example.com"][0]
            assert str(vat["STATUS"]) == "CANCELLED" and int(vat["SEQUENCE"]) == 3

            gone = config(cancelled.split("\n  - {id: weekly-db")[0] + "\n")
            await daemon.sync(gone)
            db = held(server)["weekly-db@status.example.com"][0]
            assert str(db["STATUS"]) == "CANCELLED" and int(db["SEQUENCE"]) == 1  # removed: cancelled first
            await daemon.sync(gone, datetime(2026, 4, 7, tzinfo=UTC))  # its last end + keep_cancelled passed
            assert "weekly-db@status.example.com" not in held(server)
            assert "vat@status.example.com" not in held(server)  # cancelled, and kept for 1d after its end only
            assert all(state == ("sent", None) for state in daemon.states().values()), daemon.states()
        finally:
            await daemon.notifier.close()

    asyncio.run(go())


def test_a_window_removed_and_put_back_is_back_and_not_deleted_later(server: DavServer, write: Callable[..., Path],
                                                                     tmp_path: Path) -> None:
    from outage_daemon.loader import load

    both = load(str(write(config_text(server.url))))
    without = load(str(write(config_text(server.url, WINDOWS.split("\n  - {id: weekly-db")[0] + "\n"), "b.yaml")))

    async def go() -> None:
        daemon = Daemon(tmp_path / "state", both)
        try:
            await daemon.sync(both)
            await daemon.sync(without)
            assert str(held(server)["vat@status.example.com"][0]["STATUS"]) == "CONFIRMED"
            assert str(held(server)["weekly-db@status.example.com"][0]["STATUS"]) == "CANCELLED"
            await daemon.sync(both)  # put back before its delete was due
            assert_in_step(server, daemon, both)
            await daemon.sync(both, datetime(2026, 4, 7, tzinfo=UTC))  # when the delete would have been due
            assert "weekly-db@status.example.com" in held(server)
            assert all(state == ("sent", None) for state in daemon.states().values()), daemon.states()
        finally:
            await daemon.notifier.close()

    asyncio.run(go())


def test_an_event_changed_on_the_server_is_re_read_and_replaced(
        server: DavServer, write: Callable[..., Path], tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from outage_daemon.loader import load

    first = load(str(write(config_text(server.url))))
    changed = load(str(write(config_text(server.url, WINDOWS.replace("before 21:00", "before 19:00")))))

    async def go() -> None:
        daemon = Daemon(tmp_path / "state", first)
        try:
            await daemon.sync(first)
            obj = next(o for o in server.calendar().events() if "vat@" in o.data)
            obj.data = obj.data.replace("Upgrade", "Edited by hand")
            obj.save(increase_seqno=False)  # the stored ETag is stale now
            await daemon.sync(changed)
            assert_in_step(server, daemon, changed)
            assert all(state == ("sent", None) for state in daemon.states().values()), daemon.states()
        finally:
            await daemon.notifier.close()

    asyncio.run(go())
    assert "changed on the server since our last write" in caplog.text


async def crash_after_sending(state: Path, config: Config, calendar: str, forget: bool) -> None:
    """Claim and make the writes of a first pass, then die before their outcome is recorded (with
    ``forget``, what they got back is lost too)."""
    daemon = Daemon(state, config)
    notifier = daemon.notifier
    await notifier.reload(config)
    claimed = notifier.ledger.claim(notifier.owner, daemon.now, channel="caldav")
    channel = notifier.channels["caldav"]
    assert [(await channel.send(d.recipient, d.payload or b"")).ok for d in claimed] == [True, True]
    if forget:
        for name in (f"caldav:{calendar}:vat", f"caldav:{calendar}:weekly-db"):
            notifier.ledger.set_meta(name, "")
    await channel.close()
    notifier.ledger.close()
    notifier.executor.shutdown()


@pytest.mark.parametrize("memo", ["kept", "lost"], ids=["crash-before-mark", "crash-before-etag-stored"])
def test_a_restart_mid_sync_writes_nothing_twice(server: DavServer, write: Callable[..., Path], tmp_path: Path,
                                                 memo: str) -> None:
    from outage_daemon.loader import load

    proxy = Counting(server.url.split("/", 3)[0] + "//" + server.url.split("/", 3)[2]).start()
    url = f"http://127.0.0.1:{proxy.port}/" + server.url.split("/", 3)[3]
    config = load(str(write(config_text(url))))

    try:
        asyncio.run(crash_after_sending(tmp_path / "state", config, "finance-cal", memo == "lost"))
        assert len(proxy.made()) == 2
        states = Daemon.synced(tmp_path / "state", config, check=lambda d, c: assert_in_step(server, d, c), recover=True)
    finally:
        proxy.stop()
    assert [m for m, _, _ in proxy.made()] == ["PUT", "PUT"], proxy.writes
    assert sorted(states.values()) == [("sent", None), ("sent", None)]


def test_a_uid_taken_by_another_object_is_reported(server: DavServer, write: Callable[..., Path],
                                                   tmp_path: Path) -> None:
    from outage_daemon.loader import load

    config = load(str(write(config_text(server.url))))
    other = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//someone//EN\r\nBEGIN:VEVENT\r\n"
             "UID:vat@status.example.com\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260310T140000Z\r\n"
             "DTEND:20260310T150000Z\r\nSUMMARY:Someone else's\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    server.client().request(server.url + "elsewhere.ics", "PUT", other, {"Content-Type": "text/calendar"})

    states = Daemon.synced(tmp_path / "state", config)
    state, error = states["vat/push/0 finance-cal"]
    assert state == "failed" and error is not None and "UID conflict" in error, states
    assert states["weekly-db/push/0 finance-cal"] == ("sent", None)


@pytest.mark.parametrize(("entry", "error"), [
    ("{kind: caldav, url: 'https://dav.example.com/c/', audiences: [nobody]}",
     "cfg.yaml:4: calendars.fin.audiences[0]: unknown audience 'nobody'"),
    ("{kind: caldav, url: 'https://dav.example.com/c/', user: u, password_file: p, password_env: P}",
     "cfg.yaml:4: calendars.fin: set only one of password_file, password_env, password_credential"),
    ("{kind: caldav, url: 'https://dav.example.com/c/', password_env: P}",
     "cfg.yaml:4: calendars.fin: calendar 'fin' has a password but no user"),
    ("{kind: exchange, url: 'https://dav.example.com/c/'}", "cfg.yaml:4: calendars.fin.kind:"),
    ("{kind: caldav, url: 'dav.example.com/c/'}", "cfg.yaml:4: calendars.fin.url:"),
    ("{kind: caldav}", "cfg.yaml:4: calendars.fin.url: missing (required)"),
    ("{kind: caldav, url: 'https://ops:hunter2@dav.example.com/c/'}", "cfg.yaml:4: calendars.fin.url: the URL holds a"),
], ids=["unknown-audience", "two-passwords", "password-without-user", "unknown-kind", "not-a-url", "no-url",
        "password-in-url"])
def test_calendar_errors_name_their_line(errors_of: Callable[[str], list[str]], entry: str, error: str) -> None:
    errors = errors_of(f"audiences: {{finance: {{email: [a@example.com]}}}}\nwindows: []\ncalendars:\n  fin: {entry}\n")
    assert any(e.startswith(error) for e in errors), errors


@pytest.mark.parametrize(("target", "expected"), [
    ("{}", ["vat", "weekly-db"]),
    ("{audiences: [finance]}", ["vat"]),
    ("{audiences: [hr]}", ["payroll"]),
    ("{systems: [Core database]}", ["weekly-db"]),
    ("{systems: [Payroll]}", []),
], ids=["every-public-window", "one-audience", "private-to-its-audience", "one-system", "private-by-system-only"])
def test_a_calendar_carries_its_windows_and_private_ones_only_when_named(config_of: Callable[[str], Config],
                                                                          target: str, expected: list[str]) -> None:
    fields = target.strip("{}")
    config = config_of(config_text("https://dav.example.com/c/", target=", " + fields if fields else ""))
    assert [w.id for w in carried(config, config.calendars["finance-cal"], NOW)] == expected


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "outage_daemon", *args], capture_output=True, text=True,
                          timeout=60, check=False)


def test_send_test_writes_one_event_and_removes_it(server: DavServer, write: Callable[..., Path]) -> None:
    proxy = Counting(server.url.split("/", 3)[0] + "//" + server.url.split("/", 3)[2]).start()
    url = f"http://127.0.0.1:{proxy.port}/" + server.url.split("/", 3)[3]
    path = str(write(config_text(url)))
    try:
        done = cli("send-test", "-c", path, "--calendar", "finance-cal", "--window", "vat")
        unknown = cli("send-test", "-c", path, "--calendar", "nope")
    finally:
        proxy.stop()
    assert done.returncode == 0, done.stderr
    assert "wrote a test event (outage-daemon-test-" in done.stdout and "removed it again" in done.stdout
    assert [m for m, _, _ in proxy.made()] == ["PUT", "DELETE"], proxy.writes
    assert held(server) == {}
    assert unknown.returncode == 2 and "no calendar 'nope'" in unknown.stderr and "finance-cal" in unknown.stderr


def test_history_shows_the_pushes(server: DavServer, write: Callable[..., Path], tmp_path: Path) -> None:
    from outage_daemon.loader import load

    path = str(write(config_text(server.url)))
    Daemon.synced(tmp_path / "state", load(path))
    shown = cli("history", "-c", path, "--state-dir", str(tmp_path / "state"), "--window", "vat", "--json")
    assert shown.returncode == 0, shown.stderr
    assert [(e["key"], e["kind"], e["recipient"], e["channel"], e["state"]) for e in json.loads(shown.stdout)] == [
        ("vat/push/0", "push", "finance-cal", "caldav", "sent")]


def test_run_once_counts_calendar_writes_apart(server: DavServer, write: Callable[..., Path], tmp_path: Path) -> None:
    path = str(write(config_text(server.url)))
    ran = cli("run", "-c", path, "--once", "--state-dir", str(tmp_path / "state"))
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == ("decided 0, skipped 0; sent 2 (of which 2 calendar writes), failed 0, "
                          "still to retry 0\n")  # nothing decided: the write comes from the window itself


def test_healthz_and_metrics_name_a_failing_calendar(write: Callable[..., Path], tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from daemonproc import Daemon as DaemonProcess

    monkeypatch.setenv("CALDAV_TEST_PASSWORD", PASSWORD)
    good = start("radicale", tmp_path / "dav")
    closed = f"http://127.0.0.1:{free_port()}/nobody/here/"  # nothing listens there
    nobody = f"https://127.0.0.1:{free_port()}"  # nor there: a Microsoft 365 calendar's sign-in fails
    path = write(config_text(good.url).replace("calendars:\n", "calendars:\n"
                 f"  broken: {{kind: caldav, url: \"{closed}\", retry: 1s}}\n"
                 f"  broken-365: {{kind: graph, tenant: t.example.com, client_id: c, mailbox: m@example.com, "
                 f"client_secret_env: CALDAV_TEST_PASSWORD, login_url: \"{nobody}\", retry: 1s}}\n"))
    daemon = DaemonProcess(path, tmp_path / "state")
    try:
        assert daemon.read_notify("READY=1")
        status, body = daemon.poll("/healthz", lambda status, body: status == 503 and len(json.loads(body)["calendars"]) == 2)
        assert status == 503, body
        assert json.loads(body)["calendars"] == ["broken", "broken-365"]
        _, _, metrics = daemon.get("/metrics")
        assert 'outage_calendar_up{calendar="broken"} 0.0' in metrics.decode()
        assert 'outage_calendar_up{calendar="broken-365"} 0.0' in metrics.decode()
        assert 'outage_calendar_up{calendar="finance-cal"} 1.0' in metrics.decode()
        assert "vat@status.example.com" in held(good)
    finally:
        daemon.stop()
        good.stop()


def test_a_429_waits_as_long_as_the_server_asks(write: Callable[..., Path], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from outage_daemon.loader import load

    monkeypatch.setenv("CALDAV_TEST_PASSWORD", PASSWORD)
    server = start("radicale", tmp_path / "dav")
    proxy = Counting(server.url.split("/", 3)[0] + "//" + server.url.split("/", 3)[2], busy=2).start()
    url = f"http://127.0.0.1:{proxy.port}/" + server.url.split("/", 3)[3]
    config = load(str(write(config_text(url))))

    try:
        waiting = through_a_wait(tmp_path / "state", config, lambda d, c: assert_in_step(server, d, c))
    finally:
        proxy.stop()
        server.stop()
    assert [(d.state, d.next_try >= NOW + timedelta(seconds=120)) for d in waiting] == [("pending", True)] * 2
    answered = [(m, status) for m, _, status in proxy.writes if status != 401]  # 401: the client's auth handshake
    assert answered == [("PUT", 429), ("PUT", 429), ("PUT", 201), ("PUT", 201)]


def test_a_target_whose_kind_changed_starts_afresh_from_the_other_kinds_memo() -> None:
    from outage_daemon.channels.calendar import Stored, dump_stored, load_stored
    from outage_daemon.channels.calendar.graph import Placed

    caldav = Stored("/cal/vat.ics", '"e1"', 2, 1)
    graph = Placed(2, 1, {"20261220T140000Z": ("AAMk", 'W/"x"', "1")}).dump()
    assert load_stored(dump_stored(caldav)) == caldav
    assert load_stored(graph) is None  # caldav (or google) after graph under one name: written anew
    assert Placed.load(dump_stored(caldav)) is None  # and the other way round


def through_a_wait(state: Path, config: Any, in_step: Callable[[Daemon, Any], None]) -> list[Any]:
    """Sync once (the calendar asks to wait), return the pushes left waiting, sync again past the
    wait and check with ``in_step`` that the calendar holds what the feed says."""

    async def go() -> list[Any]:
        daemon = Daemon(state, config)
        try:
            await daemon.sync(config)
            waiting = [d for d in daemon.notifier.ledger.deliveries() if d.channel == "caldav"]
            await daemon.sync(config, NOW + timedelta(seconds=121))
            in_step(daemon, config)
            return waiting
        finally:
            await daemon.notifier.close()

    return asyncio.run(go())

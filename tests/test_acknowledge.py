"""Acknowledgements and escalation: the config keys, the signed links, the pages, the escalation."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import closing
from dataclasses import replace
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from pathlib import Path

import jsonschema
import pytest
from browser import AXE, CHROMIUM, Browser
from daemonproc import Daemon
from pageserver import Server as PageServer
from smtpsink import Server, Sink, free_port, wait_for

from outage_daemon.ackweb import Desk
from outage_daemon.channels.email import message
from outage_daemon.channels.render import templates
from outage_daemon.cli import main
from outage_daemon.core import acks
from outage_daemon.core.decide import decide
from outage_daemon.core.errors import ConfigError
from outage_daemon.core.kinds import Kind
from outage_daemon.core.model import Config
from outage_daemon.core.planner import Reminder, plan
from outage_daemon.core.schema import json_schema
from outage_daemon.core.timerules import UTC
from outage_daemon.ledger import default_url, open_ledger
from outage_daemon.loader import load
from outage_daemon.pipeline import Notifier
from outage_daemon.web import Published

ACK_TOP = """\
timezone: Asia/Shanghai
language: en
calendar: {base_url: "https://status.example.com"}
acknowledge: {key_env: OUTAGE_ACK_KEY}
audiences:
  finance: {email: [zhang.wei@example.com, "Li Na <li.na@example.com>"], webhooks: [fin-chat], acknowledge: true}
  cashiers: {email: [LI.NA@example.com, cash@example.com], acknowledge: [before_stop]}
  managers: {email: [boss@example.com]}
webhooks:
  fin-chat: {kind: slack, url_env: FIN_CHAT_URL}
escalate:
  - {after: before_stop 2h, to: [managers]}
windows:
  - {id: vat, system: VAT, start: 2030-10-15 22:00, end: 2030-10-16 06:00, audiences: [finance, cashiers]}
"""

MISTAKES = [
    # (id, text, line, column, in the message, in the hint)
    ("no-key", "calendar: {base_url: 'https://s.example.com'}\naudiences:\n  f: {email: [a@example.com], "
     "acknowledge: true}\n", 3, 44, "no key signs the links", "openssl rand -hex 32"),
    ("no-base-url", "acknowledge: {key_env: K}\naudiences:\n  f: {email: [a@example.com], acknowledge: true}\n",
     3, 44, "calendar.base_url is not set", "base_url: https://"),
    ("two-keys", "acknowledge: {key_env: K, key_file: k}\n", 1, 14, "set only one of key_file, key_env",
     "remove all but one"),
    ("no-key-named", "acknowledge: {}\n", 1, 14, "one of key_file, key_env, key_credential is required",
     "add key_file:"),
    ("unknown-kind", "audiences:\n  f: {acknowledge: [before_stopp]}\n", 2, 21, "is not one of", "before_stop"),
    ("escalate-unknown-audience", ACK_TOP.replace("to: [managers]", "to: [manager]"), 12, 34,
     "unknown audience 'manager'", "define it under audiences"),
    ("escalate-bad-offset", ACK_TOP.replace("before_stop 2h", "before_stop 2hours"), 12, 13,
     "bad duration '2hours'", "1h30m"),
    ("escalate-bad-milestone", ACK_TOP.replace("before_stop 2h", "2h before_stop"), 12, 13,
     "is not allowed here", "before_stop 2h"),
    ("escalate-without-acknowledge", ACK_TOP.replace("acknowledge: true", "public: true").replace(
        "acknowledge: [before_stop]", "public: true"), 12, 5, "needs an audience with acknowledge",
     "acknowledge: true"),
    ("escalate-needs-to", ACK_TOP.replace(", to: [managers]", ""), 12, 5, "missing (required)", "to"),
    ("escalate-at-restore-never-fires", ACK_TOP.replace("before_stop 2h", "at_restore"), 12, 13,
     "at the restore the window is over", "or at_stop"),
]


@pytest.mark.parametrize(("text", "line", "column", "message", "hint"),
                         [pytest.param(*case[1:], id=case[0]) for case in MISTAKES])
def test_mistakes_in_the_new_keys_are_pointed_at(write: Callable[..., Path], text: str, line: int, column: int,
                                                 message: str, hint: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(str(write(text)))
    found = [p for p in info.value.problems if message in p.message]
    assert found, [f"{p} | {p.hint}" for p in info.value.problems]
    assert (found[0].loc.line, found[0].loc.column) == (line, column), str(found[0])
    assert found[0].hint is not None and hint in found[0].hint, found[0].hint


@pytest.fixture
def config(config_of: Callable[[str], Config]) -> Config:
    return config_of(ACK_TOP)


def test_the_keys_become_the_model(config: Config) -> None:
    assert config.audiences["finance"].acknowledge == ("before_stop", "at_stop", "before_restore", "at_restore")
    assert config.audiences["cashiers"].acknowledge == ("before_stop",)
    assert config.audiences["managers"].acknowledge == ()
    assert config.ack_key is not None and config.ack_key.key_env == "OUTAGE_ACK_KEY"
    [rule] = config.escalate
    assert (rule.kind, rule.offset and rule.offset.text, rule.to) == ("before_stop", "2h", ("managers",))


def test_who_is_asked_and_who_is_expected(config: Config) -> None:
    window = config.windows[0]
    assert acks.expected(config, window) == [("email", "zhang.wei@example.com"), ("email", "Li Na <li.na@example.com>"),
                                             ("email", "cash@example.com"), ("webhook", "fin-chat")]
    assert acks.asks(config, window, "at_stop", "email", "li.na@example.com")  # via finance, whatever the case
    assert not acks.asks(config, window, "at_stop", "email", "cash@example.com")  # cashiers: before_stop only
    assert acks.asks(config, window, "before_stop", "email", "cash@example.com")
    assert acks.asks(config, window, "at_restore", "webhook", "fin-chat")
    occurrence = window.occurrences(window.start, window.end)[0]
    done = [acks.Acknowledgement("vat", occurrence.key, "LI.NA@example.com", "email", NOW),
            acks.Acknowledgement("vat", "20300101T000000Z", "cash@example.com", "email", NOW)]  # another occurrence
    assert acks.missing(config, window, occurrence.key, done) == [
        ("email", "zhang.wei@example.com"), ("email", "cash@example.com"), ("webhook", "fin-chat")]


NOW = datetime(2030, 10, 15, 12, 0, tzinfo=UTC)
KEY = acks.signing_key("correct horse battery staple")
TICKET = acks.Ticket("vat", "20301015T140000Z", "李娜 <li.na@example.com>", "email", NOW + timedelta(hours=8))


def _flip(token: str, at: int) -> str:
    return token[:at] + ("A" if token[at] != "A" else "B") + token[at + 1:]


@pytest.mark.parametrize(("token", "now", "reason"), [
    pytest.param(acks.sign(KEY, TICKET), NOW + timedelta(hours=8), "expired", id="at-expiry"),
    pytest.param(acks.sign(KEY, TICKET), NOW + timedelta(days=3), "expired", id="long-after"),
    pytest.param(_flip(acks.sign(KEY, TICKET), 5), NOW, "forged", id="body-altered"),
    pytest.param(_flip(acks.sign(KEY, TICKET), -3), NOW, "forged", id="signature-altered"),
    pytest.param(acks.sign(acks.signing_key("another key"), TICKET), NOW, "forged", id="other-key"),
    pytest.param(acks.sign(KEY, TICKET).split(".")[0], NOW, "forged", id="no-signature"),
    pytest.param("", NOW, "forged", id="empty"),
    pytest.param("!!!.???", NOW, "forged", id="not-base64"),
    pytest.param("é.é", NOW, "forged", id="not-ascii"),
])
def test_a_bad_token_is_refused_with_its_reason(token: str, now: datetime, reason: str) -> None:
    with pytest.raises(acks.TokenError) as info:
        acks.read(KEY, token, now)
    assert info.value.reason == reason


def test_a_token_round_trips_and_is_url_safe() -> None:
    token = acks.sign(KEY, TICKET)
    assert acks.read(KEY, token, NOW + timedelta(hours=7, minutes=59)) == TICKET
    assert all(c.isalnum() or c in "-_." for c in token)


@pytest.mark.parametrize(("value", "valid"), [
    pytest.param(True, True, id="true"), pytest.param(["before_stop", "at_stop"], True, id="kinds"),
    pytest.param(["soon"], False, id="unknown-kind"), pytest.param("yes", False, id="text"),
])
def test_the_json_schema_knows_acknowledge(value: object, valid: bool) -> None:
    document = {"audiences": {"f": {"email": ["a@example.com"], "acknowledge": value}},
                "acknowledge": {"key_file": "ack.key"}, "escalate": [{"after": "before_stop 2h", "to": ["f"]}]}
    errors = list(jsonschema.Draft7Validator(json_schema()).iter_errors(document))
    assert not errors if valid else errors


def _fetch(url: str) -> tuple[int, dict[str, str], str]:
    """GET ``url``: its status, headers and text."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - http on loopback
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read().decode()


def _http(url: str, method: str = "GET") -> tuple[int, str]:
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - http on loopback
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


E2E = """\
timezone: Asia/Shanghai
language: {language}
notify: {{before_stop: [1h], at_stop: false, before_restore: [], at_restore: false, late_limit: 1h}}
email:
  from: ops@example.com
  smtp: {{host: 127.0.0.1, port: {smtp}, security: none, retry: 1s}}
calendar: {{base_url: "http://127.0.0.1:{http}"}}
acknowledge: {{key_file: ack.key}}
audiences:
  finance: {{email: ["Li Na <li.na@example.com>", zhang.wei@example.com], acknowledge: true}}
  managers: {{email: [boss@example.com]}}
escalate:
  - {{after: before_stop 10m, to: [managers]}}
windows:
  - id: vat
    system: VAT invoices
    start: {start:%Y-%m-%dT%H:%M:%S}Z
    end: {end:%Y-%m-%dT%H:%M:%S}Z
    audiences: [finance]
"""
LINK = re.compile(r"http://127\.0\.0\.1:[0-9]+/ack/[A-Za-z0-9_.-]+")


def _body(message: Message, subtype: str) -> str:
    part = message.get_body((subtype,))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def test_the_link_in_the_real_email_confirms_once_and_only_by_post(tmp_path: Path) -> None:
    box, http = Sink(), free_port()
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=30)  # its 1h reminder is due now
    (tmp_path / "ack.key").write_text("0123456789abcdef0123456789abcdef\n")
    path = tmp_path / "c.yaml"
    with Server(box) as smtp:
        path.write_text(E2E.format(language="en", smtp=smtp.port, http=http, start=start,
                                   end=start + timedelta(hours=2)))
        daemon = Daemon(path, tmp_path / "state", extra=["--listen", f"127.0.0.1:{http}"])
        try:
            assert daemon.read_notify("READY=1"), daemon.output()
            assert wait_for(lambda: len(box.received) == 2, 30), daemon.output()
            mail = {rcpt: message for rcpt, message in box.received}
            [link] = LINK.findall(_body(mail["li.na@example.com"], "plain"))
            assert link in _body(mail["li.na@example.com"], "html")  # the button carries the same link
            [other] = LINK.findall(_body(mail["zhang.wei@example.com"], "plain"))
            assert other != link  # personal: one link per recipient
            ledger = open_ledger(default_url(str(tmp_path / "state")))
            try:
                status, page = _http(link)
                assert status == 200 and '<form method="post">' in page and "I have read this" in page, page
                assert "Li Na &lt;li.na@example.com&gt;" in page
                assert ledger.acknowledgements() == []  # a GET (a mail scanner) records nothing

                status, page = _http(link, "POST")
                assert status == 200 and "Thank you: confirmed" in page, page
                [ack] = ledger.acknowledgements("vat")
                assert (ack.recipient, ack.channel) == ("Li Na <li.na@example.com>", "email")

                status, page = _http(link, "POST")  # a second click, a reload of the page
                assert status == 200 and "Already confirmed" in page and "<form" not in page
                assert ledger.acknowledgements() == [ack]

                token = link.rsplit("/", 1)[1]
                for bad in (token[:-2] + ("AA" if token[-2:] != "AA" else "BB"),  # signature altered
                            token.replace(token[3], "x" if token[3] != "x" else "y", 1)):  # body altered
                    for method in ("GET", "POST"):
                        status, page = _http(link.rsplit("/", 1)[0] + "/" + bad, method)
                        assert status == 403 and "This link is not valid" in page and "<form" not in page
                assert ledger.acknowledgements() == [ack]
                status, metrics = _http(f"http://127.0.0.1:{http}/metrics")
                assert 'outage_acknowledgements_total{channel="email"} 1.0' in metrics
            finally:
                ledger.close()
        finally:
            assert daemon.stop() == 0


ESCALATING = """\
timezone: {zone}
language: en
notify: {{before_stop: [2h], at_stop: false, before_restore: [], at_restore: false, late_limit: 1h}}
calendar: {{base_url: "https://status.example.com"}}
acknowledge: {{key_file: ack.key}}
audiences:
  finance: {{email: ["Li Na <li.na@example.com>", zhang.wei@example.com], acknowledge: true}}
  ops: {{email: [ops@example.com]}}
  managers: {{email: [boss@example.com]}}
escalate:
  - {{after: {after}, to: [managers]}}
windows:
  - {{id: vat, system: VAT invoices, start: "{start}", end: "{end}", audiences: [finance]}}
  - {{id: db, system: Database, start: "{start}", end: "{end}", audiences: [ops]}}
"""


@pytest.mark.parametrize(("zone", "start", "after", "due"), [
    pytest.param("UTC", "2030-03-08 10:00", "before_stop 1h", "2030-03-08T09:00:00+00:00", id="hours"),
    pytest.param("America/New_York", "2030-03-10 09:00", "before_stop 1d", "2030-03-09T09:00:00-05:00",
                 id="day-across-dst-start"),  # a calendar day: 09:00 the day before, on the other offset
    pytest.param("Asia/Shanghai", "2030-03-08 22:00", "at_stop", "2030-03-08T22:00:00+08:00", id="at-stop"),
    pytest.param("Asia/Shanghai", "2030-03-08 22:00", "before_restore 30m", "2030-03-09T05:30:00+08:00",
                 id="before-restore"),
])
def test_escalations_are_planned_for_acknowledging_windows_only(write: Callable[..., Path], zone: str, start: str,
                                                                after: str, due: str) -> None:
    write("k\n", "ack.key")
    end = "2030-03-09 06:00" if "22:00" in start else start[:11] + "11:00"
    config = load(str(write(ESCALATING.format(zone=zone, start=start, end=end, after=after))))
    since = datetime(2030, 3, 1, tzinfo=UTC)
    found = [r for r in plan(config, since, since + timedelta(days=30)) if r.kind is Kind.ESCALATED]
    assert [(r.window.id, r.due.isoformat(), r.audiences) for r in found] == [("vat", due, ("managers",))]
    assert found[0].key.endswith("/escalated/" + after.replace(" ", "-"))
    # It supersedes no reminder, and none supersedes it.
    reminder = next(r for r in plan(config, since, since + timedelta(days=30)) if r.window.id == "vat"
                    and r.kind is Kind.BEFORE_STOP)
    send, skip = decide([reminder, found[0]], set(), found[0].due + timedelta(seconds=1))
    assert Kind.ESCALATED in {n.kind for n in send} and not [d for d in skip if "superseded" in str(d.reason)]
    assert [n.audiences for n in send if n.kind is Kind.ESCALATED] == [("managers",)]


def _outbox(state: Path) -> list[Message]:
    folder = state / "outbox" / "new"
    return [message_from_bytes(p.read_bytes(), policy=policy.default)  # type: ignore[misc]
            for p in sorted(folder.iterdir())] if folder.exists() else []


def _escalating(write: Callable[..., Path], start: datetime = datetime(2030, 3, 8, 10, 0, tzinfo=UTC)) -> tuple[
        Config, datetime]:
    write("0123456789abcdef\n", "ack.key")
    return load(str(write(ESCALATING.format(zone="UTC", start=f"{start:%Y-%m-%d %H:%M}",
                                            end=f"{start + timedelta(hours=1):%Y-%m-%d %H:%M}",
                                            after="before_stop 1h")))), start


async def _pass(config: Config, url: str, state: Path, now: datetime, node: str) -> None:
    notifier = Notifier.open(config, str(state), lambda: now, url, node)
    try:
        await notifier.run_once(timedelta(0))
    finally:
        await notifier.close()


@pytest.mark.parametrize("everyone", [False, True], ids=["one-missing", "all-confirmed"])
def test_an_escalation_names_who_has_not_confirmed_once(write: Callable[..., Path], tmp_path: Path,
                                                        everyone: bool, capsys: pytest.CaptureFixture[str]) -> None:
    config, start = _escalating(write)
    state, url = tmp_path / "state", default_url(str(tmp_path / "state"))
    asyncio.run(_pass(config, url, state, start - timedelta(hours=2), "a"))  # the 2h reminder, with links
    assert sorted(str(m["To"]) for m in _outbox(state) if m["X-Outage-Key"].startswith("vat/")) == [
        "Li Na <li.na@example.com>", "zhang.wei@example.com"]
    with closing(open_ledger(url)) as ledger:
        ledger.acknowledge(acks.Acknowledgement("vat", "20300308T100000Z", "Li Na <li.na@example.com>", "email",
                                                start - timedelta(hours=1, minutes=30)))
        if everyone:
            ledger.acknowledge(acks.Acknowledgement("vat", "20300308T100000Z", "zhang.wei@example.com", "email",
                                                    start - timedelta(hours=1, minutes=20)))
    asyncio.run(_pass(config, url, state, start - timedelta(minutes=59), "a"))  # the escalation is due
    asyncio.run(_pass(config, url, state, start - timedelta(minutes=30), "a"))  # and not sent again
    told = [m for m in _outbox(state) if m["To"] == "boss@example.com"]
    with closing(open_ledger(url)) as ledger:
        entries = [e for e in ledger.history("vat") if e.kind == "escalated"]
    if everyone:
        assert told == [] and [(e.state, e.note) for e in entries] == [("skipped", "everyone acknowledged")]
        return
    [message] = told
    assert str(message["Subject"]).startswith("[Not confirmed] 1 not yet confirmed: VAT invoices")
    text = _body(message, "plain")
    assert "Not yet confirmed (1): zhang.wei@example.com" in text and "li.na" not in text
    assert "/ack/" not in text  # the manager has nothing to confirm
    assert [(e.state, e.recipient) for e in entries] == [("sent", "boss@example.com")]
    capsys.readouterr()
    assert main(["history", "-c", config.path, "--state-dir", str(state), "--window", "vat"]) == 0
    lines = [" ".join(line.split()) for line in capsys.readouterr().out.splitlines()]
    at = lines.index("acknowledgements of vat stopping 2030-03-08 10:00:")
    assert lines[at + 1:at + 4] == ["confirmed Li Na <li.na@example.com> via email at 2030-03-08 08:30",
                                    "not confirmed zhang.wei@example.com (email)", ""]
    assert main(["history", "-c", config.path, "--state-dir", str(state), "--window", "vat", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert [i for i in items if i["kind"] != "acknowledgement"] == items[:-2]  # the entries first, as they were
    assert all(set(i) == set(items[0]) for i in items)  # every item has the keys an entry has
    assert [(i["state"], i["recipient"], i["channel"], i["decided_at"], i["due"], i["key"]) for i in items[-2:]] == [
        ("acknowledged", "Li Na <li.na@example.com>", "email", "2030-03-08T08:30:00+00:00", "2030-03-08T10:00:00+00:00",
         "vat/20300308T100000Z/acknowledgement"),
        ("unacknowledged", "zhang.wei@example.com", "email", None, "2030-03-08T10:00:00+00:00",
         "vat/20300308T100000Z/acknowledgement")]


def test_two_replicas_send_one_escalation(write: Callable[..., Path], tmp_path: Path, pg_url: str) -> None:
    # Replicas claim on the database's clock: the injected one must not run ahead of it.
    config, start = _escalating(write, datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=59))

    async def both(now: datetime) -> None:
        await asyncio.gather(*(_pass(config, pg_url, tmp_path / f"state{n}", now, f"r{n}") for n in (0, 1)))

    asyncio.run(both(start - timedelta(hours=2)))
    asyncio.run(both(start - timedelta(minutes=59)))
    asyncio.run(both(start - timedelta(minutes=59)))  # again: nothing more
    told = [m for n in (0, 1) for m in _outbox(tmp_path / f"state{n}") if m["To"] == "boss@example.com"]
    assert len(told) == 1
    assert "Not yet confirmed (2): Li Na <li.na@example.com>, zhang.wei@example.com" in _body(told[0], "plain")
    with closing(open_ledger(pg_url)) as ledger:
        assert [e.recipient for e in ledger.history("vat") if e.kind == "escalated"] == ["boss@example.com"]


def test_preview_shows_the_escalation(write: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    config, _ = _escalating(write)
    assert main(["preview", "-c", config.path, "--now", "2030-03-08T00:00:00Z", "--until", "2030-03-09T00:00:00Z",
                 "--json"]) == 0
    found = [item for item in json.loads(capsys.readouterr().out) if item["kind"] == "escalated"]
    assert [(i["window"], i["due_utc"], i["audiences"]) for i in found] == [("vat", "2030-03-08T09:00:00Z",
                                                                           ["managers"])]


@pytest.mark.skipif(CHROMIUM is None or not AXE.exists(), reason="chromium or axe-core is not installed")
@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_pages_read_well_on_a_phone(config_of: Callable[[str], Config], language: str) -> None:
    config = config_of(ACK_TOP.replace("language: en", f"language: {language}").replace("system: VAT",
                                                                                        "system: 增值税发票系统"))
    occurrence = config.windows[0].occurrences(config.windows[0].start, config.windows[0].start)[0]
    now = occurrence.start - timedelta(hours=3)
    recorded: list[acks.Acknowledgement] = []

    async def record(ack: acks.Acknowledgement) -> bool:
        recorded.append(ack)
        return True

    async def earlier(window: str) -> list[acks.Acknowledgement]:
        return list(recorded)

    server = PageServer(config, now)
    server.state.acks = Desk(KEY, record, earlier)
    browser = Browser()
    try:
        token = acks.sign(KEY, acks.ticket(occurrence, "李娜 <li.na@example.com>", "email"))
        for page in ("confirm", "done", "forged"):
            browser.tab()
            browser.size(390, 844)
            url = server.url + "ack/" + (token if page != "forged" else token[:-4] + "AAAA")
            if page == "done":
                _http(url, "POST")  # the page the button leads to: already confirmed
            browser.open(url)
            facts = browser.facts()
            assert facts["scrollWidth"] <= facts["innerWidth"] and facts["narrow"] == [], (page, facts)
            assert browser.axe() == [], (page, language)
            assert browser.run("document.documentElement.lang") == language
            assert browser.run("!!document.querySelector('form button')") is (page == "confirm")
        assert len(recorded) == 1
    finally:
        browser.close()
        server.close()


def _recorded_server(config: Config, recorded: list[acks.Acknowledgement]) -> PageServer:
    """The app at NOW whose ledger holds ``recorded`` (and records nothing more)."""

    async def record(ack: acks.Acknowledgement) -> bool:
        return False

    async def earlier(window: str | None) -> list[acks.Acknowledgement]:
        return recorded

    server = PageServer(config, NOW)
    server.state.acks = Desk(KEY, record, earlier)
    return server


@pytest.mark.parametrize(("language", "shown"), [("en", "<dt>Confirmed</dt><dd class=\"acked\">1 of 4</dd>"),
                                                 ("zh-CN", "<dt>已确认</dt><dd class=\"acked\">1/4人</dd>")])
def test_the_status_page_counts_confirmations_without_names(config_of: Callable[[str], Config], language: str,
                                                            shown: str) -> None:
    config = config_of(ACK_TOP.replace("language: en", f"language: {language}") + (
        "  - {id: db, system: DB, start: 2030-10-15 22:00, end: 2030-10-16 06:00, audiences: [managers]}\n"))
    occurrence = config.windows[0].occurrences(config.windows[0].start, config.windows[0].start)[0]
    server = _recorded_server(config, [
        acks.Acknowledgement("vat", occurrence.key, "Li Na <li.na@example.com>", "email", NOW),
        acks.Acknowledgement("vat", "20300101T000000Z", "cash@example.com", "email", NOW)])  # another time
    try:
        status, page = _http(server.url)
    finally:
        server.close()
    assert status == 200
    cards = {re.search(r'id="([\w-]+)"', card).group(1): card  # type: ignore[union-attr]
             for card in page.split('<div class="w ')[1:]}
    assert shown in cards["vat"] and "acked" not in cards["db"]  # db's audience does not acknowledge
    assert "li.na" not in page and "cash@" not in page and "zhang.wei" not in page  # never who


FEEDS = ACK_TOP.replace('calendar: {base_url: "https://status.example.com"}', """calendar:
  base_url: "https://status.example.com"
  feeds:
    - {name: finance, token_env: FIN_FEED_TOKEN, audiences: [finance]}
    - {name: ops, token_env: OPS_FEED_TOKEN, audiences: [managers]}""") + (
    "  - {id: db, system: DB, start: 2030-10-15 22:00, end: 2030-10-16 06:00, audiences: [managers]}\n")


def _named_server(config: Config) -> PageServer:
    """The app with one confirmation recorded for vat, and the feeds' tokens as the daemon sets them."""
    occurrence = config.windows[0].occurrences(config.windows[0].start, config.windows[0].start)[0]
    server = _recorded_server(config, [
        acks.Acknowledgement("vat", occurrence.key, "Li Na <li.na@example.com>", "email", NOW)])
    server.state.feeds = {"finance.ics": Published.of(b"", NOW, "fin-secret"),
                          "ops.ics": Published.of(b"", NOW, "ops-secret")}
    return server


@pytest.mark.parametrize(("language", "named"), [
    ("en", '<dt>Confirmed by</dt><dd class="named">Li Na &lt;li.na@example.com&gt;</dd>'
           '<dt>Not yet confirmed</dt><dd class="named">zhang.wei@example.com, cash@example.com, chat fin-chat</dd>'),
    ("zh-CN", '<dt>已确认的人</dt><dd class="named">Li Na &lt;li.na@example.com&gt;</dd>'
              '<dt>尚未确认</dt><dd class="named">zhang.wei@example.com、cash@example.com、群聊 fin-chat</dd>')])
def test_a_feeds_token_shows_who_has_confirmed_and_who_has_not(config_of: Callable[[str], Config], language: str,
                                                               named: str) -> None:
    server = _named_server(config_of(FEEDS.replace("language: en", f"language: {language}")))
    try:
        pages = {token: _fetch(server.url + (f"?token={token}" if token else ""))
                 for token in ("", "fin-secret", "ops-secret", "fin-secre", "fin-secretx")}
    finally:
        server.close()
    public, finance, ops = pages[""], pages["fin-secret"], pages["ops-secret"]
    assert public[0] == finance[0] == ops[0] == 200
    assert named in finance[2]
    assert finance[1]["Cache-Control"] == "private, no-store" and public[1]["Cache-Control"] == "no-cache"
    for page in (public[2], ops[2]):  # the public page never names; the ops feed does not keep vat
        assert "named" not in page and "li.na" not in page and "zhang.wei" not in page
    for wrong in ("fin-secre", "fin-secretx"):
        assert pages[wrong][0] == 403 and "li.na" not in pages[wrong][2]


@pytest.mark.skipif(CHROMIUM is None or not AXE.exists(), reason="chromium or axe-core is not installed")
@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_named_status_page_reads_well_on_a_phone(config_of: Callable[[str], Config], language: str) -> None:
    server = _named_server(config_of(FEEDS.replace("language: en", f"language: {language}")))
    browser = Browser()
    try:
        browser.tab()
        browser.size(390, 844)
        browser.open(server.url + "?token=fin-secret")
        facts = browser.facts()
        assert facts["scrollWidth"] <= facts["innerWidth"] and facts["narrow"] == [], facts
        assert browser.axe() == [], language
        assert browser.run("document.querySelectorAll('dd.named').length") == 2
    finally:
        browser.close()
        server.close()


def test_each_recipient_and_each_chat_gets_its_own_link(config: Config, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTAGE_ACK_KEY", "0123456789abcdef")
    monkeypatch.setenv("FIN_CHAT_URL", "http://127.0.0.1:9/hook")
    window = config.windows[0]
    [at_stop] = [r for r in plan(config, window.start - timedelta(days=8), window.end) if r.kind is Kind.AT_STOP]
    [before] = [r for r in plan(config, window.start - timedelta(days=8), window.end)
                if r.kind is Kind.BEFORE_STOP and r.offset and r.offset.text == "2h"]

    async def rows(reminder: Reminder) -> dict[tuple[str, str], str]:
        notifier = Notifier.open(config, str(tmp_path), lambda: reminder.due)
        try:
            [n], _ = decide([reminder], set(), reminder.due)
            return {(d.channel, d.recipient): _body(message_from_bytes(d.payload or b"", policy=policy.default),
                                                    "plain") if d.channel == "email" else (d.payload or b"").decode()
                    for d in notifier.deliveries(n, reminder.due)}
        finally:
            await notifier.close()

    key = acks.signing_key("0123456789abcdef")
    for reminder, asked in ((at_stop, {"zhang.wei@example.com", "Li Na <li.na@example.com>", "fin-chat"}),
                            (before, {"zhang.wei@example.com", "Li Na <li.na@example.com>", "cash@example.com",
                                      "fin-chat"})):
        found = asyncio.run(rows(reminder))
        links = {}
        for (channel, recipient), payload in found.items():
            tokens = re.findall(r"/ack/([A-Za-z0-9_.-]+)", payload)
            if recipient in asked:
                ticket = acks.read(key, tokens[0], reminder.due)
                assert (ticket.recipient, ticket.channel) == (recipient, channel)
                links[recipient] = tokens[0]
            else:
                assert tokens == [], recipient  # cashiers confirm only before_stop reminders
        assert set(links) == asked and len(set(links.values())) == len(asked)


@pytest.mark.parametrize(("language", "title"), [("en", "I have read this"), ("zh-CN", "确认已阅")])
def test_slack_and_teams_carry_the_confirmation_link_as_a_button(config_of: Callable[[str], Config], tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch, language: str,
                                                                 title: str) -> None:
    monkeypatch.setenv("OUTAGE_ACK_KEY", "0123456789abcdef")
    monkeypatch.setenv("FIN_CHAT_URL", "http://127.0.0.1:9/hook")
    monkeypatch.setenv("FIN_TEAMS_URL", "http://127.0.0.1:9/teams")
    config = config_of(ACK_TOP.replace("language: en", f"language: {language}").replace(
        "webhooks: [fin-chat]", "webhooks: [fin-chat, fin-teams]").replace(
        "  fin-chat: {kind: slack, url_env: FIN_CHAT_URL}\n",
        "  fin-chat: {kind: slack, url_env: FIN_CHAT_URL}\n  fin-teams: {kind: teams, url_env: FIN_TEAMS_URL}\n"))
    window = config.windows[0]
    [reminder] = [r for r in plan(config, window.start - timedelta(days=8), window.end) if r.kind is Kind.AT_STOP]

    async def chats() -> dict[str, dict[str, object]]:
        notifier = Notifier.open(config, str(tmp_path), lambda: reminder.due)
        try:
            [n], _ = decide([reminder], set(), reminder.due)
            return {d.recipient: json.loads(d.payload or b"") for d in notifier.deliveries(n, reminder.due)
                    if d.channel == "webhook"}
        finally:
            await notifier.close()

    found = asyncio.run(chats())
    key = acks.signing_key("0123456789abcdef")
    slack, teams = found["fin-chat"], found["fin-teams"]
    [actions] = [b for b in slack["blocks"] if b["type"] == "actions"]  # type: ignore[attr-defined]
    button = actions["elements"][0]
    assert (button["text"]["text"], button.get("style")) == (title, "primary")
    assert acks.read(key, button["url"].rsplit("/", 1)[1], reminder.due).recipient == "fin-chat"
    assert "/ack/" not in json.dumps(slack["blocks"][:-1])  # a button, not a long URL in the text
    action = teams["attachments"][0]["content"]["actions"][0]  # type: ignore[index]
    assert (action["type"], action["title"], action.get("style")) == ("Action.OpenUrl", title, "positive")
    assert acks.read(key, action["url"].rsplit("/", 1)[1], reminder.due).recipient == "fin-teams"


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_personal_emails_are_composed_once_and_read_as_if_composed_each(
        config_of: Callable[[str], Config], monkeypatch: pytest.MonkeyPatch, language: str) -> None:
    config = config_of(ACK_TOP.replace("language: en", f"language: {language}").replace(
        "system: VAT", "system: 增值税发票系统"))
    window = config.windows[0]
    [reminder] = [r for r in plan(config, window.start - timedelta(days=8), window.end) if r.kind is Kind.AT_STOP]
    [n], _ = decide([reminder], set(), reminder.due)
    people = ["zhang.wei@example.com", "Li Na <li.na@example.com>", "cash@example.com"]
    links = {p: acks.link(config, acks.sign(KEY, acks.ticket(n.occurrence, p, "email")))  # type: ignore[arg-type]
             for p in people}
    env, composed = templates(None), []
    real = message.compose

    def counted(*args: object, **kwargs: object) -> EmailMessage:
        composed.append(args[0])
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(message, "compose", counted)
    sent = message.payloads(n, config, people, reminder.due, env, None, links=links)
    assert len(composed) == 1  # one body for everyone, each link put in afterwards
    for person in people:
        got = message_from_bytes(sent[person], policy=policy.default)
        alone = real(replace(n, ack_url=links[person]), config, reminder.due, env)
        for part in ("plain", "html"):
            assert _body(got, part) == alone.get_body((part,)).get_content(), (person, part)  # type: ignore[union-attr]
        assert links[person] in _body(got, "plain") and links[person] in _body(got, "html")
        assert message.STAND_IN not in sent[person].decode() and got["To"] == person


@pytest.mark.parametrize(("later", "cancel", "status", "heading"), [
    pytest.param(timedelta(hours=9), False, 410, "This link has expired", id="after-the-restore"),
    pytest.param(timedelta(0), True, 410, "This outage is no longer planned", id="cancelled-since"),
])
def test_a_link_past_its_time_records_nothing(config_of: Callable[[str], Config], later: timedelta, cancel: bool,
                                              status: int, heading: str) -> None:
    config = config_of(ACK_TOP)
    occurrence = config.windows[0].occurrences(config.windows[0].start, config.windows[0].start)[0]
    token = acks.sign(KEY, acks.ticket(occurrence, "cash@example.com", "email"))
    if cancel:
        config = config_of(ACK_TOP.replace("audiences: [finance, cashiers]}", "audiences: [finance, cashiers], "
                                                                              "status: cancelled}"))
    recorded: list[acks.Acknowledgement] = []

    async def record(ack: acks.Acknowledgement) -> bool:
        recorded.append(ack)
        return True

    async def earlier(window: str | None) -> list[acks.Acknowledgement]:
        return list(recorded)

    server = PageServer(config, occurrence.start + later)
    server.state.acks = Desk(KEY, record, earlier)
    try:
        for method in ("GET", "POST"):
            code, page = _http(server.url + "ack/" + token, method)
            assert (code, heading in page, "<form" in page) == (status, True, False), page
    finally:
        server.close()
    assert recorded == []


def test_the_page_counts_from_the_last_confirmations_read_while_the_ledger_is_down(
        config_of: Callable[[str], Config]) -> None:
    """The status page read every confirmation from the ledger on each request: with the ledger down
    it answered 500 instead of serving from memory. It reads them once per render slot, and keeps the
    last ones read while the ledger does not answer."""
    from outage_daemon.ledger import LedgerError
    from outage_daemon.web import RENDER_TTL, State, confirmations

    now = [datetime(2030, 10, 15, 12, 0, tzinfo=UTC)]
    calls: list[str | None] = []
    one = acks.Acknowledgement("vat", "20301015T140000Z", "zhang.wei@example.com", "email", now[0])

    async def recorded(window: str | None) -> list[acks.Acknowledgement]:
        calls.append(window)
        if len(calls) > 1:
            raise LedgerError("the ledger is unreachable")
        return [one]

    async def record(ack: acks.Acknowledgement) -> bool:
        return True

    state = State(config_of(ACK_TOP), {}, lambda: now[0])
    state.acks = Desk(b"k" * 32, record, recorded)

    async def go() -> list[list[acks.Acknowledgement]]:
        seen = [await confirmations(state), await confirmations(state)]  # one read per slot
        now[0] += timedelta(seconds=RENDER_TTL)
        seen.append(await confirmations(state))  # the ledger is down: the last ones read
        seen.append(await confirmations(state))  # and it is not asked again within the slot
        return seen

    assert asyncio.run(go()) == [[one]] * 4
    assert calls == [None, None]


def test_a_refused_reload_keeps_signing_with_the_key_the_page_checks(
        config_of: Callable[[str], Config], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTAGE_ACK_KEY", "the key in use, 0123456789")
    monkeypatch.setenv("FIN_CHAT_URL", "http://127.0.0.1:9/hook")
    config = config_of(ACK_TOP)
    window = config.windows[0]
    [reminder] = [r for r in plan(config, window.start - timedelta(days=8), window.end) if r.kind is Kind.AT_STOP]
    [n], _ = decide([reminder], set(), reminder.due)
    old, new = (acks.signing_key(k) for k in ("the key in use, 0123456789", "a rotated key, 9876543210"))

    def signer(notifier: Notifier) -> bytes:
        [token] = notifier.asked(n, "email", ["zhang.wei@example.com"]).values()
        token = token.rsplit("/", 1)[1]
        for key in (old, new):
            with contextlib.suppress(acks.TokenError):
                acks.read(key, token, reminder.due)
                return key
        raise AssertionError("signed with neither key")

    async def rotate() -> list[bytes]:
        notifier = Notifier.open(config, str(tmp_path), lambda: reminder.due)
        try:
            monkeypatch.setenv("OUTAGE_ACK_KEY", "a rotated key, 9876543210")
            notifier.restore(notifier.swap(config, notifier.build(config)))  # built, then refused
            refused = signer(notifier)
            notifier.swap(config, notifier.build(config))  # built and accepted
            return [refused, signer(notifier)]
        finally:
            await notifier.close()

    assert asyncio.run(rotate()) == [old, new]

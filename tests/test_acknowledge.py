"""Acknowledgements and escalation: the config keys, the signed links, the pages, the escalation."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import Message
from pathlib import Path

import jsonschema
import pytest
from daemonproc import Daemon
from smtpsink import Server, Sink, free_port, wait_for

from outage_daemon.core import acks
from outage_daemon.core.errors import ConfigError
from outage_daemon.core.model import Config
from outage_daemon.core.schema import json_schema
from outage_daemon.core.timerules import UTC
from outage_daemon.ledger import default_url, open_ledger
from outage_daemon.loader import load

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

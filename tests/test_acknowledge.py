"""Acknowledgements and escalation: the config keys, the signed links, the pages, the escalation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import jsonschema
import pytest

from outage_daemon.core import acks
from outage_daemon.core.errors import ConfigError
from outage_daemon.core.model import Config
from outage_daemon.core.schema import json_schema
from outage_daemon.core.timerules import UTC
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

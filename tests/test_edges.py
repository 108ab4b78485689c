"""Issue 17: where the feed, the planner and the parsers disagreed. Each case renders the feed, reads it
with the independent readers (tests/edgecheck.py) and compares with the planner and ``preview --json``."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, available_timezones

import icalendar
import pytest
import vobject
from edgecheck import MISSING, READERS, UTC, by_planner, by_preview, by_vobject, render
from test_vtimezone import offsets_agree

from outage_daemon.channels.email.invite import invite
from outage_daemon.channels.email.smtp import envelope
from outage_daemon.core.addresses import AddressError, parse
from outage_daemon.core.checks import warnings
from outage_daemon.core.revisions import revise_all
from outage_daemon.formats.vtimezone import vtimezone
from outage_daemon.loader import load

NOW = datetime(2026, 1, 1, tzinfo=UTC)
NOTIFY = "notify: {before_stop: [], at_stop: true, before_restore: [], at_restore: true}\n"


def z(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


# id, config body (after the NOTIFY line), span checked, lines the feed must hold, occurrences (UTC)
AGREE = [
    pytest.param("""
timezone: Africa/Casablanca
windows:
  - {id: ma, system: s, start: 2029-01-07 02:30, end: 2029-01-07 04:00, repeat: FREQ=WEEKLY;COUNT=60}
""", ("2029-01-01", "2030-03-01"), [], None, id="casablanca-2029-three-changes-renders"),
    pytest.param("""
timezone: America/Santiago
windows:
  - {id: cl, system: s, start: 2026-03-29 10:00, end: 2026-03-29 12:00, repeat: FREQ=WEEKLY;UNTIL=20300101}
""", ("2026-03-01", "2029-12-31"), ["BYMONTHDAY=2,3,4,5,6,7,8"], None, id="santiago-one-bymonthday-pair"),
    pytest.param("""
timezone: Asia/Jerusalem
windows:
  - {id: il, system: s, start: 2026-03-20 01:30, end: 2026-03-20 03:30, repeat: FREQ=WEEKLY;BYDAY=FR;COUNT=200}
""", ("2026-03-01", "2029-12-31"), ["BYDAY=FR;BYMONTHDAY=23,24,25,26,27,28,29"], None, id="jerusalem-fri-on-or-after-23"),
    pytest.param("""
timezone: America/New_York
windows:
  - {id: ny, system: s, start: "2026-11-01T01:30-05:00", end: "2026-11-01T03:00-05:00"}
""", ("2026-10-31", "2026-11-02"), ["DTSTART:20261101T063000Z"],
        {("ny", "2026-11-01T06:30Z", "2026-11-01T08:00Z")}, id="repeated-hour-offset-written-in-utc"),
    pytest.param("""
timezone: America/New_York
windows:
  - {id: ny, system: s, start: 2026-11-01 00:00, end: 2026-11-01 04:00, repeat: FREQ=WEEKLY;COUNT=3}
""", ("2026-10-31", "2026-11-20"), ["DTSTART;TZID=America/New_York:20261101T000000"],
        {("ny", "2026-11-01T04:00Z", "2026-11-01T09:00Z"), ("ny", "2026-11-08T05:00Z", "2026-11-08T10:00Z"),
         ("ny", "2026-11-15T05:00Z", "2026-11-15T10:00Z")}, id="fall-back-night-lasts-its-elapsed-5h"),
    pytest.param("""
timezone: Europe/Berlin
windows:
  - {id: de, system: s, start: 2026-02-01 02:00, end: 2026-02-01 03:00, repeat: FREQ=WEEKLY;UNTIL=20260215}
""", ("2026-01-31", "2026-03-01"), ["UNTIL=20260215T225959Z"],
        {("de", "2026-02-01T01:00Z", "2026-02-01T02:00Z"), ("de", "2026-02-08T01:00Z", "2026-02-08T02:00Z"),
         ("de", "2026-02-15T01:00Z", "2026-02-15T02:00Z")}, id="until-as-date-keeps-last-day"),
    pytest.param("""
timezone: America/New_York
windows:
  - {id: ny, system: s, start: 2026-03-06 02:30, end: 2026-03-06 04:00, repeat: FREQ=DAILY;COUNT=4,
     except: [2026-03-08 02:30]}
""", ("2026-03-05", "2026-03-12"), ["EXDATE;TZID=America/New_York:20260308T023000"],
        {("ny", "2026-03-06T07:30Z", "2026-03-06T09:00Z"), ("ny", "2026-03-07T07:30Z", "2026-03-07T09:00Z"),
         ("ny", "2026-03-09T06:30Z", "2026-03-09T08:00Z")}, id="except-time-in-dst-gap"),
    pytest.param("""
timezone: Asia/Shanghai
windows:
  - {id: cn, system: s, start: 2026-02-02 02:00, end: 2026-02-02 03:00, repeat: "FREQ=DAILY;BYHOUR=2,14;COUNT=6",
     except: [2026-02-03]}
""", ("2026-02-01", "2026-02-06"), ["EXDATE;TZID=Asia/Shanghai:20260203T020000", "EXDATE;TZID=Asia/Shanghai:20260203T140000"],
        {("cn", "2026-02-01T18:00Z", "2026-02-01T19:00Z"), ("cn", "2026-02-02T06:00Z", "2026-02-02T07:00Z"),
         ("cn", "2026-02-03T18:00Z", "2026-02-03T19:00Z"), ("cn", "2026-02-04T06:00Z", "2026-02-04T07:00Z")},
        id="except-date-removes-every-occurrence-that-day"),
    pytest.param("""
timezone: Asia/Shanghai
windows:
  - {id: utc, system: s, timezone: UTC, start: 2026-03-01 02:00, end: 2026-03-01 03:00, repeat: FREQ=WEEKLY;COUNT=2}
""", ("2026-02-28", "2026-03-10"), ["DTSTART;TZID=Etc/UTC:20260301T020000", "X-WR-TIMEZONE:Asia/Shanghai"],
        {("utc", "2026-03-01T02:00Z", "2026-03-01T03:00Z"), ("utc", "2026-03-08T02:00Z", "2026-03-08T03:00Z")},
        id="repeating-utc-window-keeps-a-tzid"),
    pytest.param("""
timezone: America/New_York
windows:
  - {id: ny, system: s, start: 2026-05-04 02:00, end: 2026-05-04 03:00, repeat: FREQ=WEEKLY;BYDAY=MO;COUNT=3,
     except: [2026-05-05]}
""", ("2026-05-01", "2026-05-30"), [], None, id="except-not-an-occurrence-writes-no-exdate"),
    # Issue 24
    pytest.param("""
timezone: Asia/Shanghai
windows:
  - {id: cn, system: s, start: 2026-01-06 02:00, end: 2026-01-06 03:00, repeat: FREQ=DAILY;UNTIL=20260110T180000Z}
""", ("2026-01-05", "2026-01-15"), ["UNTIL=20260110T180000Z"],
        {("cn", f"2026-01-{d:02d}T18:00Z", f"2026-01-{d:02d}T19:00Z") for d in range(5, 11)},
        id="until-with-z-is-utc"),
    pytest.param("""
timezone: America/New_York
windows:
  - {id: ny, system: s, start: 2026-03-06 02:30, end: 2026-03-06 04:00, repeat: FREQ=DAILY;UNTIL=20260308T030000}
""", ("2026-03-05", "2026-03-12"), ["UNTIL=20260308T070000Z"],
        {("ny", "2026-03-06T07:30Z", "2026-03-06T09:00Z"), ("ny", "2026-03-07T07:30Z", "2026-03-07T09:00Z")},
        id="local-until-before-a-gap-shifted-start"),
    pytest.param("""
timezone: America/New_York
windows:
  - {id: ny, system: s, start: 2026-03-07 02:00, end: 2026-03-07 02:30, repeat: "FREQ=DAILY;BYHOUR=2,3;COUNT=5"}
""", ("2026-03-06", "2026-03-12"), ["RRULE:FREQ=DAILY;UNTIL=20260309T070000Z;BYHOUR=2,3"],
        {("ny", "2026-03-07T07:00Z", "2026-03-07T07:30Z"), ("ny", "2026-03-07T08:00Z", "2026-03-07T08:30Z"),
         ("ny", "2026-03-08T07:00Z", "2026-03-08T07:30Z"), ("ny", "2026-03-09T06:00Z", "2026-03-09T06:30Z"),
         ("ny", "2026-03-09T07:00Z", "2026-03-09T07:30Z")}, id="gap-collision-kept-once-counted-once"),
    pytest.param("""
timezone: America/New_York
windows:
  - {id: ny, system: s, start: 2026-10-30 01:30, end: 2026-10-30 02:00, repeat: FREQ=DAILY;COUNT=4,
     except: ["2026-11-01T01:30-05:00"]}
""", ("2026-10-29", "2026-11-05"), [],
        {("ny", "2026-10-30T05:30Z", "2026-10-30T06:00Z"), ("ny", "2026-10-31T05:30Z", "2026-10-31T06:00Z"),
         ("ny", "2026-11-01T05:30Z", "2026-11-01T06:00Z"), ("ny", "2026-11-02T06:30Z", "2026-11-02T07:00Z")},
        id="except-second-repeated-hour-names-no-occurrence"),
    pytest.param("""
timezone: America/New_York
windows:
  - {id: ny, system: s, start: 2026-03-06 02:30, end: 2026-03-06 04:00, repeat: FREQ=DAILY;COUNT=4,
     except: ["2026-03-08T03:30-04:00"]}
""", ("2026-03-05", "2026-03-12"), ["EXDATE;TZID=America/New_York:20260308T023000"],
        {("ny", "2026-03-06T07:30Z", "2026-03-06T09:00Z"), ("ny", "2026-03-07T07:30Z", "2026-03-07T09:00Z"),
         ("ny", "2026-03-09T06:30Z", "2026-03-09T08:00Z")}, id="except-with-offset-names-gap-shifted-instant"),
    pytest.param("""
timezone: UTC
calendar: {name: "Outages, all; systems"}
windows:
  - {id: u, system: s, start: 2026-03-06 02:30, end: 2026-03-06 04:00}
""", ("2026-03-05", "2026-03-12"), ["\r\nNAME:Outages\\, all\\; systems", "X-WR-CALNAME:Outages\\, all\\; systems"],
        {("u", "2026-03-06T02:30Z", "2026-03-06T04:00Z")}, id="calendar-name-escaped-as-rfc-7986-text"),
    pytest.param("""
timezone: America/Santiago
windows:
  - {id: cl, system: s, start: 2026-09-05 22:00, end: 2026-09-05 24:00}
""", ("2026-09-05", "2026-09-07"), ["DTEND;TZID=America/Santiago:20260906T010000"],
        {("cl", "2026-09-06T02:00Z", "2026-09-06T04:00Z")}, id="santiago-24h-before-a-midnight-gap"),
    pytest.param("""
timezone: Africa/Cairo
windows:
  - {id: eg, system: s, start: 2026-04-23 20:00, end: 2026-04-23 24:00}
""", ("2026-04-23", "2026-04-25"), [], {("eg", "2026-04-23T18:00Z", "2026-04-23T22:00Z")},
        id="cairo-24h-before-a-midnight-gap"),
    pytest.param("""
timezone: Africa/Casablanca
windows:
  - {id: ma, system: s, start: 2026-01-04 02:30, end: 2026-01-04 04:00, repeat: FREQ=WEEKLY}
""", ("2028-01-01", "2033-01-01"), [], None, id="casablanca-never-ending-described-through-2032"),
    pytest.param("""
timezone: Africa/Casablanca
windows:
  - {id: ma, system: s, start: "2026-03-21 01:45", end: "2026-03-21 02:00", repeat: "FREQ=DAILY;BYHOUR=1,2",
     except: ["2026-03-22 01:45", "2026-03-23"]}
""", ("2026-03-21", "2026-03-25"), ["EXDATE;TZID=Africa/Casablanca:20260322T014500"],
        {("ma", "2026-03-21T01:45Z", "2026-03-21T02:00Z"), ("ma", "2026-03-21T02:45Z", "2026-03-21T03:00Z"),
         ("ma", "2026-03-22T02:45Z", "2026-03-22T03:00Z"), ("ma", "2026-03-24T00:45Z", "2026-03-24T01:00Z"),
         ("ma", "2026-03-24T01:45Z", "2026-03-24T02:00Z")}, id="casablanca-except-beside-a-gap-shifted-instance"),
    pytest.param("""
timezone: America/New_York
windows:
  - {id: ny, system: s, start: "2026-03-07 01:45", end: "2026-03-07 02:00", repeat: "FREQ=DAILY;BYHOUR=1,2;COUNT=5"}
""", ("2026-03-07", "2026-03-11"), ["RRULE:FREQ=DAILY;COUNT=5;BYHOUR=1,2"],
        {("ny", "2026-03-07T06:45Z", "2026-03-07T07:00Z"), ("ny", "2026-03-07T07:45Z", "2026-03-07T08:00Z"),
         ("ny", "2026-03-08T06:45Z", "2026-03-08T07:00Z"), ("ny", "2026-03-08T07:45Z", "2026-03-08T08:00Z"),
         ("ny", "2026-03-09T05:45Z", "2026-03-09T06:00Z")}, id="count-beside-an-instance-in-a-gap"),
    pytest.param("""
timezone: Europe/Berlin
windows:
  - {id: de, system: s, start: 2026-01-01 00:00, end: 2026-01-01 00:30, repeat: FREQ=HOURLY;COUNT=10500}
""", ("2026-01-01", "2027-06-01"), [], None, id="preview-past-10000-occurrences"),
]


@pytest.mark.parametrize(("body", "span", "lines", "expected"), AGREE)
def test_feed_readers_planner_and_preview_agree(write: Callable[..., Path], body: str, span: tuple[str, str],
                                                lines: list[str], expected: set[tuple[str, str, str]] | None) -> None:
    path = write(NOTIFY + body)
    config = load(str(path))
    bounds = (z(span[0] + "T00:00Z"), z(span[1] + "T00:00Z"))
    data = render(config, NOW)
    unfolded = data.replace(b"\r\n ", b"").decode()
    for line in lines:
        assert line in unfolded
    planner = by_planner(config, bounds)
    assert planner, "the case must have occurrences"
    for window in config.windows:  # one reminder key per occurrence (RFC 5545 3.8.5.3: duplicates count once)
        keys = [o.key for o in window.occurrences(*bounds)]
        assert len(keys) == len(set(keys)), keys
    if expected is not None:
        assert planner == {(f"{w}@outage-daemon", z(s), z(e)) for w, s, e in expected}
    for name, reader in READERS.items():
        assert reader(data, bounds) == by_planner(config, bounds, name), name
    preview = by_preview(path, bounds)
    assert preview["at_stop"] == {(uid.split("@")[0], s) for uid, s, _ in planner}
    assert {w for w, due in preview["at_restore"]} <= {uid.split("@")[0] for uid, _, _ in planner}
    assert preview["at_restore"] >= {(uid.split("@")[0], e) for uid, _, e in planner if e < bounds[1]}


@pytest.mark.parametrize("name", ["ical.js", "libical"])
def test_reader_in_its_own_process_reads_here(name: str) -> None:
    if name in MISSING:
        pytest.skip(MISSING[name])
    assert name in READERS


def test_fall_back_night_description_counts_elapsed_hours(config_of: Callable[[str], object]) -> None:
    config = config_of("""
        language: en
        timezone: America/New_York
        windows:
          - {id: ny, system: s, start: 2026-11-01 00:00, end: 2026-11-01 04:00}
        """)
    text = render(config, NOW).replace(b"\r\n ", b"").decode()  # type: ignore[arg-type]
    assert "Duration: 5 hours" in text


REFUSED = [
    pytest.param("""
windows:
  - {id: w, system: s, start: "2026-11-01T01:30-05:00", end: "2026-11-01T01:45-04:00"}
""", "cfg.yaml:4: windows[0].end: end 2026-11-01T01:45-04:00 is before start 2026-11-01T01:30-05:00", id="end-before-start-across-fall-back"),
    pytest.param("""
windows:
  - {id: w, system: s, start: 2026-05-04, end: 2026-05-03}
""", "cfg.yaml:4: windows[0].end: end 2026-05-03 is before start 2026-05-04", id="all-day-end-day-before-start-day"),
    pytest.param("""
windows:
  - {id: w, system: s, start: "2026-11-01T01:30-05:00", end: "2026-11-01T03:00-05:00", repeat: FREQ=WEEKLY}
""", "cfg.yaml:4: windows[0].start: a repeat cannot start at 01:30 on 2026-11-01, an hour that happens twice",
        id="repeat-from-second-repeated-hour"),
    pytest.param("""
windows:
  - {id: w, system: s, start: "2026-11-01T01:30-04:00", end: "2026-11-01T03:00-05:00", repeat: FREQ=WEEKLY}
""", "cfg.yaml:4: windows[0].start: a repeat cannot start at 01:30 on 2026-11-01, an hour that happens twice (DST "
     "ends): its rule repeats the wall-clock time, which Thunderbird and Evolution read as the second",
        id="repeat-from-first-repeated-hour"),
    pytest.param("""
windows:
  - {id: w, system: s, start: 2026-01-04 02:00, end: 2026-01-04 03:00, repeat: FREQ=WEEKLY;BYDAY=MO}
""", "cfg.yaml:4: windows[0].repeat: the start 2026-01-04 02:00 (Sunday) is not an occurrence of the repeat",
        id="start-not-an-occurrence-of-its-rule"),
    pytest.param("""
email: {from: "Ops, Center <ops@example.com>"}
windows: []
""", """cfg.yaml:3: email.from: 'Ops, Center <ops@example.com>': a comma in a display name must be quoted, """
     """or mail software reads two addresses; write '"Ops, Center" <ops@example.com>'""", id="from-with-unquoted-comma"),
    pytest.param("""
audiences:
  finance: {email: [ok@example.com, "Zhang, Wei <zw@example.com>"]}
windows: []
""", """cfg.yaml:4: audiences.finance.email[1]: 'Zhang, Wei <zw@example.com>': a comma in a display name must be """
     """quoted""", id="recipient-with-unquoted-comma"),
]


@pytest.mark.parametrize(("body", "error"), REFUSED)
def test_check_refuses_what_readers_would_take_differently(errors_of: Callable[[str], list[str]], body: str,
                                                           error: str) -> None:
    found = errors_of("timezone: America/New_York\n" + body)
    assert any(e.startswith(error) for e in found), found


def test_except_that_names_no_occurrence_is_a_warning(config_of: Callable[[str], object]) -> None:
    config = config_of("""
        timezone: America/New_York
        windows:
          - {id: ny, system: s, start: 2026-05-04 02:00, end: 2026-05-04 03:00, repeat: FREQ=WEEKLY;BYDAY=MO,
             except: [2026-05-05, 2026-05-11]}
        """)
    # (issue 15: the config has no audience, so it also warns "notifies nobody"; that note is not this test's)
    found = [p.message for p in warnings(config, NOW) if p not in config.notes]  # type: ignore[arg-type, attr-defined]
    assert found == ["except 2026-05-05 is not an occurrence of the repeat: it skips nothing (check the date "
                     "and the start time)"]
    assert render(config, NOW).count(b"EXDATE") == 1  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "name", "address"), [
    pytest.param('"Zhang, Wei" <zw@example.com>', "Zhang, Wei", "zw@example.com", id="quoted-comma"),
    pytest.param("李娜 <li.na@example.com>", "李娜", "li.na@example.com", id="cjk-name"),
    pytest.param("ops@example.com", "", "ops@example.com", id="bare"),
])
def test_one_address_parser_for_envelope_and_invite(config_of: Callable[[str], object], text: str, name: str,
                                                    address: str) -> None:
    mailbox = parse(text)
    assert (mailbox.name, mailbox.address) == (name, address)
    assert envelope(text) == address
    config = config_of(f"""
        email: {{from: '{text}'}}
        calendar: {{alarms: [15m]}}
        audiences: {{a: {{email: ['{text}']}}}}
        windows:
          - {{id: w, system: s, start: 2026-05-04 02:00, end: 2026-05-04 03:00}}
        """)
    revision = revise_all(config, {}, NOW)["w"]  # type: ignore[arg-type]
    for method in ("REQUEST", "CANCEL"):
        data = invite(config.windows[0], config, revision, method, text, text)  # type: ignore[attr-defined]
        ev = next(iter(icalendar.Calendar.from_ical(data).walk("VEVENT")))
        assert str(ev["ORGANIZER"]) == str(ev["ATTENDEE"]) == f"mailto:{address}"
        assert ev["ATTENDEE"].params.get("CN", "") == name
        assert bool(ev.walk("VALARM")) == (method == "REQUEST")  # a cancellation reminds of nothing


def test_unquoted_comma_is_not_an_address() -> None:
    with pytest.raises(AddressError, match=re.escape('write \'"Zhang, Wei" <zw@example.com>\'')):
        parse("Zhang, Wei <zw@example.com>")


@pytest.mark.parametrize(("key", "pairs"), [
    pytest.param("Africa/Casablanca", None, id="casablanca-ramadan-changes"),
    pytest.param("America/Santiago", 1, id="santiago-sun-on-or-after-2nd"),
    pytest.param("America/Nuuk", 1, id="nuuk-saturday-before-last-sunday"),
    pytest.param("Asia/Jerusalem", 1, id="jerusalem-fri-on-or-after-23rd"),
    pytest.param("Africa/Cairo", None, id="cairo-thursday-24h"),
    pytest.param("Asia/Gaza", None, id="gaza"),
    pytest.param("Australia/Lord_Howe", 1, id="lord-howe-half-hour-dst"),
    pytest.param("Pacific/Chatham", 1, id="chatham-quarter-hours"),
    pytest.param("Europe/Dublin", 1, id="dublin-negative-dst"),
    pytest.param("Pacific/Apia", 0, id="apia-no-dst-since-2021"),
])
def test_vtimezone_reproduces_the_tz_database_through_2035(key: str, pairs: int | None) -> None:
    assert offsets_agree(key, 2026, 2035) == []
    blocks = [c for c in vtimezone(key, 2026, 2035).subcomponents]
    if pairs is not None:  # one yearly pair (or one STANDARD), however the rule names its day
        assert len(blocks) == max(1, 2 * pairs), [b.to_ical() for b in blocks]


def test_invite_for_a_casablanca_window_renders(config_of: Callable[[str], object]) -> None:
    config = config_of("""
        timezone: Africa/Casablanca
        windows:
          - {id: ma, system: s, start: 2029-01-07 02:30, end: 2029-01-07 04:00, repeat: FREQ=WEEKLY;COUNT=60}
        """)
    revision = revise_all(config, {}, NOW)["ma"]  # type: ignore[arg-type]
    data = invite(config.windows[0], config, revision, "REQUEST", "ops@example.com", "a@example.com")  # type: ignore[attr-defined]
    assert vobject.readOne(data.decode(), validate=True).vevent.dtstart.value.year == 2029


def test_invite_describes_every_year_a_never_ending_repeat_reaches(config_of: Callable[[str], object]) -> None:
    config = config_of("""
        timezone: Africa/Casablanca
        windows:
          - {id: ma, system: s, start: 2026-01-04 02:30, end: 2026-01-04 04:00, repeat: FREQ=WEEKLY}
        """)
    revision = revise_all(config, {}, NOW)["ma"]  # type: ignore[arg-type]
    data = invite(config.windows[0], config, revision, "REQUEST", "ops@example.com", "a@example.com")  # type: ignore[attr-defined]
    span = (z("2028-01-01T00:00Z"), z("2033-01-01T00:00Z"))
    assert by_vobject(data, span) == by_planner(config, span, "vobject")  # type: ignore[arg-type]


def _outside_outlook(key: str) -> bool:
    """Whether a zone's VTIMEZONE (2026-2036) needs more than Outlook takes: a rule naming its day by
    both BYDAY and BYMONTHDAY, or a dated change without a yearly rule, or two of one kind a year."""
    tz = ZoneInfo(key)
    weeks = (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(weeks=n) for n in range(52 * 11 + 1))
    if len({w.astimezone(tz).utcoffset() for w in weeks}) == 1:
        return False  # no offset lasting a week changes in those years: one STANDARD
    blocks = vtimezone(key, 2026, 2036).subcomponents
    if any("BYMONTHDAY" in b["RRULE"] and "BYDAY" in b["RRULE"] for b in blocks if "RRULE" in b):
        return True
    return any("RRULE" not in b and b.decoded("DTSTART").year >= 2026 for b in blocks)


def test_readme_names_every_zone_outside_outlooks_shape() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    bullet = readme[readme.index("- Outlook takes a `VTIMEZONE`"):]
    bullet = bullet[: bullet.index("\n- ")]
    named = set(re.findall(r"`([A-Z][A-Za-z_]+(?:/[A-Za-z_]+)?)`", bullet)) - {"VTIMEZONE", "BYMONTHDAY", "BYDAY"}
    zones = {k for k in available_timezones() if not k.startswith(("posix", "right/")) and k not in ("Factory", "localtime")}
    assert {k for k in sorted(zones) if _outside_outlook(k)} == named

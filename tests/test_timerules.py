"""Time rules, table-driven, in zones with and without DST (one southern)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from outage_daemon.core import timerules as tr
from outage_daemon.core.timerules import UTC, TimeError

NY, BERLIN, SYDNEY, SHANGHAI = (tr.zone(n) for n in
                                ("America/New_York", "Europe/Berlin", "Australia/Sydney", "Asia/Shanghai"))


@pytest.mark.parametrize(("text", "days", "seconds", "canonical"), [
    pytest.param("90s", 0, 90, "1m30s", id="seconds"),
    pytest.param("15m", 0, 900, "15m", id="minutes"),
    pytest.param("2h", 0, 7200, "2h", id="hours"),
    pytest.param("1d", 1, 0, "1d", id="day"),
    pytest.param("1w", 7, 0, "1w", id="week"),
    pytest.param("1h30m", 0, 5400, "1h30m", id="combined"),
    pytest.param("1d 12h", 1, 43200, "1d12h", id="combined-spaced"),
    pytest.param("PT15M", 0, 900, "15m", id="iso-minutes"),
    pytest.param("P1D", 1, 0, "1d", id="iso-day"),
    pytest.param("P2W", 14, 0, "2w", id="iso-weeks"),
    pytest.param("P1DT2H30M", 1, 9000, "1d2h30m", id="iso-mixed"),
])
def test_duration(text: str, days: int, seconds: int, canonical: str) -> None:
    offset = tr.parse_duration(text)
    assert (offset.days, offset.seconds, offset.canonical, offset.text) == (days, seconds, canonical, text)


@pytest.mark.parametrize("text", ["", "5", "1y", "P1M", "P1Y", "abc", "1x", "-1h", "PT", "P", "h", "1.5h"])
def test_bad_duration(text: str) -> None:
    with pytest.raises(TimeError, match="duration"):
        tr.parse_duration(text)


@pytest.mark.parametrize(("text", "tz", "expected"), [
    pytest.param("2023-10-15 22:00", SHANGHAI, "2023-10-15T22:00:00+08:00", id="local"),
    pytest.param("2023-10-15T22:00", SHANGHAI, "2023-10-15T22:00:00+08:00", id="local-T"),
    pytest.param("2023-10-12 24:00", SHANGHAI, "2023-10-13T00:00:00+08:00", id="24:00"),
    pytest.param("2023-12-31 24:00", SHANGHAI, "2024-01-01T00:00:00+08:00", id="24:00-year-end"),
    pytest.param("2023-10-15 14:00Z", SHANGHAI, "2023-10-15T22:00:00+08:00", id="utc"),
    pytest.param("2023-10-15 10:00-04:00", SHANGHAI, "2023-10-15T22:00:00+08:00", id="offset"),
    pytest.param("2023-10-15", SHANGHAI, "2023-10-15T00:00:00+08:00", id="date"),
    pytest.param("2026-11-01 01:30-04:00", NY, "2026-11-01T01:30:00-04:00", id="ambiguous-with-offset-first"),
    pytest.param("2026-11-01 01:30-05:00", NY, "2026-11-01T01:30:00-05:00", id="ambiguous-with-offset-second"),
])
def test_place(text: str, tz: tr.ZoneInfo, expected: str) -> None:
    assert tr.place(tr.parse_when(text), tz).isoformat() == expected


@pytest.mark.parametrize(("text", "tz", "message"), [
    pytest.param("2026-03-08 02:30", NY, "does not exist", id="gap-new-york"),
    pytest.param("2026-03-29 02:30", BERLIN, "does not exist", id="gap-berlin"),
    pytest.param("2026-10-04 02:30", SYDNEY, "does not exist", id="gap-sydney"),
    pytest.param("2026-11-01 01:30", NY, "happens twice", id="overlap-new-york"),
    pytest.param("2026-10-25 02:30", BERLIN, "happens twice", id="overlap-berlin"),
    pytest.param("2026-04-05 02:30", SYDNEY, "happens twice", id="overlap-sydney"),
])
def test_place_refuses_dst_gap_and_overlap(text: str, tz: tr.ZoneInfo, message: str) -> None:
    with pytest.raises(TimeError, match=message):
        tr.place(tr.parse_when(text), tz)


@pytest.mark.parametrize("text", ["2023-02-30 10:00", "2023-10-15 25:00", "2023-10-15 24:30",
                                  "15.10.2023", "2023-10-15 10:00+25:00", "tomorrow", "2023-10-15 9"])
def test_bad_time(text: str) -> None:
    with pytest.raises(TimeError):
        tr.place(tr.parse_when(text), SHANGHAI)


@pytest.mark.parametrize(("milestone", "offset", "expected"), [
    # Calendar days keep the wall-clock time across DST; hours are elapsed time.
    pytest.param(datetime(2026, 3, 8, 9, tzinfo=NY), "1d", "2026-03-07T09:00:00-05:00", id="ny-1d-over-gap"),
    pytest.param(datetime(2026, 3, 8, 9, tzinfo=NY), "24h", "2026-03-07T08:00:00-05:00", id="ny-24h-over-gap"),
    pytest.param(datetime(2026, 3, 8, 3, 30, tzinfo=NY), "2h", "2026-03-08T00:30:00-05:00", id="ny-2h-in-gap"),
    pytest.param(datetime(2026, 10, 25, 9, tzinfo=BERLIN), "1d", "2026-10-24T09:00:00+02:00", id="berlin-1d-over-fall"),
    pytest.param(datetime(2026, 10, 25, 9, tzinfo=BERLIN), "24h", "2026-10-24T10:00:00+02:00", id="berlin-24h-over-fall"),
    pytest.param(datetime(2026, 10, 4, 9, tzinfo=SYDNEY), "1d", "2026-10-03T09:00:00+10:00", id="sydney-1d-over-gap"),
    pytest.param(datetime(2026, 10, 4, 9, tzinfo=SYDNEY), "1w", "2026-09-27T09:00:00+10:00", id="sydney-1w"),
    pytest.param(datetime(2026, 4, 5, 9, tzinfo=SYDNEY), "1d", "2026-04-04T09:00:00+11:00", id="sydney-1d-over-fall"),
    pytest.param(datetime(2026, 3, 9, 2, 30, tzinfo=NY), "1d", "2026-03-08T03:30:00-04:00", id="ny-1d-lands-in-gap"),
    pytest.param(datetime(2023, 10, 15, 22, tzinfo=SHANGHAI), "1d2h", "2023-10-14T20:00:00+08:00", id="mixed"),
])
def test_before(milestone: datetime, offset: str, expected: str) -> None:
    assert tr.before(milestone, tr.parse_duration(offset)).isoformat() == expected


def test_add_absolute_is_elapsed_time() -> None:
    start = datetime(2026, 11, 1, 0, 30, tzinfo=NY)
    assert tr.add_absolute(start, timedelta(hours=2)).isoformat() == "2026-11-01T01:30:00-05:00"


@pytest.mark.parametrize(("rule", "tz", "start", "lo", "hi", "expected"), [
    pytest.param("FREQ=WEEKLY;BYDAY=SU", NY, datetime(2026, 3, 1, 9), date(2026, 3, 1), date(2026, 3, 16),
                 ["2026-03-01T09:00:00-05:00", "2026-03-08T09:00:00-04:00", "2026-03-15T09:00:00-04:00"],
                 id="ny-weekly-keeps-local-time"),
    pytest.param("FREQ=WEEKLY;BYDAY=SU", NY, datetime(2026, 3, 1, 2, 30), date(2026, 3, 1), date(2026, 3, 9),
                 ["2026-03-01T02:30:00-05:00", "2026-03-08T03:30:00-04:00"], id="ny-weekly-gap-moves-later"),
    pytest.param("FREQ=DAILY;COUNT=3", SYDNEY, datetime(2026, 4, 4, 2, 30), date(2026, 4, 1), date(2026, 4, 10),
                 ["2026-04-04T02:30:00+11:00", "2026-04-05T02:30:00+11:00", "2026-04-06T02:30:00+10:00"],
                 id="sydney-daily-overlap-takes-first"),
    pytest.param("FREQ=MONTHLY;BYDAY=1SA", BERLIN, datetime(2026, 1, 3, 22), date(2026, 3, 1), date(2026, 5, 1),
                 ["2026-03-07T22:00:00+01:00", "2026-04-04T22:00:00+02:00"], id="berlin-monthly-first-saturday"),
    pytest.param("RRULE:FREQ=WEEKLY;UNTIL=20260118T020000Z", SHANGHAI, datetime(2026, 1, 4, 2),
                 date(2026, 1, 1), date(2026, 3, 1),
                 ["2026-01-04T02:00:00+08:00", "2026-01-11T02:00:00+08:00", "2026-01-18T02:00:00+08:00"],
                 id="until-inclusive"),
])
def test_occurrences(rule: str, tz: tr.ZoneInfo, start: datetime, lo: date, hi: date, expected: list[str]) -> None:
    parsed = tr.parse_rrule(rule, start, tz)
    bounds = [tr.resolve(datetime(d.year, d.month, d.day), tz) for d in (lo, hi)]
    got = [o.isoformat() for o in tr.occurrences_between(parsed, tz, *bounds)]
    assert got == expected


@pytest.mark.parametrize(("rule", "message"), [
    pytest.param("FREQ=SOMETIMES", "bad repeat rule", id="bad-freq"),
    pytest.param("BYDAY=SU", "FREQ= is required", id="no-freq"),
    pytest.param("FREQ=WEEKLY;BYDAY=XX", "bad repeat rule", id="bad-byday"),
    pytest.param("FREQ=WEEKLY;COUNT=2;UNTIL=20260101", "exclude", id="count-and-until"),
    pytest.param("FREQ=WEEKLY;DTSTART=20260101", "not NAME=VALUE of an RRULE", id="dtstart-inside"),
    pytest.param("FREQ=WEEKLY\nRDATE:20260101", "one RRULE", id="two-lines"),
])
def test_bad_rrule(rule: str, message: str) -> None:
    with pytest.raises(TimeError, match=message):
        tr.parse_rrule(rule, datetime(2026, 1, 4, 2), tr.zone("UTC"))


def test_zone_refuses_paths_and_unknown_names() -> None:
    for name in ("Mars/Olympus", "../../etc/passwd", "", "/etc/localtime"):
        with pytest.raises(TimeError, match="unknown time zone"):
            tr.zone(name)
    assert tr.zone("UTC").utcoffset(datetime(2026, 1, 1, tzinfo=UTC)) == timedelta(0)


@pytest.mark.parametrize(("minutes", "refused"), [
    pytest.param(tr.MAX_OCCURRENCES - 1, False, id="exactly-the-limit-though-a-day-past-until-is-more"),
    pytest.param(tr.MAX_OCCURRENCES, True, id="one-more-than-the-limit"),
])
def test_until_bound_counts_the_occurrences_not_the_day_past_until(minutes: int, refused: bool) -> None:
    first = datetime(2026, 1, 1)
    until = first + timedelta(minutes=minutes)
    text = f"FREQ=MINUTELY;UNTIL={until:%Y%m%dT%H%M%S}"
    if refused:
        with pytest.raises(TimeError, match="more than 100,000 occurrences before UNTIL"):
            tr.parse_rrule(text, first, tr.ZoneInfo("Europe/Berlin"))
    else:
        assert sum(1 for _ in tr.parse_rrule(text, first, tr.ZoneInfo("Europe/Berlin"))) == tr.MAX_OCCURRENCES


@pytest.mark.parametrize(("rule", "refused"), [
    pytest.param("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;UNTIL=22991017T000000", True, id="weekly-every-day-100001"),
    pytest.param("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;UNTIL=22991016T000000", False, id="weekly-every-day-100000"),
    pytest.param("FREQ=SECONDLY;INTERVAL=2;UNTIL=20260103T120000", True, id="every-two-seconds-for-2-5-days"),
    pytest.param("FREQ=DAILY;INTERVAL=3;UNTIL=28000101T000000", False, id="every-third-day-for-774-years"),
    pytest.param("FREQ=MONTHLY;BYMONTHDAY=1,2,3,4,5,6,7,8,9,10;UNTIL=28000101T000000", False, id="ten-days-a-month"),
])
def test_until_bound_with_and_without_expanding(rule: str, refused: bool) -> None:
    first = datetime(2026, 1, 1)
    if refused:
        with pytest.raises(TimeError, match="more than 100,000 occurrences before UNTIL"):
            tr.parse_rrule(rule, first, tr.ZoneInfo("UTC"))
    else:
        tr.parse_rrule(rule, first, tr.ZoneInfo("UTC"))

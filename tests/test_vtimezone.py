"""VTIMEZONE: one yearly rule per era, reproducing every transition of the tz database."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
import vobject

from outage_daemon.core.timerules import UTC
from outage_daemon.formats.vtimezone import transitions, vtimezone


def reread(key: str, first: int, last: int) -> object:
    """Return the tzinfo that an independent reader (vobject/dateutil) builds from our block."""
    text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\n" + vtimezone(key, first, last).to_ical().decode() + \
        "END:VCALENDAR\r\n"
    return vobject.readOne(text).vtimezone.gettzinfo()


def instants(key: str, first: int, last: int) -> list[datetime]:
    """Each transition and a second either side of it, plus the middle of every month."""
    out = [datetime(y, m, 15, 12, tzinfo=UTC) for y in range(first, last + 1) for m in range(1, 13)]
    for t in transitions(ZoneInfo(key), first, last):
        out += [t.at - timedelta(seconds=1), t.at, t.at + timedelta(hours=1)]
    return out


def offsets_agree(key: str, first: int, last: int) -> list[str]:
    """Compare, for local wall times near every transition and mid-month, the UTC offset our
    VTIMEZONE gives (as a client reads DTSTART;TZID=...) with the tz database's."""
    ours, real = reread(key, first, last), ZoneInfo(key)
    wrong = []
    for at in instants(key, first, last):
        local = at.astimezone(real).replace(tzinfo=None)
        want = local.replace(tzinfo=real, fold=0).utcoffset()
        if want != local.replace(tzinfo=real, fold=1).utcoffset():
            continue  # a wall time that happens twice: clients need an explicit offset anyway
        got = local.replace(tzinfo=ours).utcoffset()  # type: ignore[arg-type]
        if want != got:
            wrong.append(f"{key} {local:%Y-%m-%d %H:%M:%S} local: want {want}, got {got}")
    return wrong


@pytest.mark.parametrize(("key", "blocks"), [
    pytest.param("Asia/Shanghai", ["STANDARD"], id="shanghai-no-dst"),
    pytest.param("America/New_York", ["DAYLIGHT", "STANDARD"], id="new-york"),
    pytest.param("Europe/Berlin", ["DAYLIGHT", "STANDARD"], id="berlin"),
    pytest.param("Australia/Sydney", ["STANDARD", "DAYLIGHT"], id="sydney-southern"),
    pytest.param("America/Mexico_City", ["DAYLIGHT", "STANDARD", "STANDARD"], id="mexico-dropped-dst-2022"),
])
def test_named_zones(key: str, blocks: list[str]) -> None:
    comp = vtimezone(key, 2020, 2030)
    assert [c.name for c in comp.subcomponents] == blocks
    assert not any("RDATE" in c for c in comp.subcomponents)
    assert offsets_agree(key, 2020, 2030) == []


def test_rules_are_yearly_and_outlook_shaped() -> None:
    text = vtimezone("America/New_York", 2024, 2027).to_ical().decode()
    assert "RRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3" in text and "RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11" in text
    assert "UNTIL" not in text  # one era: the rule holds on


def test_every_zone_in_the_tz_database() -> None:
    wrong: list[str] = []
    for key in sorted(available_timezones()):
        if key.startswith(("posix/", "right/")) or key in ("Factory", "localtime"):
            continue
        try:
            wrong += offsets_agree(key, 2022, 2027)
        except ValueError as exc:  # a zone that changes more than twice a year: say which
            wrong.append(f"{key}: {exc}")
    assert wrong == []

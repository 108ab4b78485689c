"""The windows as Prometheus gauges: the pure rule table-driven (a DST zone included), then /metrics
scraped over HTTP from the real app and read with prometheus_client's own parser."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from pageserver import Server
from prometheus_client.parser import text_string_to_metric_families

from outage_daemon.core.model import Config
from outage_daemon.core.timerules import UTC
from outage_daemon.formats.gauges import next_change, window_gauges

CONFIG = """
timezone: Europe/Berlin
windows:
  - {id: db-weekly, system: core-db, start: 2026-03-22 02:00, end: 2026-03-22 04:00, repeat: "FREQ=WEEKLY;BYDAY=SU"}
  - {id: vat-upgrade, system: vat, start: 2026-03-28 22:00, end: 2026-03-29 06:00}
  - {id: erp-dropped, system: erp, start: 2026-03-28 22:00, end: 2026-03-29 06:00, status: cancelled}
"""


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# (id, now, {window: (active, next start or None)}); 2026-03-29 is the spring-forward night in Berlin.
CASES = [
    ("before-anything", "2026-03-20T12:00:00+01:00",
     {"db-weekly": (False, "2026-03-22T02:00:00+01:00"), "vat-upgrade": (False, "2026-03-28T22:00:00+01:00"),
      "erp-dropped": (False, None)}),
    ("weekly-on", "2026-03-22T03:00:00+01:00",
     {"db-weekly": (True, "2026-03-29T02:00:00+01:00"), "vat-upgrade": (False, "2026-03-28T22:00:00+01:00"),
      "erp-dropped": (False, None)}),
    ("at-the-stop-is-on", "2026-03-28T22:00:00+01:00",
     {"db-weekly": (False, "2026-03-29T03:00:00+02:00"), "vat-upgrade": (True, None), "erp-dropped": (False, None)}),
    ("across-dst-night", "2026-03-29T05:30:00+02:00",
     {"db-weekly": (False, "2026-04-05T02:00:00+02:00"), "vat-upgrade": (True, None), "erp-dropped": (False, None)}),
    ("at-the-restore-is-off", "2026-03-29T06:00:00+02:00",
     {"db-weekly": (False, "2026-04-05T02:00:00+02:00"), "vat-upgrade": (False, None), "erp-dropped": (False, None)}),
]


@pytest.mark.parametrize(("now", "expected"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_window_gauges(config_of: Callable[[str], Config], now: str, expected: dict[str, tuple[bool, str | None]]
                       ) -> None:
    got = {g.window: (g.active, g.next_start) for g in window_gauges(config_of(CONFIG), at(now))}
    assert got == {w: (active, at(start) if start else None) for w, (active, start) in expected.items()}


def test_gauges_change_next_at_the_nearest_start_or_end(config_of: Callable[[str], Config]) -> None:
    config = config_of(CONFIG)
    for now, expected in (("2026-03-20T12:00:00+01:00", "2026-03-21T12:00:00+01:00"),  # a day at most
                          ("2026-03-22T03:00:00+01:00", "2026-03-22T04:00:00+01:00"),
                          ("2026-03-29T05:30:00+02:00", "2026-03-29T06:00:00+02:00")):
        assert next_change(window_gauges(config, at(now)), at(now)) == at(expected), now
    far = at("2027-06-01T00:00:00Z")  # after every window: checked again a day later
    assert next_change(window_gauges(config_of(CONFIG.replace('repeat: "FREQ=WEEKLY;BYDAY=SU"', "")), far), far) == \
        far + timedelta(days=1)


def scrape(url: str) -> dict[str, dict[tuple[str, str], float]]:
    with urllib.request.urlopen(url + "metrics", timeout=10) as response:  # noqa: S310 - loopback
        text = response.read().decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    return {name: {(s.labels["window"], s.labels["system"]): s.value for s in families[name].samples}
            for name in ("outage_window_active", "outage_window_next_start_timestamp_seconds")}


def test_metrics_follow_the_clock_and_read_with_prometheus_parser(config_of: Callable[[str], Config]) -> None:
    server = Server(config_of(CONFIG), at("2026-03-28T21:59:00+01:00"))
    try:
        before = scrape(server.url)
        assert before["outage_window_active"] == {("db-weekly", "core-db"): 0.0, ("vat-upgrade", "vat"): 0.0,
                                                  ("erp-dropped", "erp"): 0.0}
        assert before["outage_window_next_start_timestamp_seconds"] == {
            ("db-weekly", "core-db"): at("2026-03-29T03:00:00+02:00").timestamp(),
            ("vat-upgrade", "vat"): at("2026-03-28T22:00:00+01:00").timestamp()}
        server.now += timedelta(minutes=2)
        during = scrape(server.url)
        assert during["outage_window_active"][("vat-upgrade", "vat")] == 1.0
        assert ("vat-upgrade", "vat") not in during["outage_window_next_start_timestamp_seconds"]
    finally:
        server.close()


def test_a_window_only_private_audiences_see_is_not_on_metrics(config_of: Callable[[str], Config]) -> None:
    config = config_of("""
timezone: Asia/Shanghai
audiences:
  board: {email: [board@example.com], public: false}
  finance: {email: [fin@example.com]}
windows:
  - {id: merger-cutover, system: secret-erp, start: 2026-03-28 22:00, end: 2026-03-29 06:00, audiences: [board]}
  - {id: vat-upgrade, system: vat, start: 2026-03-28 22:00, end: 2026-03-29 06:00, audiences: [finance]}
""")
    server = Server(config, at("2026-03-28T22:30:00+08:00"))
    try:
        with urllib.request.urlopen(server.url + "metrics", timeout=10) as answer:  # noqa: S310 - loopback
            text = answer.read().decode()
        assert ("vat-upgrade", "vat") in scrape(server.url)["outage_window_active"]
        assert "merger-cutover" not in text and "secret-erp" not in text
    finally:
        server.close()

"""The NANOG BCOP maintenance-notification properties (X-MAINTNOTE-*), opt-in per feed, read back by
circuit-maintenance-parser, which network tools (NetBox and Nautobot maintenance plugins) build on. It
pins an icalendar older than ours, so it runs from its own virtual environment, `make maintnote`
(.tools/maintnote); the test skips, saying so, when that could not be installed."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from conftest import ROOT
from feedcheck import lint, parse_three

from outage_daemon.core.model import Config
from outage_daemon.core.revisions import revise_all
from outage_daemon.core.timerules import UTC
from outage_daemon.formats import render_all

NOW = datetime(2026, 12, 1, tzinfo=UTC)
TOOL = ROOT / ".tools" / "maintnote"
PARSER = TOOL / "bin" / "python"
CONFIG = """
timezone: Asia/Shanghai
email: {from: "运维中心 <ops@example.com>"}
calendar:
  domain: status.example.com
  feeds:
    - {name: noc, systems: [核心数据库], maintnote: {account: "finance;dept", impact: DEGRADED}}
    - {name: plain, systems: [核心数据库]}
windows:
  - {id: db-1, system: 核心数据库, title: 升级, start: 2026-12-05 22:00, end: 2026-12-06 02:00}
  - {id: db-2, system: 核心数据库, start: 2026-12-12 22:00, end: 2026-12-13 02:00, status: tentative}
  - {id: db-3, system: 核心数据库, start: 2026-12-19 22:00, end: 2026-12-20 02:00, status: cancelled}
  - {id: erp, system: ERP, start: 2026-12-12 22:00, end: 2026-12-13 02:00}
"""
READ = """
import json, sys
from circuit_maintenance_parser import init_provider
from circuit_maintenance_parser.data import NotificationData
data = NotificationData.init_from_raw("ical", open(sys.argv[1], "rb").read())
print(json.dumps([json.loads(m.to_json()) for m in init_provider("genericprovider").get_maintenances(data)]))
"""


def feeds(config: Config) -> dict[str, bytes]:
    return render_all(config, revise_all(config, {}, NOW), NOW)


def test_only_the_opted_in_feed_carries_them(config_of: Callable[[str], Config]) -> None:
    rendered = feeds(config_of(CONFIG))
    assert b"X-MAINTNOTE-" not in rendered["calendar.ics"] and b"X-MAINTNOTE-" not in rendered["plain.ics"]
    assert b"ORGANIZER" not in rendered["plain.ics"]
    noc = rendered["noc.ics"]
    lint(noc)
    assert [uid for uid, _, _ in parse_three(noc)] == ["db-1@status.example.com", "db-2@status.example.com",
                                                      "db-3@status.example.com"]
    assert b"X-MAINTNOTE-ACCOUNT:finance\\;dept\r\n" in noc  # TEXT escaped: no property injection
    assert noc == feeds(config_of(CONFIG))["noc.ics"]  # the same bytes for the same input


def test_circuit_maintenance_parser_reads_the_feed(config_of: Callable[[str], Config], tmp_path: Path) -> None:
    if not (TOOL / ".installed").exists():
        pytest.skip("circuit-maintenance-parser is not installed in .tools/maintnote: run `make maintnote` "
                    "(it needs PyPI)")
    path = tmp_path / "noc.ics"
    path.write_bytes(feeds(config_of(CONFIG))["noc.ics"])
    found = json.loads(subprocess.run([str(PARSER), "-c", READ, str(path)], capture_output=True, text=True,
                                      check=True, timeout=120).stdout)
    got = sorted((m["maintenance_id"], m["provider"], m["account"], m["status"], m["start"], m["end"],
                  m["organizer"], [(c["circuit_id"], c["impact"]) for c in m["circuits"]]) for m in found)
    start = int(datetime(2026, 12, 5, 14, tzinfo=UTC).timestamp())
    week = 7 * 86400
    assert got == [
        ("db-1", "status.example.com", "finance;dept", "CONFIRMED", start, start + 4 * 3600,
         "mailto:ops@example.com", [("核心数据库", "DEGRADED")]),
        ("db-2", "status.example.com", "finance;dept", "TENTATIVE", start + week, start + week + 4 * 3600,
         "mailto:ops@example.com", [("核心数据库", "DEGRADED")]),
        ("db-3", "status.example.com", "finance;dept", "CANCELLED", start + 2 * week, start + 2 * week + 4 * 3600,
         "mailto:ops@example.com", [("核心数据库", "DEGRADED")]),
    ]

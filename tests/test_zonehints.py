"""What people write for a time zone, and the zone they mean (issue 23): UTC+8, GMT+8, CST, Beijing,
Asia/Beijing and +08:00 point at Asia/Shanghai (or the Etc/GMT-8 form), never at UTC, GMT+0, UCT or
Asia/Brunei; the same for the common wrong inputs of other regions."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from outage_daemon.core.errors import ConfigError
from outage_daemon.core.zonehints import hint
from outage_daemon.loader import load

NEVER = ("UTC?", "GMT+0", "UCT", "Asia/Brunei", "Etc/GMT+8")  # what a spelling match offers for China's time
CASES = [  # (what people write, the zone the hint must name first, what it must never name)
    ("UTC+8", "Asia/Shanghai", NEVER), ("GMT+8", "Asia/Shanghai", NEVER), ("CST", "Asia/Shanghai", NEVER),
    ("Beijing", "Asia/Shanghai", NEVER), ("Asia/Beijing", "Asia/Shanghai", NEVER),
    ("+08:00", "Asia/Shanghai", NEVER), ("UTC+08:00", "Asia/Shanghai", NEVER), ("gmt+0800", "Asia/Shanghai", NEVER),
    ("Beijing Time", "Asia/Shanghai", NEVER), ("China Standard Time", "Asia/Shanghai", NEVER),
    ("北京时间", "Asia/Shanghai", NEVER), ("Asia/Chongqing ", "Asia/Shanghai", NEVER),
    ("Hong Kong", "Asia/Hong_Kong", ()), ("JST", "Asia/Tokyo", ()), ("Tokyo", "Asia/Tokyo", ()),
    ("KST", "Asia/Seoul", ()), ("Singapore Time", "Asia/Singapore", ()),
    ("IST", "Asia/Kolkata", ()), ("Asia/Mumbai", "Asia/Kolkata", ()), ("UTC+5:30", "Asia/Kolkata", ()),
    ("Asia/New_Delhi", "Asia/Kolkata", ()),
    ("PST", "America/Los_Angeles", ()), ("America/San_Francisco", "America/Los_Angeles", ()),
    ("Eastern", "America/New_York", ()), ("EDT", "America/New_York", ()), ("GMT-5", "America/New_York", ()),
    ("CDT", "America/Chicago", ()),
    ("CEST", "Europe/Berlin", ()), ("Europe/Frankfurt", "Europe/Berlin", ()), ("BST", "Europe/London", ()),
    ("MSK", "Europe/Moscow", ()), ("AEST", "Australia/Sydney", ()), ("Sydney", "Australia/Sydney", ()),
    ("BRT", "America/Sao_Paulo", ()), ("Asia/Shangai", "Asia/Shanghai", NEVER),
]


@pytest.mark.parametrize(("text", "meant", "never"), [pytest.param(*c, id=c[0]) for c in CASES])
def test_the_hint_names_the_zone_people_mean(text: str, meant: str, never: tuple[str, ...]) -> None:
    said = hint(text)
    assert said.startswith(f"did you mean {meant}"), said
    for wrong in never:
        assert wrong.rstrip("?") + "?" not in said and f" {wrong.rstrip('?')} " not in said, said


def test_an_offset_also_offers_the_fixed_zone_with_its_reversed_sign() -> None:
    assert "write Etc/GMT-8 (its sign is reversed)" in hint("UTC+8")
    assert "write Etc/GMT+5" in hint("GMT-5")
    assert hint("+14:00").startswith("For a fixed UTC+14") and "Etc/GMT-14" in hint("+14:00")


def test_check_says_it_in_the_config_and_import_notice_too(write: Callable[..., Path], tmp_path: Path) -> None:
    path = write("timezone: UTC+8\n")
    with pytest.raises(ConfigError) as info:
        load(str(path))
    [problem] = info.value.problems
    assert "unknown time zone 'UTC+8'" in problem.message and problem.hint is not None
    assert problem.hint.startswith("did you mean Asia/Shanghai?")
    notice = tmp_path / "n.txt"
    notice.write_text("系统将于2026年12月6日02:00至04:00停机。", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "outage_daemon", "import-notice", str(notice), "--timezone",
                             "Asia/Beijing"], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2 and "did you mean Asia/Shanghai?" in result.stderr, result.stderr

"""import-notice on a corpus of notices written in the styles of real ones (tests/notices/*.txt).

Each file holds its expectations, then a line ``=====``, then the notice. Every window must be found,
none invented, and each warning expected (the contradiction warning only where the notice contradicts
itself). The case id is the file name, which says what the case tests.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from outage_daemon.core.timerules import zone
from outage_daemon.notices import FoundWindow, read

CORPUS = Path(__file__).parent / "notices"
TODAY = date(2024, 2, 1)  # "today" for cases that do not set one: relative days need a reference
# Every pattern issue 13 lists, as tags; each must be exercised by at least one case.
PATTERNS = {
    "heading", "label", "table", "next-sentence", "rescheduled", "cancelled", "zone-utc", "zone-gmt-offset",
    "zone-beijing", "zone-cst-name", "zone-et", "zone-pt", "zone-cet", "zone-before", "zone-after", "two-zones",
    "default-zone", "relative-own-date", "relative-published", "relative-today", "cn-numerals", "periods",
    "12-hour", "day-range", "day-list", "day-only-end", "dangwan", "multi-system", "system-from-title",
    "contradiction", "no-contradiction", "weekday-en", "fullwidth-source", "nightly", "english", "chinese",
}


# Each notice holds at least one distractor of these kinds (a rough check that none is easy).
DISTRACTORS = re.compile(
    r"热线|电话|客服|详询|技术支持|工作日|发送|值班|工作时间|营业时间|开放时间|服务时间|截止|前完成|前提交|前办理|前(?:，|。)|延长|发布|上次|已于|"
    r"^[一二三四五六七八九十]+、|^\d+\.\d+|^\S*\d{4}年\d{1,2}月\d{1,2}日\s*$|^\d{4}年|"
    r"hours|support|Support|deadline|before|by \d|\bby (?:Friday|Monday)|extended|Posted|Date:|incident|Incident|"
    r"call|Call|desk|Desk|available|Contact|hotline|webinar|due|Last month|went smoothly|must be|Uptime", re.MULTILINE)


def load(path: Path) -> tuple[dict[str, Any], str]:
    """Return a corpus file's expectations and its notice text."""
    head, _, text = path.read_text(encoding="utf-8").partition("\n=====\n")
    return yaml.safe_load(head), text


CASES = [pytest.param(p, id=p.stem) for p in sorted(CORPUS.glob("*.txt"))]


def shown(window: FoundWindow, tz: str) -> list[str]:
    """Return a window as the corpus writes it: local times in the case's zone, or dates for all-day."""
    if window.all_day:
        return [f"{window.start:%Y-%m-%d}", f"{window.end - timedelta(days=1):%Y-%m-%d}"]
    z = zone(tz)
    return [f"{window.start.astimezone(z):%Y-%m-%d %H:%M}", f"{window.end.astimezone(z):%Y-%m-%d %H:%M}"]


def expected_windows(spec: dict[str, Any]) -> list[list[str]]:
    return [[str(x) for x in w] for w in spec.get("windows") or []]


def reading_of(spec: dict[str, Any], text: str) -> Any:
    published = spec.get("published")
    return read(text, zone(spec.get("timezone", "Asia/Shanghai")), TODAY.year, published=published,
                today=spec.get("today", TODAY))


@pytest.mark.parametrize("path", CASES)
def test_corpus(path: Path) -> None:
    spec, text = load(path)
    tz = spec.get("timezone", "Asia/Shanghai")
    reading = reading_of(spec, text)
    want = expected_windows(spec)
    got = [shown(w, tz) + ([w.system or reading.system or ""] if any(len(x) == 3 for x in want) else [])
           for w in reading.windows]
    assert got == want, reading.warnings  # a case that names one window's system names them all
    contradictions = [w for w in reading.warnings if "different schedules" in w]
    assert len(contradictions) == (1 if spec.get("contradiction") else 0), reading.warnings
    others = [w for w in reading.warnings if "different schedules" not in w]
    fragments = spec.get("warnings") or []
    for fragment in fragments:
        assert any(fragment in w for w in others), (fragment, others)
    assert len(others) == len(fragments), others
    for fragment in spec.get("source") or []:
        assert any(fragment in s for w in reading.windows for s in w.sources), [w.sources for w in reading.windows]
    if spec.get("system"):
        assert reading.system == spec["system"]


def test_corpus_covers_the_issue() -> None:
    """At least 60 cases, Chinese and English, every pattern of the issue; the figures for the closing note."""
    specs = [load(p)[0] for p in sorted(CORPUS.glob("*.txt"))]
    assert len(specs) >= 60
    tags = {t for s in specs for t in s.get("tags", [])}
    missing = PATTERNS - tags
    assert not missing, missing
    plain = [p.stem for p in sorted(CORPUS.glob("*.txt")) if not DISTRACTORS.search(load(p)[1])]
    assert not plain, plain
    expected = sum(len(s.get("windows") or []) for s in specs)
    found = false = warned = 0
    for path in sorted(CORPUS.glob("*.txt")):
        spec, text = load(path)
        want = [w[:2] for w in expected_windows(spec)]
        reading = reading_of(spec, text)
        got = [shown(w, spec.get("timezone", "Asia/Shanghai")) for w in reading.windows]
        found += sum(1 for w in want if w in got)
        false += sum(1 for w in got if w not in want)
        warned += any("different schedules" in w for w in reading.warnings)
    contradictions = sum(1 for s in specs if s.get("contradiction"))
    chinese = sum(1 for s in specs if "chinese" in s.get("tags", []))
    print(f"corpus: {len(specs)} notices ({chinese} Chinese, {len(specs) - chinese} English), {expected} windows "
          f"expected, {found} found, {false} false; contradiction warnings: {warned} given, {contradictions} expected")
    assert (found, false, warned) == (expected, 0, contradictions)

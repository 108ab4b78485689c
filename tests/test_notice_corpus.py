"""import-notice on a corpus of notices written in the styles of real ones (tests/notices/*.txt).

Each file holds its expectations, then a line ``=====``, then the notice. Every window must be found,
none invented, and each warning expected (the contradiction warning only where the notice contradicts
itself). The case id is the file name, which says what the case tests.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from outage_daemon.core.timerules import zone
from outage_daemon.notices import FoundWindow, read
from outage_daemon.notices.sources import document

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
    r"办公时间|申报期|熱線|^[一二三四五六七八九十]+、|^\d+\.\d+|^\S*\d{4}年\d{1,2}月\d{1,2}日\s*$|^\d{4}年|"
    r"hours|support|Support|deadline|before|by \d|\bby (?:Friday|Monday)|extended|Posted|Date:|incident|Incident|"
    r"call|Call|desk|Desk|available|Contact|hotline|webinar|due|Last month|went smoothly|must be|Uptime", re.MULTILINE)


def load(path: Path) -> tuple[dict[str, Any], str]:
    """Return a corpus file's expectations and its notice text."""
    head, _, text = path.read_text(encoding="utf-8").partition("\n=====\n")
    return yaml.safe_load(head), text


CASES = [pytest.param(p, id=p.stem) for p in sorted(CORPUS.glob("*.txt"))]


def shown(window: FoundWindow, tz: str) -> list[str]:
    """Return a window as the corpus writes it: local times in the case's zone, or dates for all-day;
    then its repeat rule, if any."""
    rule = [window.repeat] if window.repeat else []
    if window.all_day:
        return [f"{window.start:%Y-%m-%d}", f"{window.end - timedelta(days=1):%Y-%m-%d}", *rule]
    z = zone(tz)
    return [f"{window.start.astimezone(z):%Y-%m-%d %H:%M}", f"{window.end.astimezone(z):%Y-%m-%d %H:%M}", *rule]


def expected_windows(spec: dict[str, Any]) -> list[list[str]]:
    return [[str(x) for x in w] for w in spec.get("windows") or []]


def reading_of(spec: dict[str, Any], text: str) -> Any:
    """Read a case's notice; an email (``kind: email``) as import-notice reads one, its Date: header kept."""
    published = spec.get("published")
    dated = None
    if spec.get("kind") == "email":
        doc = document(text.encode(), "notice.eml")
        text, dated = doc.text, doc.dated
    return read(text, zone(spec.get("timezone", "Asia/Shanghai")), TODAY.year, published=published,
                today=spec.get("today", TODAY), dated=dated)


@pytest.mark.parametrize("path", CASES)
def test_corpus(path: Path) -> None:
    spec, text = load(path)
    tz = spec.get("timezone", "Asia/Shanghai")
    reading = reading_of(spec, text)
    want = expected_windows(spec)
    named = any(len(x) == 3 and not x[2].startswith("FREQ=") for x in want)
    got = [shown(w, tz) + ([w.system or reading.system or ""] if named else []) for w in reading.windows]
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
        want = [w[:2] + [x for x in w[2:] if x.startswith("FREQ=")] for w in expected_windows(spec)]
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


# Text that writes a time of day, told apart independently of the reader's tokenizer.
_TIMED = re.compile(r"\d\s*(?:[:：.hH]\s*\d\d|[点时]|[ap]\.?m)|[一二三四五六七八九十]\s*[点时](?!间|段)|"
                    r"凌晨|上午|中午|下午|晚上|晚间|夜间|深夜|每晚|当晚|今晚|明晚|\b(?:night|evening|morning|noon)\b",
                    re.IGNORECASE)
_ALL_DAY = re.compile(r"全天|整天|all day|whole day|entire day", re.IGNORECASE)
_MIDNIGHT = re.compile(r"\b0?0[:：.]00|24[:：]00|\b0\s*[点时]|24\s*[点时]|零[点时]|二十四时|midnight|午夜", re.IGNORECASE)


@pytest.mark.parametrize("path", CASES)
def test_no_whole_day_window_unless_stated(path: Path) -> None:
    """No window from midnight to midnight unless the notice says so: "all day"/全天, dates only (no time
    written beside them), or midnight written as a time (00:00, 24:00)."""
    spec, text = load(path)
    tz = zone(spec.get("timezone", "Asia/Shanghai"))
    for window in reading_of(spec, text).windows:
        said = " ".join(window.sources)
        if window.all_day:
            assert _ALL_DAY.search(said) or not _TIMED.search(said), (said, window)
        elif window.start.astimezone(tz).time() == window.end.astimezone(tz).time() == datetime.min.time():
            assert _MIDNIGHT.search(said), (said, window)

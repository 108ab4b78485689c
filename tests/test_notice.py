"""import-notice: the shared notice, and two dozen phrasings of our own (Chinese and English)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from outage_daemon import notices as notice
from outage_daemon.core.timerules import zone
from outage_daemon.loader import load

SHANGHAI = zone("Asia/Shanghai")
SHARED = ROOT.parent / "shared" / "data" / "notice-xian-vat-2023.txt"

# (notice, zone, expected windows as (start, end) in local "YYYY-MM-DD HH:MM" or dates for all-day,
#  expected warning fragments)
CASES = [
    pytest.param("系统将于2024年3月2日(周六)22:00至3月3日06:00停机维护。", "Asia/Shanghai",
                 [("2024-03-02 22:00", "2024-03-03 06:00")], [], id="cn-colon-times-month-day-end"),
    pytest.param("2024年3月2日(星期日)晚上8点至10点进行升级维护。", "Asia/Shanghai",
                 [("2024-03-02 20:00", "2024-03-02 22:00")], ["2024-03-02 is a 周六, the notice says 周日"],
                 id="cn-wrong-weekday-evening-carries-over"),
    pytest.param("请于2024年3月1日17:00前完成开票业务，系统将于3月2日22:00至3月3日6:00停机。", "Asia/Shanghai",
                 [("2024-03-02 22:00", "2024-03-03 06:00")], [], id="cn-deadline-is-not-a-window"),
    pytest.param("停机期间，服务大厅工作时间为每日上午9点至下午5点，周末及节假日照常营业。", "Asia/Shanghai",
                 [], [], id="cn-office-hours"),
    pytest.param("2024年12月31日22:00至次年1月1日2:00系统停机升级。", "Asia/Shanghai",
                 [("2024-12-31 22:00", "2025-01-01 02:00")], [], id="cn-next-year"),
    pytest.param("2024年12月30日起至1月2日系统暂停服务。", "Asia/Shanghai",
                 [("2024-12-30", "2025-01-02")], [], id="cn-dates-across-year-end"),
    pytest.param("２０２４年５月１日　０８：００～１２：００　系统维护。", "Asia/Shanghai",
                 [("2024-05-01 08:00", "2024-05-01 12:00")], [], id="cn-full-width"),
    pytest.param("2024年6月1日20时至24时停机。", "Asia/Shanghai",
                 [("2024-06-01 20:00", "2024-06-02 00:00")], [], id="cn-shi-and-24"),
    pytest.param("2024年6月8日晚上9点半至11点半，网银系统暂停服务。", "Asia/Shanghai",
                 [("2024-06-08 21:30", "2024-06-08 23:30")], [], id="cn-half-past"),
    pytest.param("2024年7月1日中午12点至下午2点系统升级。", "Asia/Shanghai",
                 [("2024-07-01 12:00", "2024-07-01 14:00")], [], id="cn-noon"),
    pytest.param("自2024年8月3日0时起至2024年8月4日24时止，电子税务局停机维护。", "Asia/Shanghai",
                 [("2024-08-03 00:00", "2024-08-05 00:00")], [], id="cn-zi-qi-zhi"),
    pytest.param("2024年9月8日(礼拜天)凌晨2:00—6:00 核心系统停机。", "Asia/Shanghai",
                 [("2024-09-08 02:00", "2024-09-08 06:00")], [], id="cn-libaitian-dash"),
    pytest.param("系统将于2024年10月12日22:00开始停机维护。预计于2024年10月13日08:00恢复服务。", "Asia/Shanghai",
                 [("2024-10-12 22:00", "2024-10-13 08:00")], [], id="cn-start-and-restore-sentences"),
    pytest.param("一、停机时间：2024年11月2日 22:00 至 2024年11月3日 04:00。\n六、停机时间表：2024年11月2日22:00至11月3日4:00。",
                 "Asia/Shanghai", [("2024-11-02 22:00", "2024-11-03 04:00")], [], id="cn-stated-twice"),
    pytest.param("6.11 如有疑问请拨打12366或029-87654321。\n系统将于2024年11月9日23:00至11月10日1:00维护。", "Asia/Shanghai",
                 [("2024-11-09 23:00", "2024-11-10 01:00")], [], id="cn-phone-and-section-numbers"),
    pytest.param("发布时间：2024-11-01 10:30:00 admin\n系统将于2024-11-16 22:00至2024-11-17 02:00停机维护。",
                 "Asia/Shanghai", [("2024-11-16 22:00", "2024-11-17 02:00")], [], id="cn-publication-stamp"),
    pytest.param("系统将于2024年12月7日22:00至12月8日6:00停机。另据通知，停机时间调整为2024年12月14日22:00至12月15日6:00。",
                 "Asia/Shanghai", [("2024-12-07 22:00", "2024-12-08 06:00"), ("2024-12-14 22:00", "2024-12-15 06:00")],
                 ["the notice gives 2 different schedules"], id="cn-contradiction"),
    pytest.param("计划于2024年5月1日开始升级，预计5月3日完成。", "Asia/Shanghai",
                 [("2024-05-01", "2024-05-03")], [], id="cn-begin-finish-dates"),
    pytest.param("系统将于2024年5月5日10:00至2024年5月4日12:00停机。", "Asia/Shanghai",
                 [], ["end is not after its start"], id="cn-end-before-start"),
    pytest.param("系统将于2024年6月15日22:00至06:00停机。", "Asia/Shanghai",
                 [("2024-06-15 22:00", "2024-06-16 06:00")], ["as the next day"], id="cn-two-readings"),
    pytest.param("2024年7月6日凌晨两点至四点系统升级。", "Asia/Shanghai",
                 [("2024-07-06 02:00", "2024-07-06 04:00")], [], id="cn-numerals"),
    pytest.param("2024年10月15日至16日系统升级停机。", "Asia/Shanghai",
                 [("2024-10-15", "2024-10-16")], [], id="cn-day-only-end"),
    pytest.param("2024年10月15日22时至16日6时停机维护。", "Asia/Shanghai",
                 [("2024-10-15 22:00", "2024-10-16 06:00")], [], id="cn-day-only-end-with-time"),
    pytest.param("2024年1月31日晚10点至2日早6点核心系统停机。", "Asia/Shanghai",
                 [("2024-01-31 22:00", "2024-02-02 06:00")], [], id="cn-wan-zao-next-month"),
    pytest.param("The invoice service will be unavailable from 10:00 PM on October 15, 2023 to 6:00 AM the next day.",
                 "Asia/Shanghai", [("2023-10-15 22:00", "2023-10-16 06:00")], [], id="en-pm-next-day"),
    pytest.param("Scheduled maintenance: Saturday, March 2, 2024, 22:00 - 23:30.", "UTC",
                 [("2024-03-02 22:00", "2024-03-02 23:30")], [], id="en-24h-dash"),
    pytest.param("Maintenance window: Friday, March 2, 2024 from 9 pm to 11 pm.", "Europe/Berlin",
                 [("2024-03-02 21:00", "2024-03-02 23:00")], ["is a 周六, the notice says 周五"], id="en-wrong-weekday"),
    pytest.param("The portal will be offline from 1 May 2024 through 3 May 2024.", "Asia/Shanghai",
                 [("2024-05-01", "2024-05-03")], [], id="en-dates-through"),
    pytest.param("Please submit invoices before March 1, 2024. The system will be down between March 2, 2024 22:00 "
                 "and March 3, 2024 02:00.", "Asia/Shanghai", [("2024-03-02 22:00", "2024-03-03 02:00")], [],
                 id="en-deadline-and-between"),
    pytest.param("Our office hours are 9 am to 5 pm every day.", "Asia/Shanghai", [], [], id="en-office-hours"),
    pytest.param("Downtime: Dec 30, 2024 11 PM until Jan 2 2 AM.", "America/New_York",
                 [("2024-12-30 23:00", "2025-01-02 02:00")], [], id="en-year-end"),
]


def shown(window: notice.FoundWindow) -> tuple[str, str]:
    if window.all_day:
        from datetime import timedelta
        return f"{window.start:%Y-%m-%d}", f"{window.end - timedelta(days=1):%Y-%m-%d}"
    return f"{window.start:%Y-%m-%d %H:%M}", f"{window.end:%Y-%m-%d %H:%M}"


@pytest.mark.parametrize(("text", "tz", "windows", "warnings"), CASES)
def test_phrasings(text: str, tz: str, windows: list[tuple[str, str]], warnings: list[str]) -> None:
    reading = notice.read(text, zone(tz), 2026)
    assert [shown(w) for w in reading.windows] == windows
    for fragment in warnings:
        assert any(fragment in w for w in reading.warnings), reading.warnings
    assert len(reading.warnings) == len(warnings), reading.warnings


@pytest.mark.skipif(not SHARED.exists(), reason="../shared/data is not beside this checkout")
def test_the_shared_notice() -> None:
    reading = notice.read(SHARED.read_text(encoding="utf-8"), SHANGHAI, 2026)
    assert reading.system == "西安增值税发票管理系统"
    assert [(shown(w), len(w.sources)) for w in reading.windows] == [
        (("2023-10-10 00:00", "2023-10-13 00:00"), 2),  # stated, then "恢复" at 24:00
        (("2023-10-01 00:00", "2023-10-08 00:00"), 2),  # "10月1日开始…10月7日完成" and "00:00 至 24:00" in 6.11
        (("2023-10-15 22:00", "2023-10-16 06:00"), 2),  # with 次日凌晨6点, and the 周一凌晨6点 restore sentence
    ]
    [warning] = reading.warnings
    assert warning.startswith("the notice gives 3 different schedules for 西安增值税发票管理系统")


@pytest.mark.skipif(not SHARED.exists(), reason="../shared/data is not beside this checkout")
def test_cli_output_is_accepted_by_check(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "outage_daemon", "import-notice", str(SHARED), "--prefix", "vat"],
                            capture_output=True, text=True, timeout=60, check=True)
    assert "3 different schedules" in result.stderr
    config = tmp_path / "cfg.yaml"
    config.write_text("timezone: Asia/Shanghai\n" + result.stdout, encoding="utf-8")
    windows = load(str(config)).windows
    assert [w.id for w in windows] == ["vat-2023-10-10", "vat-2023-10-01", "vat-2023-10-15"]
    assert {w.status for w in windows} == {"tentative"} and all(w.source for w in windows)
    assert yaml.safe_load(result.stdout)["windows"][2]["end"] == "2023-10-16 06:00+08:00"


def test_cli_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("这份通知没有时间。", encoding="utf-8")
    run = [sys.executable, "-m", "outage_daemon", "import-notice"]
    none = subprocess.run([*run, str(empty)], capture_output=True, text=True, timeout=60, check=False)
    assert none.returncode == 1 and "no outage window found" in none.stderr
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\x80\xff\x80\xff" * 8)  # neither UTF-8, GB18030 nor Big5
    bad = subprocess.run([*run, str(binary)], capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 1 and "neither UTF-8, GB18030 nor Big5" in bad.stderr and "Traceback" not in bad.stderr
    zone_error = subprocess.run([*run, str(empty), "--timezone", "Mars/Base"], capture_output=True, text=True,
                                timeout=60, check=False)
    assert zone_error.returncode == 2

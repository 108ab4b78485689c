"""The reader never raises and never returns a window that ends before it starts, whatever the text."""

from __future__ import annotations

import re
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from outage_daemon.core.timerules import zone
from outage_daemon.notices import read

PIECES = ["2024年2月30日", "2月29日", "13月5日", "0月0日", "25:00", "24:30", "24:00", "00:00", "至", "到", "-", "—",
          "次日", "当晚", "明晚", "下下周日", "周八", "星期天", "December 31, 2099", "Feb 30", "31st", "12pm", "0am",
          "13pm", "UTC+15", "GMT-12", "北京时间", "停机维护", "maintenance", "取消", "改为", "原定", "\n", "。", "，",
          "：", "|", "\t", "二〇二四年十三月四十日", "三十时", "九十九分", "2099-12-31 23:59", "3/31/2024", "31/12/2024",
          "for 99999 hours", "持续半小时", "each night", "每晚", "全天", "Start:", "End:", "When:", "moved from",
          "第一阶段", "1. ", "- ", "（", "）", "①", "Ｚ", "２２：００", "this Saturday", "next Monday", "tonight",
          "22h00", "日终", "overnight", "晚上", "二十三时", "this weekend", "6月下旬", "每周日", "自2024年7月起"]
# Text that writes a time of day (independent of the reader's patterns): an all-day window beside it is invented.
TIMED = re.compile(r"\d\s*(?:[:：hH]\s*\d\d|[点时]|[ap]m)|[一二三四五六七八九十]\s*[点时]|日终|overnight|晚上|每晚|当晚|"
                   r"明晚|tonight", re.IGNORECASE)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=30), st.sampled_from(["UTC", "Asia/Shanghai",
                                                                                     "America/New_York"]))
def test_reader_is_total(pieces: list[str], tz: str) -> None:
    reading = read("".join(pieces), zone(tz), 2024, today=date(2024, 12, 30))
    for window in reading.windows:
        assert window.end > window.start and window.sources
        said = " ".join(window.sources)
        assert not window.all_day or "全天" in said or not TIMED.search(said), said

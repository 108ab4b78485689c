"""import-notice on hostile inputs (issue 22, item 6): lists of dates, one time range repeated, a
text of megabytes. Each figure is the median of a few runs of the whole command (a process per run,
its peak memory from the kernel), next to the baseline of an ordinary notice measured in the same run;
two sizes of each input show how the cost grows (near-linear: the time ratio stays near the size
ratio, or flat once the input passes the reader's bounds).

    python bench/notice_bench.py            # the full run (about a minute)
    python bench/notice_bench.py --quick    # the small sizes only

Not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTICE = ("关于网上银行系统升级的公告\n我行将于2024年3月9日22:00至3月10日06:00对网上银行系统进行升级，期间暂停服务。"
          "客服热线95xxx（工作日9:00-17:00）。\n")


def dates(size: int) -> str:
    """A list of dates ("2024年1月1日、2024年1月2日、…") of about ``size`` bytes, one time range after it."""
    out: list[str] = []
    day, length = date(2024, 1, 1), 0
    while length < size:
        out.append(f"{day.year}年{day.month}月{day.day}日")
        length += len(out[-1].encode()) + 3
        day += timedelta(days=1)
    return "关于系统维护的通知\n系统将于" + "、".join(out) + "22:00至次日06:00停机维护。\n"


def repeated(count: int) -> str:
    """One time range written ``count`` times in one sentence."""
    return "关于系统维护的通知\n2024年3月9日" + "22:00至23:00，" * count + "系统停机维护。\n"


def text(size: int) -> str:
    """An ordinary notice repeated to about ``size`` bytes."""
    return NOTICE * (size // len(NOTICE.encode()) + 1)


def run_once(path: Path) -> tuple[float, int]:
    """Run import-notice on the file in a process of its own; return its seconds and peak RSS in KiB."""
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "outage_daemon", "import-notice", str(path)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    _, _, usage = os.wait4(child.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss


def measure(path: Path, repeat: int) -> tuple[float, int]:
    """Return the median seconds and the largest peak RSS (KiB) of ``repeat`` runs."""
    runs = [run_once(path) for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), max(r[1] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the small sizes only")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cases: list[tuple[str, Callable[[int], str], list[int]]] = [
        ("list of dates, bytes", dates, [27_000] if args.quick else [27_000, 110_000]),
        ("one time range, repetitions", repeated, [25_000] if args.quick else [25_000, 100_000]),
        ("notice text, bytes", text, [2_000_000] if args.quick else [2_000_000, 8_000_000]),
    ]
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    with tempfile.TemporaryDirectory() as folder:
        base_path = Path(folder) / "baseline.txt"
        base_path.write_text(NOTICE, encoding="utf-8")
        base, base_rss = measure(base_path, args.repeat)
        print(f"{'input':<34} {'size':>10} {'median s':>9} {'× baseline':>10} {'peak MiB':>9}")
        print(f"{'baseline: an ordinary notice':<34} {len(NOTICE.encode()):>10,} {base:>9.2f} {1:>10.1f} "
              f"{base_rss / 1024:>9.0f}")
        for name, make, sizes in cases:
            for size in sizes:
                path = Path(folder) / f"{make.__name__}-{size}.txt"
                path.write_text(make(size), encoding="utf-8")
                seconds, rss = measure(path, args.repeat)
                print(f"{name:<34} {size:>10,} {seconds:>9.2f} {seconds / base:>10.1f} {rss / 1024:>9.0f}")


if __name__ == "__main__":
    main()

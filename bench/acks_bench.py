"""What personal confirmation links cost when a reminder is recorded: one body composed around a stand-in
link, each recipient's link signed and put in. Baseline: the same audience without ``acknowledge``
(one shared body, no link), in the same run.

    python bench/acks_bench.py [RECIPIENTS]

Not a test: prints medians of five renderings and their ratio.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from outage_daemon.core.decide import decide
from outage_daemon.core.kinds import Kind
from outage_daemon.core.planner import plan
from outage_daemon.loader import load
from outage_daemon.pipeline import Notifier


async def median_render(recipients: int, acknowledge: bool) -> float:
    """Return the median seconds the notifier takes to render one at_stop email for everyone."""
    folder = Path(tempfile.mkdtemp())
    (folder / "ack.key").write_text("0123456789abcdef\n")
    people = ", ".join(f"u{i:05}@example.com" for i in range(recipients))
    (folder / "c.yaml").write_text(f"""timezone: UTC
calendar: {{base_url: https://status.example.com}}
acknowledge: {{key_file: ack.key}}
audiences: {{all: {{email: [{people}], acknowledge: {str(acknowledge).lower()}}}}}
windows:
  - {{id: w, system: 发票系统, start: 2030-03-08 10:00, end: 2030-03-08 11:00}}
""")
    config = load(str(folder / "c.yaml"))
    window = config.windows[0]
    [reminder] = [r for r in plan(config, window.start - timedelta(days=2), window.end) if r.kind is Kind.AT_STOP]
    [notification], _ = decide([reminder], set(), reminder.due)
    notifier = Notifier.open(config, str(folder), lambda: reminder.due)
    times = []
    try:
        for _ in range(5):
            started = time.perf_counter()
            notifier.deliveries(notification, reminder.due)
            times.append(time.perf_counter() - started)
    finally:
        await notifier.close()
    return statistics.median(times)


def main() -> None:
    recipients = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    shared = asyncio.run(median_render(recipients, False))
    personal = asyncio.run(median_render(recipients, True))
    print(f"{recipients} recipients, one at_stop email: shared body {shared * 1000:.1f} ms, "
          f"personal links {personal * 1000:.1f} ms ({personal / recipients * 1000:.2f} ms each), "
          f"ratio {personal / shared:.1f}x")


if __name__ == "__main__":
    main()

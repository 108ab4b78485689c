"""`make screenshots`: the status page and one email (a reminder), phone and desktop, zh-CN and en,
as PNG in docs/screenshots/, from the demo config (tests/pagedemo.yaml) at its fixed time."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from browser import ROOT, Browser
from pageserver import NOW, Server, demo, email_html

from outage_daemon.core.kinds import Kind

OUT = ROOT / "docs" / "screenshots"
SIZES = {"phone": (390, 844), "desktop": (1280, 900)}


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    browser = Browser()
    with tempfile.TemporaryDirectory() as folder:
        try:
            for language in ("zh-CN", "en"):
                server = Server(demo(language, Path(folder)))
                mail = Path(folder) / f"email-{language}.html"
                mail.write_text(email_html(server.state.config, Kind.BEFORE_STOP), encoding="utf-8")
                for device, (width, height) in SIZES.items():
                    for name, url in (("page", server.url), ("email", mail.as_uri())):
                        browser.tab()
                        browser.size(width, height)
                        browser.open(url)
                        browser.advance(1500, NOW.timestamp())
                        path = OUT / f"{name}-{language}-{device}.png"
                        browser.screenshot(path, full=False)
                server.close()
        finally:
            browser.close()
    squeeze = shutil.which("pngquant")
    for path in sorted(OUT.glob("*.png")):
        if squeeze:  # optional: 256 colours keep text sharp at a third of the size
            subprocess.run([squeeze, "--force", "--skip-if-larger", "--strip", "--output", str(path), "256", str(path)],
                           check=False)
        print(f"{path.relative_to(ROOT)}  {path.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

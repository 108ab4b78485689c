"""The README's nginx recipe, as written, serving the feeds the daemon writes under the unit's
UMask=0027 into a folder made as systemd makes RuntimeDirectory= (0755): a real nginx whose workers
run as another user reads them. Skipped without nginx (CI installs Debian's) or without root."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from conftest import ROOT
from daemonproc import Daemon
from smtpsink import free_port, wait_for

from outage_daemon.core.timerules import UTC

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
pytestmark = pytest.mark.skipif(NGINX is None or os.geteuid() != 0, reason="needs nginx and root (workers as nobody)")


def recipe() -> str:
    """Return the nginx `location` block the README gives for --feeds-dir."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"<!-- nginx:start -->\n```nginx\n(.*?)```\n<!-- nginx:end -->", text, re.S)
    assert found, "the README's nginx recipe is missing its markers"
    return found.group(1)


@pytest.fixture
def runtime_dir() -> Iterator[Path]:
    """A folder as systemd makes /run/outage-daemon (RuntimeDirectoryMode=0755), under /tmp, which
    nginx's workers can enter (pytest's own temp folders are 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="outage-run-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def nginx_conf(prefix: Path, port: int, location: str) -> str:
    temp = " ".join(f"{kind}_temp_path {prefix}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""
user nobody nogroup;
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 16; }}
http {{
    access_log off;
    {temp}
    server {{
        listen 127.0.0.1:{port};
{location}
    }}
}}
"""


def fetch(url: str) -> tuple[int, str | None, bytes]:
    """GET a URL on loopback; return the status, the media type and the body (errors too)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:  # noqa: S310 - loopback only
            return reply.status, reply.headers["Content-Type"], reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read()


def test_readme_nginx_recipe_serves_every_link_the_page_and_messages_give(tmp_path: Path, runtime_dir: Path) -> None:
    """The static-publishing recipe matches the links: with base_url on nginx, every feed URL the page
    lists, the email's subscribe link (/#_subscribe) and a private feed (token checked) all work."""
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = tmp_path / "c.yaml"
    config.write_text(f"""timezone: Asia/Shanghai
audiences: {{team: {{email: [a@example.com]}}}}
calendar:
  base_url: {base}
  feeds: [{{name: finance, audiences: [team]}}, {{name: audit, token_env: OUTAGE_TEST_TOKEN}}]
windows:
  - {{id: w, system: 发票系统, start: {start:%Y-%m-%dT%H:%M:%S}Z, end: {start + timedelta(hours=2):%Y-%m-%dT%H:%M:%S}Z}}
""")
    old = os.umask(0o027)  # the unit's UMask=, inherited by the daemon
    try:
        daemon = Daemon(config, tmp_path / "state", watchdog_usec=None, feeds=runtime_dir,
                        env={"OUTAGE_TEST_TOKEN": "s3cret"})
    finally:
        os.umask(old)
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    conf = prefix / "nginx.conf"
    location = recipe().replace("/run/outage-daemon", str(runtime_dir)).replace("127.0.0.1:8080", f"127.0.0.1:{daemon.port}")
    conf.write_text(nginx_conf(prefix, port, location))
    assert NGINX is not None
    server = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(conf)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    try:
        assert daemon.read_notify("READY=1"), daemon.output()
        assert wait_for(lambda: (runtime_dir / "finance.ics").exists(), 30), daemon.output()
        assert sorted(p.name for p in runtime_dir.iterdir()) == ["calendar.ics", "finance.ics"]  # no private feed
        for name in ("calendar.ics", "finance.ics"):
            mode = stat.S_IMODE((runtime_dir / name).stat().st_mode)
            assert mode == 0o644, oct(mode)
        assert wait_for(lambda: fetch(f"{base}/calendar.ics")[0] == 200, 10)
        page = fetch(f"{base}/")[2].decode()
        assert 'id="_subscribe"' in page  # the messages' subscribe link lands on the page's section
        listed = sorted(set(re.findall(r"<code>(" + re.escape(base) + r"/[^<]*)</code>", page)))
        assert listed == [f"{base}/calendar.ics", f"{base}/feeds/finance.ics"], listed  # the private one is not shown
        for url, path in ((f"{base}/calendar.ics", "/calendar.ics"), (f"{base}/feeds/finance.ics", "/feeds/finance.ics")):
            status, kind, body = fetch(url)
            assert (status, kind) == (200, "text/calendar; charset=utf-8"), url
            assert body == daemon.get(path)[2], url  # the daemon's file, as the daemon serves it
        assert fetch(f"{base}/feeds/audit.ics")[0] == 403  # private: the daemon asks for its token
        assert fetch(f"{base}/feeds/audit.ics?token=s3cret")[0] == 200
        assert not [p for p in runtime_dir.iterdir() if p.is_dir()]  # no subfolder the UMask would close
    finally:
        server.terminate()
        _, err = server.communicate(timeout=10)
        assert daemon.stop() == 0
    assert b"Permission denied" not in err and "Permission denied" not in (prefix / "error.log").read_text()

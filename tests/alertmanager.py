"""A real Alertmanager for the tests: Debian's ``prometheus-alertmanager`` binary (``apt-get install
prometheus-alertmanager``; ``$OUTAGE_TEST_ALERTMANAGER`` names another), on a free loopback port, with
clustering off and a storage folder of its own. Tests that need it skip, saying so, when it is not
installed."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from typing import Any

import pytest
from smtpsink import end, free_port

CONFIG = """\
route:
  receiver: nobody
  group_wait: 1s
receivers:
  - name: nobody
"""


def hashed(password: str) -> str:
    """Given a password, return its bcrypt hash (the C library's crypt); skip when it has none."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt
        made = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))  # noqa: S324 - bcrypt, as Alertmanager wants
    except (ImportError, OSError, ValueError):
        made = None
    if not made or not made.startswith("$2"):
        pytest.skip("no bcrypt in this Python's crypt module: the basic-auth test needs it for Alertmanager's web config")
    return made


def binary() -> str | None:
    """Return the Alertmanager binary's path, or None."""
    named = os.environ.get("OUTAGE_TEST_ALERTMANAGER")
    if named:
        return named
    return shutil.which("prometheus-alertmanager") or shutil.which("alertmanager") or (
        "/usr/bin/prometheus-alertmanager" if os.access("/usr/bin/prometheus-alertmanager", os.X_OK) else None)


class AlertmanagerProcess:
    """``prometheus-alertmanager`` serving on 127.0.0.1 (under ``prefix``, if given) until :meth:`stop`."""

    def __init__(self, folder: Path, prefix: str = "", users: dict[str, str] | None = None) -> None:
        found = binary()
        if found is None:
            pytest.skip("Alertmanager is not installed: apt-get install prometheus-alertmanager "
                        "(or set OUTAGE_TEST_ALERTMANAGER to its binary)")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "alertmanager.yml").write_text(CONFIG)
        self.port = free_port()
        self.prefix = prefix
        self.url = f"http://127.0.0.1:{self.port}{prefix}"
        args = [found, f"--config.file={folder / 'alertmanager.yml'}", f"--storage.path={folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address=", "--log.level=warn"]
        if prefix:
            args.append(f"--web.route-prefix={prefix}")
        self.auth: dict[str, str] = {}
        if users:  # basic authentication (exporter-toolkit's web config: bcrypt hashes)
            lines = "".join(f"  {name}: '{hashed(password)}'\n" for name, password in users.items())
            (folder / "web.yml").write_text("basic_auth_users:\n" + lines)
            args.append(f"--web.config.file={folder / 'web.yml'}")
            name, password = next(iter(users.items()))
            self.auth = {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}
        self.log = open(folder / "alertmanager.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"alertmanager exited: {(folder / 'alertmanager.log').read_text()}")
            try:
                ready = urllib.request.Request(f"{self.url}/-/ready", headers=self.auth)  # noqa: S310
                with urllib.request.urlopen(ready, timeout=2) as answer:  # noqa: S310 - loopback
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("alertmanager did not become ready in 30 s")

    def api(self, method: str, path: str, doc: Any = None) -> Any:
        """Call ``/api/v2`` + path; return the JSON answer (None when empty)."""
        data = json.dumps(doc).encode() if doc is not None else None
        request = urllib.request.Request(f"{self.url}/api/v2{path}", data=data, method=method,  # noqa: S310
                                         headers={"Content-Type": "application/json", **self.auth})
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
            body = answer.read()
        return json.loads(body) if body.strip() else None

    def silences(self, state: str | None = None) -> list[dict[str, Any]]:
        """Return the silences (only those in ``state``: active, pending or expired, if given)."""
        found: list[dict[str, Any]] = self.api("GET", "/silences")
        return [s for s in found if state is None or s["status"]["state"] == state]

    def stop(self) -> None:
        end(self.process)
        self.log.close()

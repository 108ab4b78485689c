"""Real CalDAV servers for the tests, each in a subprocess on 127.0.0.1 with one calendar collection
made with the ``caldav`` client: Radicale (with HTTP Basic auth) and Xandikos."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from caldav.davclient import DAVClient
from smtpsink import end, free_port

USER, PASSWORD = "finance", "s3cret pass"
SERVERS = ("radicale", "xandikos")


@dataclass
class DavServer:
    """A running server: its kind, process, and the URL of its calendar collection."""

    kind: str
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def client(self) -> Any:
        return DAVClient(url=self.url, username=USER, password=PASSWORD, enable_rfc6764=False)

    def calendar(self) -> Any:
        """Return the collection as the caldav library sees it (to read back what it holds)."""
        return self.client().calendar(url=self.url)

    def stop(self) -> None:
        end(self.process)


def start(kind: str, folder: Path) -> DavServer:
    """Given a server kind and an empty folder, start it on a free loopback port, make a calendar
    and return it; raise RuntimeError (with its log) when it does not come up within 20 s."""
    port = free_port()
    data, log = folder / "data", folder / f"{kind}.log"
    data.mkdir(parents=True)
    passwords = folder / "htpasswd"
    if kind == "radicale":
        passwords.write_text(f"{USER}:{PASSWORD}\n")
        command = [sys.executable, "-m", "radicale", "--server-hosts", f"127.0.0.1:{port}",
                   "--storage-filesystem-folder", str(data), "--auth-type", "htpasswd",
                   "--auth-htpasswd-filename", str(passwords), "--auth-htpasswd-encryption", "plain",
                   "--logging-level", "warning"]
        collection = f"/{USER}/finance/"
    else:  # Xandikos refuses Basic auth over plain HTTP (it belongs in the proxy in front): none here
        command = [sys.executable, "-m", "xandikos", "serve", "-d", str(data), "-l", "127.0.0.1", "-p", str(port),
                   "--autocreate", "--no-detect-systemd"]
        collection = "/user/calendars/finance/"
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}{collection}"
    server = DavServer(kind, process, url, log)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.1)
    else:
        server.stop()
        raise RuntimeError(f"{kind} did not start: {log.read_text()}")
    if process.poll() is not None:
        raise RuntimeError(f"{kind} exited: {log.read_text()}")
    dav = server.client()
    response = dav.request(url, "MKCALENDAR", "")
    if response.status not in (200, 201):
        server.stop()
        raise RuntimeError(f"{kind}: MKCALENDAR {url}: HTTP {response.status}: {log.read_text()}")
    return server

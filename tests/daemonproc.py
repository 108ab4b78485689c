"""Run the real `outage-daemon run` in a subprocess, with a test NOTIFY_SOCKET, for the tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from smtpsink import free_port


class Daemon:
    def __init__(self, config: Path, state: Path, watchdog_usec: int | None = 1_000_000,
                 feeds: Path | None = None, extra: list[str] | None = None, env: dict[str, str] | None = None,
                 preexec: Callable[[], None] | None = None) -> None:
        self.config, self.state, self.port = config, state, free_port()
        self.log = state.parent / f"daemon-{self.port}.log"
        self.notify_path = str(state.parent / f"notify-{self.port}.sock")
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(self.notify_path)
        self.notify.settimeout(0.2)
        self.messages: list[str] = []
        environ = dict(os.environ, NOTIFY_SOCKET=self.notify_path, **(env or {}))
        if watchdog_usec:
            environ["WATCHDOG_USEC"] = str(watchdog_usec)
        args = [sys.executable, "-m", "outage_daemon", "run", "-c", str(config), "--state-dir", str(state),
                "--listen", f"127.0.0.1:{self.port}"]
        if feeds:
            args += ["--feeds-dir", str(feeds)]
        args += extra or []
        self.handle = self.log.open("ab")
        self.proc = subprocess.Popen(args, env=environ, stdout=self.handle, stderr=subprocess.STDOUT,
                                     preexec_fn=preexec)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def read_notify(self, want: str, timeout: float = 30) -> bool:
        """Collect sd_notify datagrams until one contains ``want``."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                self.messages.append(self.notify.recv(4096).decode())
            except TimeoutError:
                if self.proc.poll() is not None:
                    return False
                continue
            if want in self.messages[-1]:
                return True
        return False

    def drain(self) -> None:
        """Read every datagram waiting, so that the socket's buffer has room again."""
        while True:
            try:
                self.messages.append(self.notify.recv(4096).decode())
            except TimeoutError:
                return

    def get(self, path: str, headers: dict[str, str] | None = None, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(self.url + path, headers=headers or {}, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - http on loopback
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()

    def poll(self, path: str, until: Callable[[int, bytes], bool], timeout: float = 30) -> tuple[int, bytes]:
        """GET ``path`` every 0.2 s until ``until(status, body)`` holds or ``timeout`` passes; return
        the last status and body."""
        deadline = time.monotonic() + timeout
        status, _, body = self.get(path)
        while not until(status, body) and time.monotonic() < deadline:
            time.sleep(0.2)
            status, _, body = self.get(path)
        return status, body

    def signal(self, number: int) -> None:
        self.proc.send_signal(number)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.notify.close()
        self.handle.close()
        return self.proc.returncode

    def output(self) -> str:
        return self.log.read_text(errors="replace")

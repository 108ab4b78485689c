"""A real SMTP server on loopback (aiosmtpd) that records what it accepts and can misbehave."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def end(process: subprocess.Popen[Any], grace: float = 10) -> None:
    """Stop a server process: SIGTERM, then SIGKILL if it has not exited within ``grace`` seconds."""
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(grace)


def make_cert(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, made with the openssl command."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


@dataclass
class Sink:
    """Accepts mail; ``refuse`` maps an address to an RCPT reply; ``temporary`` answers DATA with
    451 that many times; ``garble`` answers DATA with a line that is no SMTP reply that many times;
    ``delay`` slows every DATA (seconds); ``step`` slows each of MAIL, RCPT and DATA (a relay slow
    at every command, each reply still within the client's timeout)."""

    refuse: dict[str, str] = field(default_factory=dict)
    temporary: int = 0
    garble: int = 0
    delay: float = 0.0
    step: float = 0.0
    received: list[tuple[str, Message]] = field(default_factory=list)
    transactions: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        await asyncio.sleep(self.step)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        await asyncio.sleep(self.step)
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.transactions += 1
            if self.temporary > 0:
                self.temporary -= 1
                return "451 4.3.0 try again later"
            if self.garble > 0:
                self.garble -= 1
                return "ok, got it"
        if self.delay or self.step:
            await asyncio.sleep(self.delay + self.step)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.received.append((rcpt, message))
        return "250 OK queued"

    def recipients(self) -> list[str]:
        with self.lock:
            return [r for r, _ in self.received]


class Server:
    """Start a Sink on a free loopback port; ``tls`` is None, 'starttls' or 'tls'."""

    def __init__(self, sink: Sink, tls: str | None = None, cert: tuple[Path, Path] | None = None,
                 port: int | None = None, **options: Any) -> None:
        self.sink, self.port = sink, port or free_port()
        kwargs: dict[str, Any] = dict(options)  # e.g. authenticator=…, auth_require_tls=False
        if tls:
            assert cert is not None
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(cert[0]), str(cert[1]))
            if tls == "starttls":
                kwargs.update(tls_context=context, require_starttls=True)
            else:
                kwargs.update(ssl_context=context)
        self.controller = Controller(sink, hostname="127.0.0.1", port=self.port, server_hostname="127.0.0.1",
                                     **kwargs)

    def __enter__(self) -> Server:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def wait_for(predicate: Any, timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False


__all__ = ["SMTPServer", "Server", "Sink", "end", "free_port", "make_cert", "wait_for"]

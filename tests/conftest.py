"""Shared helpers: write a config to a temp folder and load it through the real loader."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pgserver import PgServer

from outage_daemon.core.errors import ConfigError
from outage_daemon.core.model import Config
from outage_daemon.loader import load

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    def _write(text: str, name: str = "cfg.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return _write


@pytest.fixture
def config_of(write: Callable[..., Path]) -> Callable[[str], Config]:
    def _config(text: str) -> Config:
        return load(str(write(text)))

    return _config


@pytest.fixture
def errors_of(write: Callable[..., Path], tmp_path: Path) -> Callable[[str], list[str]]:
    """Return the error lines of a config, with the temp folder cut from file names."""

    def _errors(text: str) -> list[str]:
        path = write(text)
        with pytest.raises(ConfigError) as info:
            load(str(path))
        return [str(p).replace(str(tmp_path) + "/", "") for p in info.value.problems]

    return _errors


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A real PostgreSQL for the session: $OUTAGE_TEST_POSTGRES, else one started here."""
    server = PgServer()
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """The URL of a fresh, empty database on the session's PostgreSQL."""
    return pg_server.database()

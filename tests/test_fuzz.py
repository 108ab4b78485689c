"""Fuzz the loader: whatever the bytes, only our ConfigError (or a valid Config) comes out."""

from __future__ import annotations

from pathlib import Path

import yaml
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outage_daemon.core.errors import ConfigError
from outage_daemon.loader import load

EXAMPLE = (ROOT / "config" / "example.yaml").read_bytes()
KEYS = ["timezone", "language", "notify", "windows", "id", "system", "start", "end", "repeat",
        "except", "audiences", "email", "before_stop", "include", "calendar", "feeds", "status"]
scalars = st.one_of(st.sampled_from(["2023-10-15 22:00", "24:00", "yes", "1d", "FREQ=WEEKLY",
                                     "Asia/Shanghai", "", "~", "2023-10-12 24:00", "P1M"]),
                    st.text(max_size=20), st.integers(), st.booleans(), st.none())
trees = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5), inner, max_size=5)),
    max_leaves=30)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _load(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(data)
    try:
        load(str(path))
    except ConfigError as exc:
        assert exc.problems and all(str(p).startswith(str(path)) for p in exc.problems)


@SETTINGS
@given(tree=trees)
def test_structured(tmp_path: Path, tree: object) -> None:
    _load(tmp_path, yaml.safe_dump(tree, allow_unicode=True).encode())


@SETTINGS
@given(data=st.binary(max_size=300))
def test_bytes(tmp_path: Path, data: bytes) -> None:
    _load(tmp_path, data)


@SETTINGS
@given(cut=st.integers(0, len(EXAMPLE)), junk=st.binary(max_size=12), at=st.integers(0, len(EXAMPLE)))
def test_mutated_example(tmp_path: Path, cut: int, junk: bytes, at: int) -> None:
    data = EXAMPLE[:cut] if cut % 2 else EXAMPLE
    _load(tmp_path, data[:at] + junk + data[at:])


@SETTINGS
@given(window=st.fixed_dictionaries({}, optional={k: scalars | st.lists(scalars, max_size=3) for k in KEYS}))
def test_window_fields(tmp_path: Path, window: dict[str, object]) -> None:
    _load(tmp_path, yaml.safe_dump({"windows": [window]}, allow_unicode=True).encode())

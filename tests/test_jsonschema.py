"""Editor support (issue 15): `outage-daemon schema` prints a draft-07 JSON Schema made from
schema.yaml, the example carries the yaml-language-server modeline, and editor and daemon agree:
a corpus of good and bad configs is accepted and refused alike by the JSON Schema (read as an editor
reads YAML, with the daemon's parsers as format checkers) and by `check`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from conftest import ROOT

from outage_daemon.core import addresses, timerules
from outage_daemon.core.errors import ConfigError
from outage_daemon.core.schema import FORMATS, json_schema
from outage_daemon.loader import load

CORPUS = ROOT / "tests" / "configs"
EXAMPLE = ROOT / "config" / "example.yaml"
PRINTED = ROOT / "config" / "outage-daemon.schema.json"

# YAML 1.2 core schema, as yaml-language-server reads a file: plain scalars may be null, booleans or numbers.
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$")


def as_editor_reads(text: str) -> Any:
    """Given YAML text, return its data as YAML 1.2's core schema types it (no dates, no yes/no)."""
    def data(node: yaml.Node) -> Any:
        if isinstance(node, yaml.MappingNode):
            return {str(data(k)): data(v) for k, v in node.value}
        if isinstance(node, yaml.SequenceNode):
            return [data(v) for v in node.value]
        value: str = node.value
        if node.style is not None:
            return value
        if _NULL.match(value):
            return None
        if _BOOL.match(value):
            return value.lower() == "true"
        if _INT.match(value):
            return int(value, 0) if value[:2] in ("0o", "0x") else int(value)
        if _FLOAT.match(value):
            return float(value.replace("inf", "Infinity").replace("Inf", "Infinity").replace("INF", "Infinity"))
        return value

    return data(yaml.compose(text, Loader=yaml.SafeLoader))


def _checks(kind: str) -> Callable[[object], bool]:
    def check(value: object) -> bool:
        if not isinstance(value, str):
            return True
        try:
            {"duration": timerules.parse_duration, "time": timerules.parse_when, "zone": timerules.zone,
             "address": addresses.parse}[kind](value)
        except (timerules.TimeError, addresses.AddressError):
            return False
        return True

    return check


def validator() -> jsonschema.Draft7Validator:
    """Return a draft-07 validator of the printed schema, with the daemon's parsers as format checkers."""
    checker = jsonschema.FormatChecker()
    for kind, name in FORMATS.items():
        checker.checks(name)(_checks(kind))
    printed = json.loads(subprocess.run([sys.executable, "-m", "outage_daemon", "schema"], capture_output=True,
                                        text=True, timeout=60, check=True).stdout)
    jsonschema.Draft7Validator.check_schema(printed)
    return jsonschema.Draft7Validator(printed, format_checker=checker)


@pytest.fixture(scope="module")
def editor() -> jsonschema.Draft7Validator:
    return validator()


def schema_errors(editor: jsonschema.Draft7Validator, text: str) -> list[str]:
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in editor.iter_errors(as_editor_reads(text))]


def check_errors(path: Path) -> list[str]:
    try:
        load(str(path))
    except ConfigError as exc:
        return [str(p) for p in exc.problems]
    return []


def test_printed_schema_is_draft_07_and_committed() -> None:
    printed = subprocess.run([sys.executable, "-m", "outage_daemon", "schema"], capture_output=True, text=True,
                             timeout=60, check=True).stdout
    assert json.loads(printed)["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert printed == PRINTED.read_text(encoding="utf-8"), "run: outage-daemon schema > config/outage-daemon.schema.json"
    assert json.loads(printed) == json_schema()


def test_example_has_the_modeline_and_is_valid(editor: jsonschema.Draft7Validator) -> None:
    first = EXAMPLE.read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=outage-daemon.schema.json"
    assert (EXAMPLE.parent / first.split("$schema=")[1]).is_file()
    assert schema_errors(editor, EXAMPLE.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("path", sorted((CORPUS / "good").glob("*.yaml")), ids=lambda p: p.stem)
def test_good_corpus_accepted_by_both(editor: jsonschema.Draft7Validator, path: Path) -> None:
    assert check_errors(path) == []
    assert schema_errors(editor, path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("path", sorted((CORPUS / "bad").glob("*.yaml")), ids=lambda p: p.stem)
def test_bad_corpus_refused_by_both(editor: jsonschema.Draft7Validator, path: Path) -> None:
    assert check_errors(path), "check accepted it"
    assert schema_errors(editor, path.read_text(encoding="utf-8")), "the JSON Schema accepted it"


def test_test_configs_are_valid_for_editors(editor: jsonschema.Draft7Validator, tmp_path: Path) -> None:
    """The configs the other tests generate (daemon, notifications, webhooks, operator) pass both."""
    import test_daemon
    import test_notify
    import test_operator
    import test_webhooks

    start = datetime(2026, 6, 1, 8, 0, tzinfo=timerules.UTC)
    texts = [test_daemon.config_text(2525, start), test_daemon.config_text(2525, start, private_feed=True),
             test_notify.config_text(2525, ["a@example.com", "李娜 <li.na@example.com>"]),
             test_webhooks.config_text("dingtalk"), test_operator.config(start + timedelta(days=3))]
    for number, text in enumerate(texts):
        path = tmp_path / f"c{number}.yaml"
        path.write_text(text, encoding="utf-8")
        assert check_errors(path) == [], text
        assert schema_errors(editor, text) == [], text


def test_the_readme_install_step_keeps_the_modeline_working(tmp_path: Path) -> None:
    """The README's copy-to-/etc step, run as written (in a scratch /etc): the schema the config's
    first line names is there, next to the config, and is the one `schema` prints."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"2\. Put the config in `/etc/outage-daemon/config\.yaml`.*?```sh\n(.*?)```", readme, re.S)
    assert found, "the README's install step 2 has moved"
    etc = tmp_path / "etc" / "outage-daemon"
    for line in found.group(1).split("\n"):
        line = line.strip().replace("/etc/outage-daemon", str(etc))
        if not line:
            continue
        command = line.replace("outage-daemon ", f"{sys.executable} -m outage_daemon ", 1)
        subprocess.run(["bash", "-c", command], cwd=ROOT, check=True, timeout=60, capture_output=True)
    config = etc / "config.yaml"
    named = config.read_text(encoding="utf-8").splitlines()[0].split("$schema=")[1]
    assert (config.parent / named).read_text(encoding="utf-8") == PRINTED.read_text(encoding="utf-8")

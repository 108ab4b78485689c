"""The README's config reference is the schema's: fails when someone edits one and not the other."""

from __future__ import annotations

import re

from conftest import ROOT

from outage_daemon.core.schema import reference, schema


def test_readme_reference_is_current() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"(?s)<!-- schema:start -->\n(.*)<!-- schema:end -->", readme)
    assert found is not None and found.group(1) == reference(), "run `make docs`"


def test_every_key_is_documented() -> None:
    def walk(spec: dict[str, object]) -> list[str]:
        missing = []
        props = spec.get("properties", {})
        assert isinstance(props, dict)
        for key, sub in props.items():
            if "description" not in sub:
                missing.append(key)
            for child in ("items", "values"):
                if isinstance(sub.get(child), dict):
                    missing += walk(sub[child])
            missing += walk(sub)
        return missing

    assert walk(schema()) == [] and walk(schema()["definitions"]["notify"]) == []

"""The declarative schema (``schema.yaml``) and the walk that checks a YAML node tree against it.

Given composed YAML nodes (which keep line numbers), :func:`validate` returns a tree of
:class:`Item` — plain values that remember where they were written — and appends every problem
it finds to a list, so that all errors are reported at once. Scalars are read as the text that was
written (no YAML 1.1 dates or ``yes``/``no`` booleans) and converted only where the schema says so.
Pure: the schema itself is package data, read once.
"""

from __future__ import annotations

import difflib
import importlib
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

from outage_daemon.core import timerules, zonehints
from outage_daemon.core.errors import Loc, Problem

Value = str | int | bool | None | dict[str, "Item"] | list["Item"]


@dataclass(frozen=True)
class Item:
    """A validated value and where it was written."""

    value: Value
    loc: Loc

    def get(self, key: str) -> Item | None:
        """Given a key of a mapping item, return its item, or None when absent (or not a mapping)."""
        return self.value.get(key) if isinstance(self.value, dict) else None

    def entries(self, key: str) -> list[Item]:
        """Given a key of a mapping item, return the items of the list there ([] when absent)."""
        found = self.get(key)
        return found.value if found is not None and isinstance(found.value, list) else []

    @property
    def written(self) -> bool:
        """Return True when the value was written in a file, False for a default the schema filled in."""
        return self.loc.column > 0

    def named(self, key: str) -> dict[str, Item]:
        """Given a key of a mapping item, return the mapping there ({} when absent)."""
        found = self.get(key)
        return found.value if found is not None and isinstance(found.value, dict) else {}


@cache
def schema() -> dict[str, Any]:
    """Return the parsed schema shipped with the package."""
    text = resources.files("outage_daemon").joinpath("schema.yaml").read_text(encoding="utf-8")
    loaded: dict[str, Any] = yaml.safe_load(text)
    _fill_enums(loaded)
    return loaded


def _fill_enums(spec: object) -> None:
    """Given a schema, replace every ``enum_from: MODULE:NAME`` with the keys of that registry (a
    dict), so that the registry that implements a choice is the one list of its values."""
    if isinstance(spec, list):
        for item in spec:
            _fill_enums(item)
    if not isinstance(spec, dict):
        return
    source = spec.pop("enum_from", None)
    if source is not None:
        module, _, name = str(source).partition(":")
        spec["enum"] = list(getattr(importlib.import_module(module), name))
    for value in spec.values():
        _fill_enums(value)


def _resolve(spec: dict[str, Any]) -> dict[str, Any]:
    ref = spec.get("$ref")
    if ref is None:
        return spec
    merged = dict(schema()["definitions"][ref])
    merged.update({k: v for k, v in spec.items() if k != "$ref"})
    return merged


_STD_TAG = "tag:yaml.org,2002:"
_NULL = _STD_TAG + "null"
BUDGET = 20_000_000  # values walked in one file at most (aliases to checked containers cost one each)
MAX_DEPTH = 40
MAX_TEXT = 100_000  # characters of a text value without a max_length of its own
_SPENT = yaml.ScalarNode(_NULL, "")  # stands in for a node already turned into an item
_PLAIN_TAGS = {_STD_TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map")}
_ADDRESS = re.compile(r"^(?:[^<>@\s][^<>@]*<[^<>\s@]+@[^<>\s@]+>|[^<>\s@]+@[^<>\s@]+)$")
_URL = re.compile(r"^https?://[^\s/?#]+(?:[/?#][^\s]*)?$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass
class Walk:
    """One validation walk over one file: where problems go, the containers already checked (an
    alias to one is not walked again: no alias bomb, and its children are spent), and a budget."""

    file: str
    problems: list[Problem] = field(default_factory=list)
    budget: int = BUDGET
    done: dict[int, tuple[dict[str, Any], Item]] = field(default_factory=dict)

    def problem(self, node: yaml.Node, path: str, message: str, hint: str | None = None) -> None:
        """Record a problem at ``node`` (its line and column), with an optional hint to fix it."""
        self.problems.append(Problem(at(self.file, node, path), message, hint))


def at(file: str, node: yaml.Node, path: str) -> Loc:
    """Given a file name, a node and its key path, return where the node was written."""
    mark = node.start_mark
    return Loc(file, mark.line + 1, path, mark.column + 1) if mark is not None else Loc(file, 0, path)


def validate(node: yaml.Node, spec: dict[str, Any], walk: Walk, path: str = "",
             depth: int = 0) -> Item | None:
    """Given a node and its schema, return the checked item; record problems in ``walk``.

    Return None where the node is unusable (the problem is recorded).
    """
    walk.budget -= 1
    if walk.budget < 0 or depth > MAX_DEPTH:
        if walk.budget == -1:
            walk.problem(node, path or "(top)", f"more than {BUDGET:,} values in one file (an alias counts "
                         "each time it is used): split it with include:")
        elif depth == MAX_DEPTH + 1:
            walk.problem(node, path or "(top)", f"nested more than {MAX_DEPTH} levels deep")
        return None
    spec = _resolve(spec)
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and id(node) in walk.done:
        checked, item = walk.done[id(node)]
        if checked is spec:
            return item  # an alias to a value already checked for the same place
        walk.problem(node, path or "(top)", "an alias here repeats a value that means something else where "
                     "it is defined; write it out")
        return None
    loc = at(walk.file, node, path or "(top)")
    if node.tag not in _PLAIN_TAGS and node.tag != "!":
        walk.problem(node, loc.path, f"YAML tags are not allowed here ({node.tag})",
                     "remove the tag: values are plain text, read by the schema")
        return None
    types = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
    if isinstance(node, yaml.MappingNode) and "object" in types:
        walk.done[id(node)] = (spec, item := _object(node, spec, walk, path, depth, loc))
        return item
    if isinstance(node, yaml.SequenceNode) and "array" in types:
        walk.done[id(node)] = (spec, item := _array(node, spec, walk, path, depth, loc))
        return item
    if isinstance(node, yaml.ScalarNode) and node.tag != _NULL:
        for kind in types:
            if kind not in ("object", "array"):
                return _scalar(node, kind, spec, walk, loc)
    if not path:  # a file whose top is not a mapping is no config: say what kind of value, never the value
        walk.problems.append(Problem(loc, f"not a config file: expected a mapping at the top, got "
                                          f"{_kind(node)}; its content is not shown", quote=False))
        return None
    walk.problem(node, loc.path, f"expected {_describe(types)}, got {_shape(node)}", _shape_hint(types, node))
    return None


def _object(node: yaml.MappingNode, spec: dict[str, Any], walk: Walk, path: str, depth: int,
            loc: Loc) -> Item:
    props: dict[str, Any] = spec.get("properties", {})
    free: dict[str, Any] | None = spec.get("values")
    out: dict[str, Item] = {}
    seen: dict[str, int] = {}
    for position, (key_node, value_node) in enumerate(node.value):
        node.value[position] = (key_node, _SPENT)  # let the node go once its item exists (memory at 10k windows)
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _NULL:
            walk.problem(key_node, path or "(top)", f"a key must be text, got {_shape(key_node)}",
                         "write `key: value`; quote a key that starts with [, { or is empty")
            continue
        key = key_node.value
        sub = f"{path}.{key}" if path else key
        if key == "<<":
            walk.problem(key_node, sub, "merge keys (<<) are not supported; repeat the keys",
                         "copy the keys you meant to merge into this mapping")
            continue
        if key in seen:
            walk.problem(key_node, sub, f"duplicate key (first at line {seen[key]})",
                         "YAML would keep only one of them: remove one, or rename it")
            continue
        seen[key] = key_node.start_mark.line + 1
        sub_spec = props.get(key, free)
        if sub_spec is None:
            near = _near(key, props)
            walk.problem(key_node, sub, "unknown key" + (f" (did you mean {near}?)" if near else ""),
                         _unknown_hint(key, props))
            continue
        item = validate(value_node, sub_spec, walk, sub, depth + 1)
        if item is not None:
            out[key] = item
    for key in spec.get("required", []):
        if key not in seen:
            walk.problem(node, f"{path}.{key}" if path else key, "missing (required)",
                         f"add `{key}:` to this mapping (it needs {', '.join(spec['required'])})")
    if not spec.get("no_defaults"):
        for key, sub_spec in props.items():
            if key not in seen:
                sub = f"{path}.{key}" if path else key
                filled = _defaults(_resolve(sub_spec), Loc(loc.file, loc.line, sub))
                if filled is not None:
                    out[key] = filled
    return Item(out, loc)


def _defaults(spec: dict[str, Any], loc: Loc) -> Item | None:
    """Given the schema of an absent key, return its default item, or None when it has none.

    An absent object without required keys gets the defaults of its own properties.
    """
    if "default" in spec:
        return _default(spec["default"], loc)
    if spec.get("type") != "object" or spec.get("required") or "properties" not in spec:
        return None
    out = {}
    for key, sub_spec in spec["properties"].items():
        filled = _defaults(_resolve(sub_spec), Loc(loc.file, loc.line, f"{loc.path}.{key}"))
        if filled is not None:
            out[key] = filled
    return Item(out, loc) if out else None


def _array(node: yaml.SequenceNode, spec: dict[str, Any], walk: Walk, path: str, depth: int,
           loc: Loc) -> Item:
    items = []
    for index, child in enumerate(node.value):
        node.value[index] = _SPENT  # as above: only this parent's reference goes, aliases keep theirs
        item = validate(child, spec["items"], walk, f"{path}[{index}]", depth + 1)
        if item is not None:
            items.append(item)
    return Item(items, loc)


def _scalar(node: yaml.ScalarNode, kind: str, spec: dict[str, Any], walk: Walk,
            loc: Loc) -> Item | None:
    text: str = node.value
    value: str | int | bool = text
    if kind == "boolean":
        value = text.lower() == "true"
    elif kind == "integer" and re.fullmatch(r"[0-9]{1,9}", text):
        value = int(text)
    found = _scalar_error(text, kind, spec)
    if found is None and node.style in ("'", '"') and kind in ("boolean", "integer"):  # as editors read it
        found = f"expected {_describe([kind])}, got the text {text!r}", "remove the quotes"
    if found is not None:
        walk.problem(node, loc.path, *found)
        return None
    return Item(value, loc)


HINTS = {
    "duration": "durations are 90s, 15m, 2h, 1d, 1w, combinations such as 1h30m, or ISO 8601 (PT15M)",
    "time": "write a local time 2026-05-01 22:00, a time with offset 2026-05-01T22:00+08:00, or a date 2026-05-01",
    "address": "write a@example.com or Name <a@example.com> (quote the entry if the name has a comma)",
    "url": "write the full address, e.g. https://status.example.com/",
}


def _scalar_error(text: str, kind: str, spec: dict[str, Any]) -> tuple[str, str | None] | None:
    """Given a scalar's text, its kind and schema, return (message, hint) when it is wrong."""
    if kind == "boolean":
        if text not in ("true", "false", "True", "False", "TRUE", "FALSE"):  # YAML 1.2's, not yes/no/on/off
            return f"expected true or false, got {text!r}", "write true or false (yes/no/on/off are text here)"
        return None
    if kind == "integer":
        if not re.fullmatch(r"[0-9]{1,9}", text):
            return f"expected a whole number, got {text!r}", "write digits only, e.g. 587"
        if not spec.get("minimum", int(text)) <= int(text) <= spec.get("maximum", int(text)):
            return f"{int(text)} is outside {spec.get('minimum')}..{spec.get('maximum')}", None
        return None
    if _CONTROL.search(text):
        return "control characters are not allowed", "remove the invisible characters (tabs in values are fine)"
    if kind == "string":
        return _string_error(text, spec)
    if kind == "address":
        if "\n" in text or "\r" in text or not _ADDRESS.match(text.strip()):
            return f"{text!r} is not an email address (a@b.c or Name <a@b.c>)", HINTS["address"]
        return None
    if kind == "url":
        return (f"{text!r} is not an http(s) URL", HINTS["url"]) if not _URL.match(text) else None
    error = _typed_text(kind, text)
    return (error, _typed_hint(kind, text)) if error else None


def _string_error(text: str, spec: dict[str, Any]) -> tuple[str, str | None] | None:
    if "enum" in spec and text not in spec["enum"]:
        near = difflib.get_close_matches(text, [str(e) for e in spec["enum"]], n=1, cutoff=0.6)
        return (f"{text!r} is not one of {', '.join(spec['enum'])}",
                f"did you mean {near[0]}?" if near else f"write one of: {', '.join(spec['enum'])}")
    if "pattern" in spec and not _compiled(spec["pattern"]).match(text):
        if "pattern_hint" in spec:
            return f"{text!r} is not allowed here: {spec['pattern_hint']}", spec.get("pattern_example")
        return f"{text!r} does not match {spec['pattern']}", None
    if len(text) > spec.get("max_length", MAX_TEXT):
        return (f"longer than {spec.get('max_length', MAX_TEXT):,} characters",
                "shorten it; long text belongs in description")
    return None


def _typed_hint(kind: str, text: str) -> str | None:
    """Given a time-ish kind and the wrong text, return how to write it."""
    if kind == "zone":
        return zonehints.hint(text)
    return HINTS.get(kind)


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _typed_text(kind: str, text: str) -> str | None:
    """Given a text of a time-ish kind, return an error message or None."""
    try:
        if kind == "duration":
            timerules.parse_duration(text)
        elif kind == "zone":
            timerules.zone(text)
        elif kind == "time":
            timerules.parse_when(text)
    except timerules.TimeError as exc:
        return str(exc)
    return None


def _default(value: Any, loc: Loc) -> Item:
    if isinstance(value, list):
        return Item([_default(v, loc) for v in value], loc)
    return Item(value, loc)


def _describe(types: list[str]) -> str:
    names = {"object": "a mapping", "array": "a list", "boolean": "true or false",
             "integer": "a number"}
    return " or ".join(names.get(t, "text" if t == "string" else f"a {t}") for t in types)


def _shape(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if node.tag == _NULL:
        return "nothing"
    return f"{node.value!r}"


def _kind(node: yaml.Node) -> str:
    """Given a node, return what kind of value it is, never the value."""
    return _shape(node) if not isinstance(node, yaml.ScalarNode) or node.tag == _NULL else "text"


def _near(key: str, props: dict[str, Any]) -> str | None:
    close = difflib.get_close_matches(key, list(props), n=1, cutoff=0.75)
    return close[0] if close else None


def _shape_hint(types: list[str], node: yaml.Node) -> str:
    """Given the expected types and the node found, return how to write the value."""
    if "array" in types and isinstance(node, yaml.ScalarNode) and node.tag != _NULL:
        return f"write a list: [{node.value}] or one `- item` per line"
    if "object" in types and isinstance(node, yaml.ScalarNode) and "：" in str(node.value):
        return "a full-width colon '：' does not separate a key from its value: type ':' (ASCII) and a space"
    if "object" in types:
        return "write `key: value` lines indented under this key, or {key: value}"
    if isinstance(node, yaml.ScalarNode) and node.tag == _NULL:
        return "write a value after the colon, or remove the key"
    return f"write {_describe(types)} here"


def _unknown_hint(key: str, props: dict[str, Any]) -> str:
    """Given an unknown key and the keys allowed there, return how to fix it."""
    if "：" in key:
        return "a full-width colon '：' does not end a key: type ':' (ASCII) and a space"
    if " " in key.strip() or ":" in key:
        return "a key ends at ': ' (a colon and a space): is a space missing after a colon?"
    return f"keys allowed here: {', '.join(props)}" if props else "no keys are allowed here"


# --- JSON Schema for editors ---------------------------------------------------------------------

SCHEMA_ID = "https://github.com/outage-daemon/outage-daemon/raw/main/config/outage-daemon.schema.json"
# Formats of our own kinds: editors ignore unknown formats, validators given a checker for them
# (tests/test_jsonschema.py) apply the daemon's own parsers.
FORMATS = {"duration": "outage-duration", "time": "outage-time", "zone": "outage-zone", "address": "outage-address"}
_TEXT = ["string", "number", "integer", "boolean"]  # a plain 1e3, 42 or true is text to the daemon


def json_schema() -> dict[str, Any]:
    """Return the config's JSON Schema (draft-07) for editors, made from schema.yaml alone.

    It sees the YAML as an editor does (YAML 1.2: plain numbers and true/false are typed), and
    checks what the schema says: types, enums, patterns, lengths, required and unknown keys, and
    our kinds as formats; rules across keys (end after start, known audiences) stay ``check``'s."""
    top = schema()
    out: dict[str, Any] = {"$schema": "http://json-schema.org/draft-07/schema#", "$id": SCHEMA_ID,
           "title": "outage-daemon configuration"}
    out.update(_json(top))
    out["definitions"] = {name: _json(spec) for name, spec in top.get("definitions", {}).items()}
    return out


def _json(spec: dict[str, Any]) -> dict[str, Any]:
    """Given one schema.yaml node, return its JSON Schema."""
    if "$ref" in spec:
        ref = {"$ref": f"#/definitions/{spec['$ref']}"}
        types = spec.get("type")
        if isinstance(types, list) and "boolean" in types:  # `notify: false`, or overrides
            return {"description": spec.get("description", ""), "anyOf": [{"type": "boolean"}, ref]}
        return {"description": spec.get("description", ""), **ref}
    kinds = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
    out: dict[str, Any] = {"description": spec["description"]} if "description" in spec else {}
    if "default" in spec:
        out["default"] = spec["default"]
    if sorted(kinds) == ["array", "boolean"]:  # `acknowledge: true`, or a list
        out["anyOf"] = [{"type": "boolean"}, {"type": "array", "items": _json(spec["items"])}]
    elif kinds == ["object"]:
        out["type"] = "object"
        out["properties"] = {k: _json(v) for k, v in spec.get("properties", {}).items()}
        out["additionalProperties"] = _json(spec["values"]) if "values" in spec else False
        if spec.get("required"):
            out["required"] = list(spec["required"])
    elif kinds == ["array"]:
        out.update(type="array", items=_json(spec["items"]))
    elif kinds == ["boolean"]:
        out["type"] = "boolean"
    elif kinds == ["integer"]:
        out["type"] = "integer"
        out.update({k: spec[k] for k in ("minimum", "maximum") if k in spec})
    else:
        out.update(_json_text(kinds[0], spec))
    return out


def _json_text(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Given a text kind (string, url or one of FORMATS) and its spec, return its JSON Schema."""
    if kind in FORMATS:
        return {"type": "string", "format": FORMATS[kind]}
    if kind == "url":
        return {"type": "string", "pattern": _URL.pattern}
    out: dict[str, Any] = {"type": _TEXT, "not": {"type": "string", "pattern": _CONTROL.pattern}}
    if "enum" in spec:
        out = {"type": "string", "enum": list(spec["enum"])}
    if "pattern" in spec:
        out["pattern"] = spec["pattern"]
        if "pattern_hint" in spec:  # yaml-language-server shows this instead of the expression
            out["patternErrorMessage"] = spec["pattern_hint"]
    if "max_length" in spec:
        out["maxLength"] = spec["max_length"]
    return out


# --- documentation -----------------------------------------------------------------------------


def reference() -> str:
    """Return the Markdown config reference generated from the schema (for the README)."""
    lines = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]

    def walk(spec: dict[str, Any], prefix: str) -> None:
        spec = _resolve(spec)
        for key, sub in spec.get("properties", {}).items():
            sub = _resolve(sub)
            name = f"{prefix}{key}"
            types = sub["type"] if isinstance(sub["type"], list) else [sub["type"]]
            kind = " or ".join(types)
            if "array" in types:
                kind = " or ".join([*(t for t in types if t != "array"), f"list of {_resolve(sub['items'])['type']}"])
            if "enum" in sub:
                kind = " \\| ".join(f"`{v}`" for v in sub["enum"])
            default = sub.get("default")
            if isinstance(default, list):
                default = "[" + ", ".join(map(str, default)) + "]"
            shown = f"`{str(default).lower() if isinstance(default, bool) else default}`"
            desc = sub.get("description", "").replace("|", "\\|")
            lines.append(f"| `{name}` | {kind} | {shown if default is not None else ''} | {desc} |")
            if "object" in types and not sub.get("no_defaults"):  # overrides are documented once
                if "values" in sub:
                    walk(sub["values"], f"{name}.NAME.")
                else:
                    walk(sub, f"{name}.")
            if "array" in types and _resolve(sub["items"])["type"] == "object":
                walk(sub["items"], f"{name}[].")

    walk(schema(), "")
    return "\n".join(lines) + "\n"

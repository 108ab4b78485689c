"""The registries are the one list of what exists: the schema and the HTTP routes follow them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from outage_daemon.channels.webhook import KINDS
from outage_daemon.core.kinds import NOTICES, REMINDERS, Kind
from outage_daemon.core.model import Config
from outage_daemon.core.schema import schema
from outage_daemon.core.timerules import UTC
from outage_daemon.formats import FORMATS
from outage_daemon.web import State, app


def test_the_schema_offers_exactly_the_registered_webhook_kinds() -> None:
    kind = schema()["properties"]["webhooks"]["values"]["properties"]["kind"]
    assert kind["enum"] == list(KINDS) == ["generic", "slack", "wecom", "dingtalk", "feishu", "teams", "apprise"]
    assert all(KINDS[name].name == name for name in KINDS)


def test_every_kind_has_a_subject_template_in_every_language() -> None:
    from importlib import resources

    root = resources.files("outage_daemon").joinpath("templates")
    for language in ("en", "zh-CN"):
        for kind in Kind:
            assert root.joinpath(f"{language}/subjects/{kind}.txt").is_file(), (language, kind)


def test_kinds_carry_their_rules() -> None:
    assert [k.value for k in REMINDERS] == ["before_stop", "at_stop", "before_restore", "at_restore"]
    assert [k.invite for k in NOTICES] == ["REQUEST", "REQUEST", "CANCEL"]
    assert [k for k in Kind if k.counts_down] == [Kind.BEFORE_STOP, Kind.BEFORE_RESTORE]
    assert Kind.AT_RESTORE.invite is None and not Kind.TEST.is_reminder


def test_feed_routes_come_from_the_format_registry(config_of: Callable[[str], Config]) -> None:
    config = config_of("timezone: UTC\n")
    routes = {r.resource.canonical for r in app(State(config, {}, lambda: datetime.now(UTC))).router.routes()
              if r.resource is not None}
    for fmt in FORMATS:
        assert f"/calendar.{fmt.extension}" in routes
        assert any(route.startswith("/feeds/") and route.endswith(f".{fmt.extension}") for route in routes)


def test_the_worked_example_in_the_architecture_doc_runs(config_of: Callable[[str], Config]) -> None:
    """docs/architecture.md shows how to add a webhook kind; its module must work as written."""
    import json
    import re
    import types
    from pathlib import Path

    from outage_daemon.channels.render import templates
    from outage_daemon.channels.webhook.base import HookKind
    from outage_daemon.core.decide import Notification

    doc = (Path(__file__).parent.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = re.search(r"```python\n(.*?)```", doc, flags=re.S)
    assert block is not None
    module = types.ModuleType("mattermost_example")
    exec(compile("\n".join(line[3:] for line in block.group(1).splitlines()), "architecture.md", "exec"),  # noqa: S102
         module.__dict__)
    kind = module.KIND
    assert isinstance(kind, HookKind) and kind.name == "mattermost"
    config = config_of("timezone: UTC\nlanguage: en\nwindows:\n  - {id: w, system: 'Ledger *bold* [x](y)', "
                       "start: '2026-03-01 22:00', end: '2026-03-02 02:00'}\n")
    now = datetime(2026, 3, 1, tzinfo=UTC)
    body = json.loads(kind.payload(Notification("w/test", Kind.TEST, config.windows[0], now, now), config,
                                   templates(None)))
    assert body["text"].startswith("**［Test］ outage reminder for Ledger ＊bold＊ ［x］（y）**")

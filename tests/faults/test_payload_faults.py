"""Issue 22, point 8: chat payloads are cut by each service's real limit, in bytes, with a visible
"…": WeCom's markdown was cut at 4,000 characters (the limit is 4,096 bytes: 12,000 bytes of
Chinese were refused), and a Teams card with many services reached 94 KB."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from outage_daemon.channels.render import templates
from outage_daemon.channels.webhook import KINDS
from outage_daemon.core.decide import Notification
from outage_daemon.core.kinds import Kind
from outage_daemon.core.model import Config

ENV = templates(None)


def config_text(language: str) -> str:
    services = ", ".join(f"服务{i:04d}" for i in range(3000))
    return f"""
timezone: Asia/Shanghai
language: {language}
webhooks: {{hook: {{kind: wecom, url_env: X}}}}
audiences: {{team: {{webhooks: [hook]}}}}
windows:
  - id: db
    system: 核心数据库
    title: {"维护" * 100}
    start: 2026-12-06 02:00
    end: 2026-12-06 04:00
    services: [{services}]
    description: "{"数据库升级，请各部门提前做好准备。" * 580}"
    alternatives: {"纸质流程" * 500}
    contacts: {"热线" * 500}
    audiences: [team]
"""


def sections(kind: str, data: bytes) -> list[str]:
    """Given a kind and its payload, return the texts the service limits."""
    doc = json.loads(data)
    if kind == "wecom":
        return [doc["markdown"]["content"]] if doc["msgtype"] == "markdown" else [doc["text"]["content"]]
    if kind == "slack":
        return [block["text"]["text"] for block in doc["blocks"]]
    return [data.decode()]


# kind, mention, the limit in bytes of each text, or of the whole body
LIMITS = [
    pytest.param("wecom", False, 4096, id="wecom-markdown-4096-bytes"),
    pytest.param("wecom", True, 2048, id="wecom-text-2048-bytes"),
    pytest.param("teams", False, 28_000, id="teams-message-28KB"),
    pytest.param("feishu", False, 19_800, id="feishu-body-20KB-less-signature"),
    pytest.param("slack", False, 3000, id="slack-section-3000"),
    pytest.param("dingtalk", False, 20_000, id="dingtalk-body-20000-bytes"),
    pytest.param("dingtalk", True, 20_000, id="dingtalk-mention-body-20000-bytes"),
]


@pytest.mark.parametrize("language", ["zh-CN", "en"])
@pytest.mark.parametrize("kind,mention,limit", LIMITS)
def test_every_payload_fits_its_service_and_says_it_was_cut(kind: str, mention: bool, limit: int, language: str,
                                                            config_of: Callable[[str], Config]) -> None:
    config = config_of(config_text(language))
    window = config.windows[0]
    n = Notification("db/test", Kind.BEFORE_STOP, window, window.start, window.end)
    data = KINDS[kind].payload(n, config, ENV, window.start, mention)
    texts = sections(kind, data)
    assert all(len(t.encode()) <= limit for t in texts), [len(t.encode()) for t in texts]
    assert any("…" in t for t in texts), "a cut must be visible"
    assert "核心数据库" in data.decode()  # what matters most survives the cut


def test_a_cut_dingtalk_message_still_mentions_everyone(config_of: Callable[[str], Config]) -> None:
    """The "@所有人" that makes DingTalk notify everyone is kept after the cut text, not cut off."""
    config = config_of(config_text("zh-CN"))
    window = config.windows[0]
    n = Notification("db/test", Kind.AT_STOP, window, window.start, window.end)
    doc = json.loads(KINDS["dingtalk"].payload(n, config, ENV, window.start, True))
    assert doc["markdown"]["text"].endswith("…\n\n@所有人") and doc["at"] == {"isAtAll": True}, doc["markdown"]["text"][-40:]

"""Channels: the ways notifications leave, one registry. See :mod:`outage_daemon.channels.base`."""

from __future__ import annotations

from collections.abc import Callable

from outage_daemon.channels.base import Channel
from outage_daemon.channels.calendar import CalendarChannel
from outage_daemon.channels.email import EmailChannel
from outage_daemon.channels.render import Templates
from outage_daemon.channels.webhook import WebhookChannel
from outage_daemon.core.model import Config


def make_channels(config: Config, env: Templates, directory: str, clock_ms: Callable[[], int]) -> dict[str, Channel]:
    """Given the config, its templates, the state directory and a clock in Unix milliseconds (for
    signatures), return every channel by name; raise CredentialError when a secret cannot be read."""
    channels: list[Channel] = [EmailChannel(config, env, directory), WebhookChannel(config, env, clock_ms)]
    if config.calendars:
        channels.append(CalendarChannel(config))
    return {c.name: c for c in channels}


async def close_all(channels: dict[str, Channel]) -> None:
    """Close every channel's connections."""
    for channel in channels.values():
        await channel.close()

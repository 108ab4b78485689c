"""The long tail (Telegram, Discord, Matrix, ntfy, Gotify, Mattermost…) through Apprise 2.x: one Apprise
URL per webhook, so one ledger row per endpoint, and the subject and plain-text body as the message.

What can be known: Apprise's result for the one service says success, failure or timeout, and its log
lines for that call say why; they become the ledger's error, with every part of the URL that may be a
secret (token, topic, password, path) cut out. Success means the service accepted the request as
Apprise's plugin reads the answer: weaker than the first-class kinds (Apprise's WeCom, DingTalk and
Feishu plugins take HTTP 200 as success without reading the error code). Apprise's own retries are
off (the ledger owns retries) and it follows no redirect. Temporary or permanent: Apprise does not
say; its plugins write the HTTP status into the log line as ``error=NNN``, so a 4xx other than 408,
425 and 429 fails at once, and everything else (5xx, network errors, timeouts, a line without a
status) is retried. A ``Retry-After`` is not visible through Apprise. A URL Apprise cannot read, or
one that holds several services, fails at once. Apprise is blocking: each attempt runs in a daemon
thread with a deadline on the whole request (``timeout``; Apprise's own is per socket read), and
the process never waits for a thread past it.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timedelta
from urllib.parse import unquote

import apprise

from outage_daemon.channels import blocking
from outage_daemon.channels.base import ACCEPTED, Outcome
from outage_daemon.channels.render import Templates
from outage_daemon.channels.webhook.base import HookKind, dumps, text_of, without_subject
from outage_daemon.core.decide import Notification
from outage_daemon.core.model import Config

_TAG = "outage-daemon"
# Apprise's own log lines can name URL parts (an ntfy topic is its secret): they stay out of the
# daemon's log; the failure text reaches the ledger (and the log) through Outcome, redacted.
logging.getLogger("apprise").propagate = False

_QUERY_KEY = re.compile(r"(?<=[?&])[A-Za-z0-9_-]+=")
_SEPARATORS = re.compile(r"[/?&=@:#,;+\s]+")
_HOST_LIKE = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")  # example.com, 127.0.0.1: named in errors, kept
_STATUS = re.compile(r"\berror=(\d{3})\b")
_CLIENT_ERRORS = range(400, 500)
_WORTH_RETRYING = {408, 425, 429}


def payload(notification: Notification, config: Config, env: Templates, now: datetime | None = None,
            mention: bool = False) -> bytes:
    """Given a notification, return what Apprise will send: the subject as title, the plain text as body."""
    values, text = text_of(notification, config, env, now)
    return dumps({"title": values["subject"], "body": without_subject(text)})


def secrets_of(url: str) -> list[str]:
    """Given an Apprise URL, return its maybe-secret parts (not scheme, query keys, host names), longest first."""
    rest = _QUERY_KEY.sub("", url.split("://", 1)[-1])
    parts = {p for p in _SEPARATORS.split(rest) if len(p) >= 3 and not _HOST_LIKE.fullmatch(p)}
    parts |= {unquote(p) for p in parts}
    return sorted(parts, key=len, reverse=True)


def redacted(text: str, url: str) -> str:
    """Given text Apprise wrote and the URL, return the text with the URL's secret parts as ``***``."""
    for part in secrets_of(url):
        text = text.replace(part, "***")
    return text


def _outcome(result: apprise.AppriseResult, seconds: float) -> Outcome:
    """Given Apprise's result for the one service, return the attempt's outcome (see the module's doc)."""
    if result:
        return ACCEPTED
    said = "; ".join(" ".join(entry.message.split()) for entry in result.logs())[:500]
    if result.status == apprise.AppriseResultStatus.TIMEOUT:
        return Outcome(False, True, f"no answer within {seconds:g}s" + (f": {said}" if said else ""))
    status = _STATUS.search(said)
    code = int(status.group(1)) if status else 0
    permanent = code in _CLIENT_ERRORS and code not in _WORTH_RETRYING
    return Outcome(False, not permanent, said or f"Apprise reported {result.status.name} and logged nothing")


def notify(url: str, title: str, body: str, seconds: float) -> Outcome:
    """Given an Apprise URL, a message and a timeout, make one attempt; blocking. The error is not redacted."""
    # No deadline of Apprise's own: it would run the service in its pool's threads, which the
    # interpreter joins at exit (a dripping peer kept the process alive); the caller's daemon thread
    # has the deadline (blocking.call).
    asset = apprise.AppriseAsset(http_redirects=False, language="en", service_timeout=0)
    hub = apprise.Apprise(asset=asset)
    if not hub.add(url, tag=_TAG):
        return Outcome(False, False, "Apprise cannot use this URL (an unknown service, or a malformed URL)")
    if len(hub) != 1:
        return Outcome(False, False, f"the URL holds {len(hub)} Apprise services; give each its own webhook "
                                     "(one ledger row per endpoint)")
    for service in hub:
        service.socket_connect_timeout = service.socket_read_timeout = seconds
    # "TAG:0" asks for no retry, whatever the URL's ?retry= says: the ledger retries.
    with hub.notify(body=body, title=title, body_format=apprise.NotifyFormat.TEXT, tag=f"{_TAG}:0") as result:
        return _outcome(result, seconds)


async def send(url: str, payload: bytes, timeout: timedelta) -> Outcome:
    """Given the Apprise URL (a secret), the stored payload and the timeout, make one attempt off the event loop."""
    message = json.loads(payload)
    seconds = timeout.total_seconds()
    try:
        outcome = await blocking.call(seconds, notify, url, str(message["title"]), str(message["body"]), seconds)
    except TimeoutError:  # Apprise's timeouts are per socket read: a peer that drips its answer passes them
        outcome = Outcome(False, True, f"no answer within {seconds:g}s (the whole request)")
    except Exception as exc:  # noqa: BLE001 - a plugin's bug becomes a failed attempt, never a dead pass
        outcome = Outcome(False, True, f"Apprise failed: {type(exc).__name__}: {exc}")
    return outcome if outcome.error is None else Outcome(False, outcome.temporary, redacted(outcome.error, url))


KIND = HookKind("apprise", payload, send=send)

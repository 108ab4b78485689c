"""Secrets from a file, the environment or a systemd credential; never from the YAML, never logged."""

from __future__ import annotations

import os

from outage_daemon.core.model import Config

Source = tuple[str | None, str | None, str | None]  # (file, environment variable, systemd credential)

MAX_SECRET = 64 * 1024  # bytes: a token, password or URL; more is the wrong file (or /dev/zero)


class CredentialError(Exception):
    """A secret the config names cannot be read; the message says which, never its value."""


def secret(file: str | None, env: str | None, credential: str | None = None) -> str | None:
    """Given where a secret lives (at most one of the three), return it without its trailing
    newline, or None when none is named; raise CredentialError when it cannot be read, is not UTF-8
    or is empty (an empty token would make a private feed public)."""
    if file:
        try:
            with open(file, "rb") as handle:
                data = handle.read(MAX_SECRET + 1)
        except OSError as exc:
            raise CredentialError(f"cannot read secret file {file}: {exc.strerror}") from exc
        if len(data) > MAX_SECRET:
            raise CredentialError(f"secret file {file} is larger than {MAX_SECRET // 1024} KiB: not a secret")
        try:
            value = data.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            raise CredentialError(f"secret file {file} is not UTF-8 text") from exc
        if not value.strip():
            raise CredentialError(f"secret file {file} is empty")
        return value
    if env:
        given = os.environ.get(env)
        if given is None:
            raise CredentialError(f"environment variable {env} is not set")
        if not given.strip():
            raise CredentialError(f"environment variable {env} is empty")
        return given
    if credential:
        folder = os.environ.get("CREDENTIALS_DIRECTORY")
        if not folder:
            raise CredentialError(f"credential {credential}: $CREDENTIALS_DIRECTORY is not set "
                                  "(use LoadCredential= in the unit)")
        return secret(os.path.join(folder, credential), None)
    return None


def named(config: Config) -> list[tuple[str, Source]]:
    """Given a config, return every secret it names, with its config key: SMTP password, webhook URLs
    and signing secrets, feed tokens, the acknowledgement links' key, pushed calendars' passwords, keys and
    client secrets, Alertmanagers' passwords or tokens."""
    found: list[tuple[str, Source]] = []
    smtp = config.email.smtp
    if smtp is not None:
        found.append(("email.smtp.password", (smtp.password_file, smtp.password_env, smtp.password_credential)))
    for name, hook in config.webhooks.items():
        found.append((f"webhooks.{name}.url", (hook.url_file, hook.url_env, hook.url_credential)))
        found.append((f"webhooks.{name}.secret", (hook.secret_file, hook.secret_env, hook.secret_credential)))
    for feed in config.calendar.feeds:
        found.append((f"calendar.feeds[{feed.name}].token", (feed.token_file, feed.token_env, None)))
    if config.ack_key is not None:
        key = config.ack_key
        found.append(("acknowledge.key", (key.key_file, key.key_env, key.key_credential)))
    for name, target in config.calendars.items():
        found.append((f"calendars.{name}.password",
                      (target.password_file, target.password_env, target.password_credential)))
        found.append((f"calendars.{name}.key", (target.key_file, target.key_env, target.key_credential)))
        if target.graph is not None:
            access = target.graph
            found.append((f"calendars.{name}.client_secret",
                          (access.secret_file, access.secret_env, access.secret_credential)))
    for i, am in enumerate(config.alertmanagers):
        found.append((f"monitoring.alertmanager[{i}].password", (am.password_file, am.password_env,
                                                                   am.password_credential)))
        found.append((f"monitoring.alertmanager[{i}].token", (am.token_file, am.token_env, am.token_credential)))
    return [(key + ("_file" if s[0] else "_env" if s[1] else "_credential"), s) for key, s in found if any(s)]


def place(source: Source) -> str:
    """Given where a secret lives, return that place as resolved here: the file's path, the
    environment variable, or the credential's path under ``$CREDENTIALS_DIRECTORY``."""
    file, env, credential = source
    if file:
        return file
    if env:
        return f"environment variable {env}"
    folder = os.environ.get("CREDENTIALS_DIRECTORY")
    return os.path.join(folder, str(credential)) if folder else f"systemd credential {credential}"

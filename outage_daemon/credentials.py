"""Secrets from a file, the environment or a systemd credential; never from the YAML, never logged."""

from __future__ import annotations

import os

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

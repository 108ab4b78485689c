"""Secrets from a file, the environment or a systemd credential; never from the YAML, never logged."""

from __future__ import annotations

import os


class CredentialError(Exception):
    """A secret the config names cannot be read; the message says which, never its value."""


def secret(file: str | None, env: str | None, credential: str | None = None) -> str | None:
    """Given where a secret lives (at most one of the three), return it without its trailing
    newline, or None when none is named; raise CredentialError when it cannot be read."""
    if file:
        try:
            with open(file, encoding="utf-8") as handle:
                return handle.read().rstrip("\r\n")
        except OSError as exc:
            raise CredentialError(f"cannot read secret file {file}: {exc.strerror}") from exc
    if env:
        value = os.environ.get(env)
        if value is None:
            raise CredentialError(f"environment variable {env} is not set")
        return value
    if credential:
        folder = os.environ.get("CREDENTIALS_DIRECTORY")
        if not folder:
            raise CredentialError(f"credential {credential}: $CREDENTIALS_DIRECTORY is not set "
                                  "(use LoadCredential= in the unit)")
        return secret(os.path.join(folder, credential), None)
    return None

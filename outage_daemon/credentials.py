"""Secrets from a file, the environment or a systemd credential; never from the YAML, never logged."""

from __future__ import annotations

import os


class CredentialError(Exception):
    """A secret the config names cannot be read; the message says which, never its value."""


def secret(file: str | None, env: str | None, credential: str | None = None) -> str | None:
    """Given where a secret lives (at most one of the three), return it without its trailing
    newline, or None when none is named; raise CredentialError when it cannot be read, is not UTF-8
    or is empty (an empty token would make a private feed public)."""
    if file:
        try:
            with open(file, encoding="utf-8") as handle:
                value = handle.read().rstrip("\r\n")
        except OSError as exc:
            raise CredentialError(f"cannot read secret file {file}: {exc.strerror}") from exc
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

"""Email addresses as the config writes them (``a@b.c`` or ``Name <a@b.c>``): the one parser. Pure.

Config checks, the SMTP envelope, message headers and iTIP invites all read an address through
:func:`parse`, so that ``Zhang, Wei <zw@example.com>`` cannot be one mailbox to the checker and
two (``Zhang`` and ``Wei <zw@…>``) to the mail library: an unquoted comma is refused, with a hint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import getaddresses

_ADDR_SPEC = re.compile(r"^[^\s@<>()\[\],;:\"\\]+@[^\s@<>()\[\],;:\"\\]+$")


class AddressError(ValueError):
    """An address the mail library would not read as exactly one mailbox; the message says why."""


@dataclass(frozen=True)
class Mailbox:
    """One mailbox: the display ``name`` (may be empty) and the bare ``address`` (``a@b.c``)."""

    name: str
    address: str


def parse(text: str) -> Mailbox:
    """Given ``a@b.c``, ``Name <a@b.c>`` or ``"Last, First" <a@b.c>``, return its one mailbox.

    Raise AddressError for anything that is not exactly one mailbox (an unquoted comma in a
    display name makes two), with a quoting hint.
    """
    raw = text.strip()
    if _ADDR_SPEC.match(raw):  # a bare a@b.c: nothing for the mail library to read (the common, hot case)
        return Mailbox("", raw)
    if not raw or "\n" in raw or "\r" in raw:
        raise AddressError(f"{text!r} is not an email address (a@b.c or Name <a@b.c>)")
    found = getaddresses([raw])
    if len(found) != 1:
        raise AddressError(_comma_hint(text) if "," in raw else
                           f"{text!r} is more than one address: write one, as a@b.c or Name <a@b.c>")
    name, address = found[0]
    if not _ADDR_SPEC.match(address) or ("<" in raw) != raw.endswith(">"):
        raise AddressError(f"{text!r} is not an email address (a@b.c or Name <a@b.c>)")
    return Mailbox(name, address)


def _comma_hint(text: str) -> str:
    name, sep, rest = text.strip().partition("<")
    if sep and name.strip() and not name.strip().startswith('"'):
        quoted = name.strip().replace("\\", "\\\\").replace('"', '\\"')
        return (f"{text!r}: a comma in a display name must be quoted, or mail software reads two "
                f'addresses; write \'"{quoted}" <{rest}\'')
    return f"{text!r} is more than one address: write one per list entry"


def envelope(text: str) -> str:
    """Given a config address, return the bare address (SMTP envelope, de-duplication); raise
    AddressError."""
    return parse(text).address


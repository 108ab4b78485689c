"""The notice importer: read outage notices (text, HTML, email) and print the windows they state."""

from __future__ import annotations

from .reading import FoundWindow, Reading, read

__all__ = ["FoundWindow", "Reading", "read"]

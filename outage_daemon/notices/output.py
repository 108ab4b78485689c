"""A reading as config YAML: ``windows:`` items to paste, or a whole file for ``include:``. Pure."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

import yaml

from .reading import FoundWindow, Reading


class _Dumper(yaml.SafeDumper):
    """A safe dumper that indents list items under their key, as config files do (``windows:\\n  - id``)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        """Never write an indentless sequence."""
        super().increase_indent(flow, False)


def slug(system: str | None, prefix: str | None) -> str:
    """Given the system name (and an optional chosen prefix), return an ASCII id prefix."""
    base = prefix or re.sub(r"[^a-z0-9]+", "-", unicodedata.normalize("NFKD", system or "").lower()).strip("-")
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-._")
    return base[:40] or "outage"


def _with_offset(moment: datetime) -> str:
    """Return ``2023-10-15 22:00+08:00``."""
    offset = moment.strftime("%z")
    return f"{moment:%Y-%m-%d %H:%M}{offset[:-2]}:{offset[-2:]}"


def _end_text(moment: datetime) -> str:
    """Return an end time; a local midnight as ``24:00`` of the day before."""
    if moment.hour == 0 and moment.minute == 0:
        day_before = moment - timedelta(days=1)
        return f"{day_before:%Y-%m-%d} 24:00{_with_offset(moment)[-6:]}"
    return _with_offset(moment)


def _times(window: FoundWindow, tz: tzinfo) -> tuple[str, str]:
    """Return a window's start and end as the config writes them, in tz."""
    if window.all_day:
        return f"{window.start:%Y-%m-%d}", f"{window.end - timedelta(days=1):%Y-%m-%d}"
    return _with_offset(window.start.astimezone(tz)), _end_text(window.end.astimezone(tz))


def to_config(reading: Reading, tz: tzinfo, prefix: str | None = None, url: str | None = None,
              zone_name: str | None = None) -> list[dict[str, object]]:
    """Given a reading, return the ``windows:`` items that ``check`` accepts (status tentative), times
    written in ``tz`` with their offset; ``zone_name`` adds each window's ``timezone:``."""
    items: list[dict[str, object]] = []
    ids: set[str] = set()
    for window in reading.windows:
        system = window.system or reading.system
        base = slug(system if prefix is None else None, prefix)
        ident = f"{base}-{window.start.astimezone(tz):%Y-%m-%d}"
        if ident in ids:
            ident = f"{ident}-{window.start.astimezone(tz):%H%M}"
        n = 2
        while ident in ids:
            ident, n = f"{base}-{window.start.astimezone(tz):%Y-%m-%d}-{n}", n + 1
        ids.add(ident)
        start, end = _times(window, tz)
        item: dict[str, object] = {"id": ident, "system": (system or "(set the system)")[:200], "start": start,
                                   "end": end, "status": "tentative"}
        if window.repeat:
            item["repeat"] = window.repeat
        if zone_name:
            item["timezone"] = zone_name
        if url:
            item["url"] = url
        item["source"] = " / ".join(window.sources)[:4900]
        items.append(item)
    return items


def dump(data: dict[str, Any]) -> str:
    """Return the data as block YAML, list items indented under their key, Unicode kept."""
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=4096, default_flow_style=False)


def drafts(reading: Reading, tz: tzinfo, prefix: str | None = None) -> str:
    """Return, as commented-out ``windows:`` items, a draft for each day whose time the notice gives in
    words not understood: its start and end read ``HH:MM`` until the operator writes them."""
    lines: list[str] = []
    for draft in reading.drafts:
        offset = _with_offset(datetime.combine(draft.day, time(12), tzinfo=tz))[-6:]
        system = draft.system or reading.system
        item = {"id": f"{slug(system if prefix is None else None, prefix)}-{draft.day:%Y-%m-%d}",
                "system": (system or "(set the system)")[:200], "start": f"{draft.day:%Y-%m-%d} HH:MM{offset}",
                "end": f"{draft.day:%Y-%m-%d} HH:MM{offset}", "status": "tentative", "source": draft.source[:4900]}
        lines.append(f"# Not understood: {draft.unread!r}. Write the start and end, then uncomment:")
        lines.extend("# " + line for line in dump({"windows": [item]}).splitlines()[1:])
    return "\n".join(lines) + "\n" if lines else ""

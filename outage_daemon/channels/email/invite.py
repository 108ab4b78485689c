"""The iTIP invite an email carries: the feed's event with an organizer and one attendee. Pure."""

from __future__ import annotations

from email.utils import parseaddr

from icalendar import Calendar

from outage_daemon.core.model import Config, Window
from outage_daemon.core.records import Revision
from outage_daemon.formats.ical import event, prodid, zone_years
from outage_daemon.formats.text import clean
from outage_daemon.formats.vtimezone import vtimezone


def invite(window: Window, config: Config, revision: Revision, method: str, organizer: str,
           attendee: str) -> bytes:
    """Given a window, its revision and an iTIP method (REQUEST or CANCEL), return the calendar
    an email carries: same UID and SEQUENCE as the feed, the organizer and the one attendee."""

    cal = Calendar()
    cal.add("prodid", prodid())
    cal.add("version", "2.0")
    cal.add("method", method)
    now = revision.last_modified
    for key, (first, last) in sorted(zone_years([window], now).items()):
        cal.add_component(vtimezone(key, first, last))
    ev = event(window, config, revision)
    if method == "CANCEL":
        ev["status"] = "CANCELLED"
    name, address = parseaddr(organizer)
    ev.add("organizer", f"mailto:{address}", parameters={"CN": clean(name)} if name else {})
    name, address = parseaddr(attendee)
    params = {"ROLE": "NON-PARTICIPANT", "PARTSTAT": "NEEDS-ACTION", "RSVP": "FALSE"}
    if name:
        params["CN"] = clean(name)
    ev.add("attendee", f"mailto:{address}", parameters=params)
    cal.add_component(ev)
    data: bytes = cal.to_ical()
    return data

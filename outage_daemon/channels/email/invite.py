"""The iTIP invite an email carries: the feed's event with an organizer and one attendee. Pure."""

from __future__ import annotations

from icalendar import Calendar

from outage_daemon.core import addresses
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
        ev.subcomponents = [c for c in ev.subcomponents if c.name != "VALARM"]  # nothing to remind of
    chair = addresses.parse(organizer)
    ev.add("organizer", f"mailto:{chair.address}", parameters={"CN": clean(chair.name)} if chair.name else {})
    guest = addresses.parse(attendee)
    params = {"ROLE": "NON-PARTICIPANT", "PARTSTAT": "NEEDS-ACTION", "RSVP": "FALSE"}
    if guest.name:
        params["CN"] = clean(guest.name)
    ev.add("attendee", f"mailto:{guest.address}", parameters=params)
    cal.add_component(ev)
    data: bytes = cal.to_ical()
    return data

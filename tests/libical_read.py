"""Evolution's libical expands feeds, many in one process: run with Debian's /usr/bin/python3 (python3-gi,
gir1.2-ical-3.0), not the virtualenv. Each line on stdin is a JSON object ``{"feed", "lo", "hi"}``
(iCalendar text, the span's start and end as ISO 8601 UTC); for each, one line goes to stdout: a JSON
array of ``[uid, start, end]``, UTC ISO times for timed events and YYYY-MM-DD for all-day ones, for
every occurrence starting from two days before the span to two days after it (tests/edgecheck.py).
libical's own ``icalcomponent_foreach_recurrence`` places them (RRULE, RDATE, EXDATE) with the
feed's VTIMEZONEs, as Evolution does.
"""

import json
import sys
from datetime import datetime, timedelta, timezone

import gi

gi.require_version("ICalGLib", "3.0")
from gi.repository import ICalGLib  # noqa: E402

UTC = timezone.utc


def _time(at):
    """Given an aware datetime, return libical's UTC time for it."""
    t = ICalGLib.Time.new_from_timet_with_zone(int(at.timestamp()), 0, ICalGLib.Timezone.get_utc_timezone())
    return t


def expand(feed, lo, hi):
    """Given a feed and a span, return its occurrences as ``[uid, start, end]`` rows."""
    cal = ICalGLib.Component.new_from_string(feed)
    lo, hi = lo - timedelta(days=2), hi + timedelta(days=2)
    out = []
    ev = cal.get_first_component(ICalGLib.ComponentKind.VEVENT_COMPONENT)
    while ev is not None:
        all_day = ev.get_dtstart().is_date()
        uid = ev.get_uid()

        def found(_comp, span, _data, uid=uid, all_day=all_day):
            start = datetime.fromtimestamp(span.get_start(), UTC)
            end = datetime.fromtimestamp(span.get_end(), UTC)
            if all_day:
                out.append([uid, start.date().isoformat(), end.date().isoformat()])
            else:
                out.append([uid, start.isoformat(), end.isoformat()])

        ev.foreach_recurrence(_time(lo), _time(hi), found, None)
        ev = cal.get_next_component(ICalGLib.ComponentKind.VEVENT_COMPONENT)
    return out


for line in sys.stdin:
    ask = json.loads(line)
    rows = expand(ask["feed"], datetime.fromisoformat(ask["lo"]), datetime.fromisoformat(ask["hi"]))
    sys.stdout.write(json.dumps(rows) + "\n")
    sys.stdout.flush()

// Thunderbird's ical.js (from .tools/, see the Makefile) expands a feed: the iCalendar text on stdin,
// the span's start and end (ISO 8601, UTC) as arguments. Prints one JSON array of
// [uid, start, end]: UTC ISO times for timed events, YYYY-MM-DD for all-day ones, for every
// occurrence starting from two days before the span to two days after it (tests/edgecheck.py).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "..", ".tools", "package.json"));
const ICAL = require("ical.js");

const day = 24 * 3600 * 1000;
const lo = new Date(Date.parse(process.argv[2]) - 2 * day);
const hi = new Date(Date.parse(process.argv[3]) + 2 * day);
const cal = new ICAL.Component(ICAL.parse(readFileSync(0, "utf8")));
for (const zone of cal.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(new ICAL.Timezone(zone));
}
const text = (t) => (t.isDate ? t.toString() : t.toJSDate().toISOString());
const out = [];
for (const vevent of cal.getAllSubcomponents("vevent")) {
  const ev = new ICAL.Event(vevent);
  if (!ev.isRecurring()) {
    out.push([ev.uid, text(ev.startDate), text(ev.endDate)]);
    continue;
  }
  const it = ev.iterator();
  for (let next = it.next(); next; next = it.next()) {
    const occ = ev.getOccurrenceDetails(next);
    if (occ.startDate.toJSDate() > hi) break;
    if (occ.startDate.toJSDate() >= lo) out.push([ev.uid, text(occ.startDate), text(occ.endDate)]);
  }
}
process.stdout.write(JSON.stringify(out));

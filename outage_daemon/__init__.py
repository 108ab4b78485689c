"""outage-daemon: planned outage windows as a calendar feed, with countdown reminders."""

"""``python -m outage_daemon``: the same as the ``outage-daemon`` command."""

import sys

from outage_daemon.cli import main

sys.exit(main())

"""``python -m outage_daemon``: the same as the ``outage-daemon`` command."""

import sys

from .cli import main

sys.exit(main())

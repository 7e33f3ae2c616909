"""``python -m vidstyle``: the command line (see :mod:`vidstyle.cli`)."""

import sys

from vidstyle.cli import main

sys.exit(main())

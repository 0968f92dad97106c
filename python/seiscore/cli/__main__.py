"""``python -m seiscore.cli``: the ``seiscore`` command."""

import sys

from .parser import main

sys.exit(main())

"""``python -m counterflow.cli``: the same entry point as the ``counterflow`` script."""

import sys

from counterflow.cli import main

sys.exit(main())

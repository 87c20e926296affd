"""`python -m counterflow`: the same command line as the `counterflow` script."""

import sys

from counterflow.cli import main

if __name__ == "__main__":
    sys.exit(main())

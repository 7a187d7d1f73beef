"""`python -m textrnn`: the command line."""

import sys

from textrnn.cli import main

if __name__ == "__main__":
    sys.exit(main())

"""Command-line entry: `python runner.py ...` does the same as the installed `bastidor` command."""

import sys

from bastidor.cli.main import main

if __name__ == "__main__":
    sys.exit(main())

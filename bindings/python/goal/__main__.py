"""`python -m goal ...` runs the command-line tool (see goal/cli.py)."""

import sys

from .cli import main

sys.exit(main())

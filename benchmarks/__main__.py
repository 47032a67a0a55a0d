"""`python -m benchmarks` (what `python3 run.py bench` runs): see `benchmarks/cli.py`."""

import sys

from benchmarks.cli import main

sys.exit(main())

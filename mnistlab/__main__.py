"""`python -m mnistlab ...` runs the command line of `mnistlab/cli.py`.

    python -m mnistlab predict IMAGE.png [--checkpoint PATH]
"""

import sys

from .cli import main

sys.exit(main())

"""Entry point: python -m devhost."""

import sys

from devhost.cli import main

sys.exit(main())

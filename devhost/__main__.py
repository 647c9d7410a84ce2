"""Entry point: python -m devhost."""

import os
import sys

from devhost.cli import main

# Everything devhost and its worker processes create under DATA_DIR (the Gold, documents and history SQLite
# files, the export files, the keys) is the user's own: SQLite would create its files 0644 and folders are
# made 0755. Set here, not in main(), so a test that calls main() in-process keeps its own umask.
os.umask(0o077)
sys.exit(main())

"""`python -m tests.faults`: run the fault matrix against fresh emulators and print it; exit 1 on a failed cell."""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from pathlib import Path

from tests.faults.lab import render_matrix, run_lab


def main() -> int:
    logging.basicConfig(level=logging.CRITICAL)  # the SDKs and the API log every injected fault
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="faults-") as workdir:
        cells = run_lab(Path(workdir))
    print(render_matrix(cells))
    failed = [c for c in cells if c.passed is False]
    print(f"\n{len(cells)} cells, {len(failed)} failed, in {time.monotonic() - started:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""The fault matrix runs once per session (all cells, store lanes in parallel); each cell is then a test."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.lab import Cell, run_lab
from tests.integration import emulators


@pytest.fixture(scope="session")
def fault_cells(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[tuple[str, str, str], Cell]]:
    reason = emulators.missing_reason()
    if reason is not None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"emulators unavailable under CI: {reason}", pytrace=False)
        pytest.skip(f"emulators unavailable: {reason}")
    quiet = logging.getLogger()
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # every injected fault is logged by the SDKs and the API
    try:
        cells = run_lab(Path(tmp_path_factory.mktemp("faults")))
    finally:
        quiet.setLevel(level)
    yield {(c.store, c.fault, c.operation): c for c in cells}

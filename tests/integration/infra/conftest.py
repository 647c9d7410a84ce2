"""The checkov scan of infra/ (a subprocess in checkov's own venv), offline."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.unit.infra.conftest import CHECKOV, INFRA, _require_checkov_venv

# Without these, checkov calls its vendor's API for guideline mappings and PyPI for a newer version.
CHECKOV_OFFLINE_ENV = {"BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "LOG_LEVEL": "WARNING"}


def run_checkov(directory: Path) -> dict[str, Any]:
    """checkov's bicep framework on a directory, offline; returns its JSON report (all results)."""
    _require_checkov_venv()
    completed = subprocess.run(
        [str(CHECKOV), "-d", str(directory), "--framework", "bicep", "-o", "json", "--skip-download"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=directory,
        env={**os.environ, **CHECKOV_OFFLINE_ENV},
    )
    # Offline for real: no guideline download from the vendor's platform, no update check.
    assert "prismacloud" not in completed.stderr, completed.stderr[-2000:]
    # Exit code 1 means failed checks; the report says which. Anything else is a crash of checkov.
    assert completed.returncode in (0, 1), completed.stderr[-2000:]
    report = json.loads(completed.stdout)
    # One framework gives one report; an empty scan prints an empty summary instead.
    if isinstance(report, list):
        (report,) = report
    result: dict[str, Any] = report
    return result


@pytest.fixture(scope="session")
def checkov_report() -> dict[str, Any]:
    return run_checkov(INFRA)

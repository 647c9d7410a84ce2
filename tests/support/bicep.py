"""The offline infrastructure checks' helpers: checkov's venv, its Bicep parser and its scan (the fixtures that
run them are in tests/integration/infra/conftest.py)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
BICEP = INFRA / "bicep"
CHECKOV_PYTHON = REPO / ".venv-checkov" / "bin" / "python"
CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"
PYCEP_DUMP = REPO / "tests" / "integration" / "infra" / "pycep_dump.py"


BicepParse = Callable[[list[str], str | None], dict[str, Any]]


def require_checkov_venv() -> None:
    # `make test` builds it first (.venv-checkov/.stamp); a missing venv is a setup error, not a skip.
    if not CHECKOV.exists():
        pytest.fail("checkov venv missing: run `make .venv-checkov/.stamp` (requirements-checkov.txt)")


def bicep_files() -> list[Path]:
    return sorted(BICEP.rglob("*.bicep"))


def template_of(templates: dict[Path, dict[str, Any]], relative: str) -> dict[str, Any]:
    result = templates[BICEP / relative]
    assert result["ok"], f"{relative}: {result['error']}"
    template: dict[str, Any] = result["template"]
    return template


# Without these, checkov calls its vendor's API for guideline mappings and PyPI for a newer version.
CHECKOV_OFFLINE_ENV = {"BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "LOG_LEVEL": "WARNING"}


def run_checkov(directory: Path) -> dict[str, Any]:
    """checkov's bicep framework on a directory, offline; returns its JSON report (all results)."""
    require_checkov_venv()
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

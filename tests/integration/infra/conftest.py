"""The offline infrastructure checks: checkov's venv, its Bicep parser (pycep, in a subprocess) and its scan.

They run programs of another venv, so they live here with the integration tests, not in tests/unit.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
INFRA = REPO / "infra"
BICEP = INFRA / "bicep"
CHECKOV_PYTHON = REPO / ".venv-checkov" / "bin" / "python"
CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"
PYCEP_DUMP = Path(__file__).with_name("pycep_dump.py")


BicepParse = Callable[[list[str], str | None], dict[str, Any]]


def _require_checkov_venv() -> None:
    # `make test` builds it first (.venv-checkov/.stamp); a missing venv is a setup error, not a skip.
    if not CHECKOV.exists():
        pytest.fail("checkov venv missing: run `make .venv-checkov/.stamp` (requirements-checkov.txt)")


def bicep_files() -> list[Path]:
    return sorted(BICEP.rglob("*.bicep"))


@pytest.fixture(scope="session")
def parse_bicep() -> BicepParse:
    """Factory: parse Bicep files (or one text on stdin with path "-") with pycep in checkov's venv."""
    _require_checkov_venv()

    def parse(paths: list[str], stdin_text: str | None = None) -> dict[str, Any]:
        completed = subprocess.run(
            [str(CHECKOV_PYTHON), str(PYCEP_DUMP), *paths],
            input=stdin_text,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        result: dict[str, Any] = json.loads(completed.stdout)
        return result

    return parse


@pytest.fixture(scope="session")
def bicep_templates(parse_bicep: BicepParse) -> dict[Path, dict[str, Any]]:
    """Every .bicep file under infra/bicep, parsed once: {path: {"ok", "error", "template"}}."""
    parsed = parse_bicep([str(path) for path in bicep_files()], None)
    return {Path(name): result for name, result in parsed.items()}


def template_of(templates: dict[Path, dict[str, Any]], relative: str) -> dict[str, Any]:
    result = templates[BICEP / relative]
    assert result["ok"], f"{relative}: {result['error']}"
    template: dict[str, Any] = result["template"]
    return template


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

"""The offline infrastructure checks: checkov's venv, its Bicep parser (pycep, in a subprocess) and its scan.

They run programs of another venv, so they live here with the integration tests, not in tests/unit. Their
helpers are in tests/support/bicep.py.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.bicep import (
    CHECKOV_PYTHON,
    INFRA,
    PYCEP_DUMP,
    BicepParse,
    bicep_files,
    require_checkov_venv,
    run_checkov,
)


@pytest.fixture(scope="session")
def parse_bicep() -> BicepParse:
    """Factory: parse Bicep files (or one text on stdin with path "-") with pycep in checkov's venv."""
    require_checkov_venv()

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


@pytest.fixture(scope="session")
def checkov_report() -> dict[str, Any]:
    return run_checkov(INFRA)

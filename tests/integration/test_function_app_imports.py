"""What loading the app costs: every process that indexes function_app (each Azure worker, devhost's HTTP
process and its activity workers) imports every blueprint, so the data libraries that only the
materialization and the Parquet exports use (pandas, pyarrow, numpy: ~100 MiB of RSS) are imported by the
functions that need them, not at module level."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "pyarrow", "numpy", "pyodbc")


def modules_loaded_by(code: str, data_dir: Path | None = None) -> set[str]:
    """The HEAVY top-level packages in sys.modules after running `code` in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    env = {**os.environ, **({"DATA_DIR": str(data_dir)} if data_dir else {})}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def test_indexing_the_app_imports_no_data_library() -> None:
    assert modules_loaded_by("import function_app") == set()


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        # the activity's module loads them when it runs (the lazy import is real, not dead code)
        ("import function_app\nfrom domain import materialization", {"pandas", "pyarrow", "numpy"}),
        # rendering CSV cells from arrays builds its tables with numpy on first use only
        ("from domain import csv_export\ncsv_export.format_numbers([1.5])", {"numpy"}),
        ("from domain import bulk_export, csv_export, quarantine, ports", set()),
    ],
)
def test_the_data_libraries_come_with_the_code_that_uses_them(code: str, expected: set[str]) -> None:
    assert modules_loaded_by(code) == expected


def test_building_the_stores_imports_no_data_library(tmp_path: Path) -> None:
    # Every process builds a Gold reader with its stores (the HTTP process too, which never reads Gold).
    code = "import function_app\nfrom stores.factory import Caller, get_stores\nget_stores(Caller.reads)\nget_stores()"
    assert modules_loaded_by(code, tmp_path) == set()

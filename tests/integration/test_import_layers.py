"""The import contracts of .importlinter (import-linter): the flow Gold → domain → stores → api / activities /
orchestrations stays one way, domain/ imports no Azure SDK and no adapter, and what ships imports no local tooling."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / ".importlinter"
PACKAGES = ("domain", "core", "stores", "api", "activities", "orchestrations", "devhost", "localdev")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports with the repository's contracts over the packages under `root`."""
    command = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command as c; c()"]
    args = [str(CONFIG), "--no-cache"]
    return subprocess.run([*command, *args], cwd=root, capture_output=True, text=True, timeout=120, check=False)


def test_the_repository_keeps_its_import_contracts() -> None:
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "Contracts: 3 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("domain/aggregate.py", "import stores.ports", "domain imports no Azure SDK"),
        ("stores/gold.py", "import api.http", "one way"),
        ("domain/aggregate.py", "import azure.cosmos", "domain imports no Azure SDK"),
        ("stores/gold.py", "import localdev.gold_import", "imports no local tooling"),
        ("api/http.py", "import devhost.server", "imports no local tooling"),
    ],
)
def test_a_backward_import_breaks_a_contract(tmp_path: Path, module: str, line: str, broken: str) -> None:
    for package in PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "api" / "http.py").write_text("")
    (tmp_path / "stores" / "ports.py").write_text("")
    (tmp_path / "localdev" / "gold_import.py").write_text("")
    (tmp_path / "devhost" / "server.py").write_text("")
    (tmp_path / module).write_text(line + "\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout[-3000:]
    broken_contracts = [line for line in result.stdout.splitlines() if line.endswith(" BROKEN")]
    assert any(broken in line for line in broken_contracts), result.stdout[-3000:]

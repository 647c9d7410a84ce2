"""azure.yaml wiring and the post-provision hook that grants the identity SELECT on the Gold tables of Gold SQL.

The hook runs for real (sh); only `sqlcmd`, which would reach Azure SQL, is a recording stand-in on PATH.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.bicep import REPO

HOOK = REPO / "infra" / "scripts" / "postprovision.sh"
WINDOWS_HOOK = REPO / "infra" / "scripts" / "postprovision.ps1"
GRANT_SQL = REPO / "infra" / "scripts" / "grant-gold-reader.sql"


@pytest.fixture(scope="module")
def azure_yaml() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((REPO / "azure.yaml").read_text(encoding="utf-8"))
    return document


def test_azure_yaml_points_at_the_bicep_and_the_app(azure_yaml: dict[str, Any]) -> None:
    assert azure_yaml["infra"] == {"provider": "bicep", "path": "infra/bicep", "module": "main"}
    assert azure_yaml["services"]["api"] == {"project": ".", "language": "python", "host": "function"}
    assert (REPO / "infra" / "bicep" / "main.bicep").is_file()
    assert (REPO / "function_app.py").is_file()


def test_azure_yaml_runs_the_hook(azure_yaml: dict[str, Any]) -> None:
    hook = azure_yaml["hooks"]["postprovision"]["posix"]
    assert (REPO / hook["run"]).resolve() == HOOK
    assert HOOK.stat().st_mode & stat.S_IXUSR


def test_azure_yaml_runs_the_windows_hook_with_pwsh(azure_yaml: dict[str, Any]) -> None:
    """azd on Windows runs the `windows` variant; without one the hook fails there (no `sh`)."""
    hook = azure_yaml["hooks"]["postprovision"]["windows"]
    assert hook["shell"] == "pwsh"
    assert (REPO / hook["run"]).resolve() == WINDOWS_HOOK
    assert {key: value for key, value in hook.items() if key not in ("shell", "run")} == {
        key: value
        for key, value in azure_yaml["hooks"]["postprovision"]["posix"].items()
        if key not in ("shell", "run")
    }


# pwsh is not installed here: the Windows hook is held to the same inputs, outputs and sqlcmd call.
WINDOWS_PARITY = [
    "$env:API_IDENTITY_NAME",
    "$env:GOLD_SQL_SERVER",
    "$env:GOLD_SQL_DATABASE",
    "'grant-gold-reader.sql'",
    "API_IDENTITY_NAME is not set",
    "skipping the Gold SQL grant",
    "sqlcmd not found",
    "--authentication-method ActiveDirectoryDefault -b",
    '-v "IDENTITY_NAME=$identity" -i $sqlFile',
    "exit $LASTEXITCODE",
    "$ErrorActionPreference = 'Stop'",
]


@pytest.mark.parametrize("fragment", WINDOWS_PARITY)
def test_windows_hook_mirrors_the_posix_one(fragment: str) -> None:
    assert fragment in WINDOWS_HOOK.read_text(encoding="utf-8")


def test_grant_is_idempotent_and_least_privilege() -> None:
    sql = GRANT_SQL.read_text(encoding="utf-8")
    assert "CREATE USER [$(IDENTITY_NAME)] FROM EXTERNAL PROVIDER" in sql
    assert "IF NOT EXISTS" in sql
    assert "db_datawriter" not in sql and "db_owner" not in sql


def test_gold_reader_grant_is_select_on_the_gold_tables_only() -> None:
    """SELECT on each Gold table of infra/sql/gold_schema.sql, not db_datareader (every table and view of the
    database); an earlier grant of db_datareader is taken back."""
    sql = GRANT_SQL.read_text(encoding="utf-8")
    statements = [line.strip() for line in sql.splitlines() if line.strip() and not line.strip().startswith("--")]
    grants = [s for s in statements if s.startswith("GRANT ")]
    schema = (REPO / "infra" / "sql" / "gold_schema.sql").read_text(encoding="utf-8")
    tables = sorted(re.findall(r"^CREATE TABLE (\w+)", schema, re.MULTILINE))
    assert tables == ["DIM_REGION", "DIM_SOURCE", "DIM_TIME", "FACT_ENERGY_FLOW"]
    assert sorted(grants) == sorted(f"GRANT SELECT ON OBJECT::dbo.{t} TO [$(IDENTITY_NAME)];" for t in tables)
    assert not any("ADD MEMBER" in s for s in statements)
    assert "ALTER ROLE db_datareader DROP MEMBER [$(IDENTITY_NAME)];" in statements


@pytest.fixture
def fake_sqlcmd(tmp_path: Path) -> Path:
    """A `sqlcmd` on PATH that records its arguments (one per line) instead of calling Azure SQL."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "sqlcmd-args"
    script = bin_dir / "sqlcmd"
    script.write_text(f'#!/bin/sh\nfor arg in "$@"; do echo "$arg"; done > "{record}"\n', encoding="utf-8")
    script.chmod(0o755)
    return record


def run_hook(env: dict[str, str], path_prefix: Path | None = None) -> subprocess.CompletedProcess[str]:
    path = f"{path_prefix}:/usr/bin:/bin" if path_prefix else "/usr/bin:/bin"
    return subprocess.run(
        ["sh", str(HOOK)], env={"PATH": path, **env}, capture_output=True, text=True, timeout=30, check=False
    )


HOOK_CASES = [
    pytest.param({}, 1, "API_IDENTITY_NAME is not set", id="outside-azd"),
    pytest.param({"API_IDENTITY_NAME": "id-api-x"}, 0, "skipping the Gold SQL grant", id="no-gold-configured"),
    pytest.param(
        {"API_IDENTITY_NAME": "id-api-x", "GOLD_SQL_SERVER": "s.database.windows.net", "GOLD_SQL_DATABASE": ""},
        0,
        "skipping the Gold SQL grant",
        id="gold-database-missing",
    ),
]


@pytest.mark.parametrize(("env", "exit_code", "message"), HOOK_CASES)
def test_hook_without_a_gold_database(env: dict[str, str], exit_code: int, message: str) -> None:
    completed = run_hook(env)
    assert completed.returncode == exit_code
    assert message in completed.stdout + completed.stderr


def test_hook_without_sqlcmd_explains_the_manual_step() -> None:
    env = {"API_IDENTITY_NAME": "id-api-x", "GOLD_SQL_SERVER": "s.database.windows.net", "GOLD_SQL_DATABASE": "g"}
    if any((Path(d) / "sqlcmd").exists() for d in ("/usr/bin", "/bin")):
        pytest.skip("a real sqlcmd is installed on this machine")
    completed = run_hook(env)
    assert completed.returncode == 1
    assert "IDENTITY_NAME=id-api-x" in completed.stderr


def test_hook_runs_the_grant_as_the_signed_in_entra_admin(fake_sqlcmd: Path) -> None:
    env = {"API_IDENTITY_NAME": "id-api-x", "GOLD_SQL_SERVER": "s.database.windows.net", "GOLD_SQL_DATABASE": "g"}
    completed = run_hook(env, path_prefix=fake_sqlcmd.parent / "bin")
    assert completed.returncode == 0, completed.stderr
    args = fake_sqlcmd.read_text(encoding="utf-8").splitlines()
    assert args[args.index("-S") + 1] == "s.database.windows.net"
    assert args[args.index("-d") + 1] == "g"
    assert args[args.index("--authentication-method") + 1] == "ActiveDirectoryDefault"
    assert args[args.index("-v") + 1] == "IDENTITY_NAME=id-api-x"
    assert Path(args[args.index("-i") + 1]).resolve() == GRANT_SQL
    assert "-b" in args  # stop on the first SQL error


def test_main_bicep_outputs_what_the_hook_reads() -> None:
    main = (REPO / "infra" / "bicep" / "main.bicep").read_text(encoding="utf-8")
    hook = HOOK.read_text(encoding="utf-8")
    for name in ("API_IDENTITY_NAME", "GOLD_SQL_SERVER", "GOLD_SQL_DATABASE"):
        assert f"output {name} string" in main
        assert "${" + name in hook
    assert os.access(HOOK, os.X_OK)

"""`python -m ops.smoke` against devhost: passes on the real app, fails on broken targets."""

from __future__ import annotations

import subprocess
import sys

import pytest

from devhost.testing import free_port
from tests.support.e2e_api import REPO, DevhostServer

pytestmark = pytest.mark.e2e

CHECKS = ["health", "openapi", "regions", "point", "range", "csv"]


def run_smoke(url: str, key: str) -> subprocess.CompletedProcess[str]:
    # `--key=`: a generated key begins with "-" one time in 64, and `--key -abc` reads as an option.
    command = [sys.executable, "-m", "ops.smoke", f"--url={url}", f"--key={key}", "--timeout", "20"]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)


def verdicts(output: str) -> dict[str, str]:
    lines = [line.split() for line in output.splitlines() if line.startswith(("ok", "FAIL"))]
    return {parts[1]: parts[0] for parts in lines}


def test_smoke_passes_on_devhost(devhost_server: DevhostServer) -> None:
    result = run_smoke(devhost_server.base_url, devhost_server.reader_key)
    assert result.returncode == 0, result.stdout + result.stderr
    assert verdicts(result.stdout) == dict.fromkeys(CHECKS, "ok")
    assert "smoke: 6/6 passed" in result.stdout


def test_smoke_fails_with_a_wrong_key(devhost_server: DevhostServer) -> None:
    result = run_smoke(devhost_server.base_url, "not-a-key")
    assert result.returncode == 1
    found = verdicts(result.stdout)
    assert found["health"] == found["openapi"] == "ok"  # public routes
    assert {found[name] for name in ("regions", "point", "range", "csv")} == {"FAIL"}
    assert "401" in result.stdout


def test_smoke_fails_when_nothing_listens() -> None:
    result = run_smoke(f"http://127.0.0.1:{free_port()}", "any")
    assert result.returncode == 1
    assert verdicts(result.stdout) == dict.fromkeys(CHECKS, "FAIL")

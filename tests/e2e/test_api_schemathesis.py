"""schemathesis (every check, positive and negative data, all four phases) against devhost: it finds nothing.

The run is bounded by MAX_EXAMPLES per operation (about 1,000-1,500 cases, under two minutes on two cores);
schemathesis.toml and schemathesis_hooks.py hold the only allowances, each with its reason.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from devhost.testing import DevhostProcess, devhost_env
from tests.support.e2e_api import MATERIALIZED_TIMEOUT, REPO

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MAX_EXAMPLES = 60
SEED = 20261130
CONFIG = Path(__file__).with_name("schemathesis.toml")
OPERATOR_KEY = "schemathesis-operator-key"


def test_schemathesis_finds_nothing(launch_devhost: Callable[..., DevhostProcess], tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    api_keys = f"operator:{hashlib.sha256(OPERATOR_KEY.encode()).hexdigest()}"
    # No rate limit: the run is one credential sending ~20 requests a second (429 is tested on its own).
    env = devhost_env(data_dir, API_KEYS=api_keys, RATE_LIMIT_REQUESTS="0")
    host = launch_devhost(data_dir=data_dir, env=env)
    assert host.wait_for("materialize-incremental", MATERIALIZED_TIMEOUT)["runtimeStatus"] == "Completed"
    report = tmp_path / "schemathesis.json"
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(CONFIG),
        "run",
        f"{host.base_url}/v1/openapi.json",
        "--checks",
        "all",
        "--mode",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--header",
        f"X-API-Key: {OPERATOR_KEY}",
        "--generation-database",
        "none",
        "--no-color",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    run_env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(command, cwd=tmp_path, env=run_env, capture_output=True, text=True, timeout=420)
    summary = json.loads(report.read_text()) if report.exists() else {}
    print(f"schemathesis: {summary.get('test_cases')} in {summary.get('running_time', 0):.0f} s")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert summary["operations"]["tested"] == summary["operations"]["total"] >= 10
    assert summary["test_cases"]["generated"] >= 500 and summary["test_cases"]["with_failures"] == 0
    assert all(phase["status"] == "success" for phase in summary["phases"].values()), summary["phases"]

"""`make run` with an app the real worker refuses (activity annotated dict[str, Any]) fails at start."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from devhost.host import free_port

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
WORKER_MESSAGE = "cannot load the work function: binding payload has invalid non-type annotation dict[str, typing.Any]"


def test_make_run_fails_at_start_with_the_worker_message(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DEVHOST_APP": "tests.fixtures.devhost_apps.refused_app:app",
        "DATA_DIR": str(tmp_path),
    }
    done = subprocess.run(
        ["make", "-s", "run", f"PORT={free_port()}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "devhost listening" not in done.stdout
    # One clean line with the worker's message (plus make's own "Error" line), no Python traceback.
    refusal = [line for line in done.stderr.splitlines() if WORKER_MESSAGE in line]
    assert refusal == [
        f"devhost: tests.fixtures.devhost_apps.refused_app:app would not load on Azure Functions: {WORKER_MESSAGE}"
    ]
    assert "Traceback" not in done.stderr

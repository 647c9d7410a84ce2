"""kill -9 devhost in the middle of a fan-out, start it again: the orchestration finishes with the same result."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from devhost.testing import DevhostProcess

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
APP = "tests.fixtures.devhost_apps.scenarios:app"
COUNT, DELAY = 48, 0.15  # ~2 s of activity work on 4 workers: wide enough to kill in the middle


def start(host: DevhostProcess, instance_id: str, out_dir: Path) -> None:
    job: dict[str, Any] = {"dir": str(out_dir), "count": COUNT, "delay": DELAY}
    response = requests.post(f"{host.base_url}/orchestrators/crashable/{instance_id}", json=job, timeout=10)
    assert response.status_code == 202, response.text


def files_of(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.glob("part-*.txt"))}


def test_killed_devhost_resumes_and_finishes_with_the_same_output(
    launch_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    reference_out, crash_out = tmp_path / "reference", tmp_path / "crash"
    reference_out.mkdir()
    crash_out.mkdir()

    reference = launch_devhost(app=APP)
    start(reference, "job", reference_out)
    expected: dict[str, Any] = reference.wait_for("job", 60)
    assert expected["runtimeStatus"] == "Completed"

    crashing = launch_devhost(app=APP)
    start(crashing, "job", crash_out)
    deadline = time.monotonic() + 30
    while len(files_of(crash_out)) < COUNT // 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    crashing.kill()
    written_before_kill = len(files_of(crash_out))
    assert 0 < written_before_kill < COUNT, "the kill must land in the middle of the fan-out"

    resumed = launch_devhost(data_dir=crashing.data_dir, app=APP, port=crashing.port)
    result = resumed.wait_for("job", 60)
    assert result["runtimeStatus"] == "Completed"
    assert result["output"] == expected["output"]
    assert files_of(crash_out) == files_of(reference_out)
    assert len(files_of(crash_out)) == COUNT


def test_sigterm_mid_run_stops_cleanly_and_resumes(
    launch_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    host = launch_devhost(app=APP)
    start(host, "job", out)
    deadline = time.monotonic() + 30
    while not files_of(out) and time.monotonic() < deadline:
        time.sleep(0.02)
    stopped_at = time.monotonic()
    assert host.stop() == 0
    assert time.monotonic() - stopped_at < 15  # in-flight activities get a short grace, not the whole run
    assert "devhost stopping" in host.output()
    assert len(files_of(out)) < COUNT

    resumed = launch_devhost(data_dir=host.data_dir, app=APP, port=host.port)
    result = resumed.wait_for("job", 60)
    assert result["runtimeStatus"] == "Completed" and len(result["output"]["files"]) == COUNT
    assert len(files_of(out)) == COUNT

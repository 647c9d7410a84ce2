"""The real app on devhost: while a backfill runs, an overlapping one is refused with 409 naming it (through
the Durable client's instance listing), a disjoint one starts, and the same one returns the running run."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from devhost.testing import DevhostProcess, devhost_env
from tests.e2e.test_devhost_backfill_crash import NO_TIMER
from tests.support.e2e_api import DevhostServer, assert_problem, prepared_dir

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_overlapping_backfill_is_409_while_one_runs(
    launch_devhost: Callable[..., DevhostProcess], devhost_server: DevhostServer, tmp_path: Path
) -> None:
    key = secrets.token_urlsafe(16)
    data_dir = prepared_dir(tmp_path, "overlap", devhost_server.data_dir / "gold.sqlite")
    env = devhost_env(data_dir, API_KEYS=f"operator:{hashlib.sha256(key.encode()).hexdigest()}",
                      MATERIALIZE_SCHEDULE="0 0 0 1 1 *")  # fmt: skip
    host = launch_devhost(data_dir=data_dir, env=env, serve_args=NO_TIMER)

    def post(body: dict[str, str | list[str]]) -> requests.Response:
        url = f"{host.base_url}/v1/admin/backfills"
        return requests.post(url, json=body, headers={"X-API-Key": key}, timeout=30)

    year = post({"start_date": "2024-01-01", "end_date": "2024-03-31"})  # long enough to be running below
    assert year.status_code == 202, year.text
    running_id = year.json()["id"]

    overlapping = post({"start_date": "2024-03-01", "end_date": "2024-06-30", "region_codes": ["11"]})
    problem = assert_problem(overlapping, 409)
    assert running_id in problem["detail"]
    assert post({"start_date": "2024-01-01", "end_date": "2024-03-31"}).json()["already_running"] is True

    disjoint = post({"start_date": "2024-06-01", "end_date": "2024-06-02"})  # no day in common
    assert disjoint.status_code == 202, disjoint.text
    assert host.wait_for(running_id, 300)["runtimeStatus"] == "Completed"
    assert host.wait_for(disjoint.json()["id"], 300)["runtimeStatus"] == "Completed"
    assert post({"start_date": "2024-03-01", "end_date": "2024-05-31", "region_codes": ["11"]}).status_code == 202

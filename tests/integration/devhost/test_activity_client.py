"""An activity with a durableClient input gets the host's client binding, as the Functions host gives it to any
function: it can start orchestrations that run on their own (the webhook deliveries start this way). Async
activities run on one event loop per process (the SDK's client keeps one aiohttp session bound to its loop)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from devhost.host import RunningHost, start_host, stop_host
from tests.fixtures.devhost_apps import worker_probe

APP = "tests.fixtures.devhost_apps.worker_probe:app"


async def _final(host: RunningHost, instance_id: str) -> tuple[str, object]:
    for _ in range(600):
        inst = host.engine.client.get(instance_id)
        if inst is not None and inst.status in ("Completed", "Failed"):
            return inst.status, json.loads(inst.output) if inst.output else None
        await asyncio.sleep(0.05)
    raise AssertionError(f"{instance_id} did not finish")


@pytest.mark.parametrize("processes", [0, 1], ids=["threads", "worker-process"])
async def test_an_activity_starts_orchestrations_through_its_client_binding(tmp_path: Path, processes: int) -> None:
    host = await start_host(
        worker_probe.app, tmp_path, timers=False, app_spec=APP if processes else None, worker_processes=processes
    )
    try:
        host.engine.client.start_new("starter", "parent", None)
        assert await _final(host, "parent") == ("Completed", ["parent-a", "parent-b"])
        for child in ("parent-a", "parent-b"):
            assert (await _final(host, child))[0] == "Completed"
    finally:
        await stop_host(host, grace_seconds=1)

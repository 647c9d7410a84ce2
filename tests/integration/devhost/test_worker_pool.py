"""devhost's worker processes: activities spread over processes that each import the app once; failures,
dead workers, shutdown and orphans handled as the Functions host handles its language workers."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from devhost.clock import SimulatedClock
from devhost.engine import DurableEngine
from devhost.functions import FunctionIndex, read_max_concurrent_activities
from devhost.worker_pool import (
    ActivityError,
    WorkerExited,
    WorkerPool,
    worker_process_count,
    worker_thread_count,
)
from tests.fixtures.devhost_apps import worker_probe

APP = "tests.fixtures.devhost_apps.worker_probe:app"
Pools = Callable[..., WorkerPool]


@pytest.fixture
async def make_pool() -> AsyncIterator[Pools]:
    pools: list[WorkerPool] = []

    def factory(
        processes: int = 2,
        threads: int | None = 1,
        max_in_flight: int = 4,
    ) -> WorkerPool:
        pool = WorkerPool(APP, processes, threads, max_in_flight=max_in_flight)
        pools.append(pool)
        return pool

    yield factory
    for pool in pools:
        await pool.stop(grace_seconds=2)


async def call(pool: WorkerPool, name: str, value: object) -> object:
    output = await pool.run(name, json.dumps(value))
    return None if output is None else json.loads(output)


async def test_a_fan_out_runs_in_every_process_each_with_its_clients_built_once(make_pool: Pools) -> None:
    pool = make_pool(processes=2)
    await pool.start()
    results = await asyncio.gather(*(call(pool, "burn", 150) for _ in range(12)))
    by_pid: dict[int, set[str]] = {}
    for result in results:
        assert isinstance(result, dict) and result["spun"]
        by_pid.setdefault(result["pid"], set()).add(result["client"])
    assert len(by_pid) == 2 and os.getpid() not in by_pid
    assert all(len(clients) == 1 for clients in by_pid.values())  # one module import per process


async def test_an_activity_error_carries_its_type_message_and_traceback(make_pool: Pools) -> None:
    pool = make_pool(processes=1)
    with pytest.raises(ActivityError) as raised:
        await call(pool, "boom", "x")
    assert (raised.value.type_name, raised.value.message) == ("ValueError", "refused x")
    assert "worker_probe.py" in raised.value.details and "in boom" in raised.value.details


async def test_an_unknown_activity_fails_like_the_worker(make_pool: Pools) -> None:
    pool = make_pool(processes=1)
    with pytest.raises(ActivityError, match="The function 'nope' doesn't exist"):
        await call(pool, "nope", 1)


async def test_a_dead_worker_fails_its_invocation_and_a_new_one_takes_its_place(make_pool: Pools) -> None:
    pool = make_pool(processes=1)
    await pool.start()
    first = await call(pool, "nap", 0)
    with pytest.raises(WorkerExited, match="exited with code 7"):
        await call(pool, "die", 7)
    second = await call(pool, "nap", 0)
    assert isinstance(first, int) and isinstance(second, int) and first != second
    assert pool.started == 2


async def test_stop_cancels_what_runs_past_the_grace_and_ends_the_processes(make_pool: Pools) -> None:
    pool = make_pool(processes=1, threads=2)
    await pool.start()
    pid = await call(pool, "nap", 0)
    running = asyncio.ensure_future(call(pool, "nap", 30))
    await asyncio.sleep(0.3)
    started = time.monotonic()
    await pool.stop(grace_seconds=0.5)
    assert time.monotonic() - started < 5
    await asyncio.sleep(0)
    assert running.cancelled()  # cancelled, not failed: the work row stays for the next start
    assert isinstance(pid, int)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


async def test_in_flight_invocations_never_exceed_the_limit(make_pool: Pools) -> None:
    pool = make_pool(processes=2, threads=4, max_in_flight=2)
    await pool.start()
    started = time.monotonic()
    await asyncio.gather(*(call(pool, "nap", 0.3) for _ in range(4)))
    assert time.monotonic() - started >= 0.6  # two waves of two, not one wave of four


def test_a_worker_exits_when_its_host_is_killed() -> None:
    host = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    worker = subprocess.Popen(
        [sys.executable, "-m", "devhost.worker", "--app", APP, "--parent-pid", str(host.pid)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        time.sleep(0.5)
        assert worker.poll() is None
        host.kill()
        host.wait(5)
        assert worker.wait(10) == 1
    finally:
        for process in (host, worker):
            if process.poll() is None:
                process.kill()


@pytest.mark.parametrize(
    ("env", "hook", "expected"),
    [
        ({}, None, 1),  # Azure's default
        ({"FUNCTIONS_WORKER_PROCESS_COUNT": "3"}, None, 3),
        ({}, "2", 2),  # the app's hook gives the local default
        ({"FUNCTIONS_WORKER_PROCESS_COUNT": "4"}, "2", 4),  # the setting wins over the hook
        ({"FUNCTIONS_WORKER_PROCESS_COUNT": "0"}, None, 1),
        ({"FUNCTIONS_WORKER_PROCESS_COUNT": "50"}, None, 10),  # the host's ceiling
        ({"FUNCTIONS_WORKER_PROCESS_COUNT": "many"}, None, 1),
    ],
)
def test_worker_process_count(env: dict[str, str], hook: str | None, expected: int) -> None:
    assert worker_process_count(env, default=lambda name: hook) == expected


@pytest.mark.parametrize(
    ("env", "expected"),
    [({}, None), ({"PYTHON_THREADPOOL_THREAD_COUNT": "3"}, 3), ({"PYTHON_THREADPOOL_THREAD_COUNT": "x"}, None)],
)
def test_worker_thread_count(env: dict[str, str], expected: int | None) -> None:
    assert worker_thread_count(env) == expected


async def test_the_engine_runs_a_fan_out_in_its_worker_processes(tmp_path: Path) -> None:
    pool = WorkerPool(APP, 2, 1, max_in_flight=4)
    index = FunctionIndex(worker_probe.app)
    engine = DurableEngine(index, tmp_path / "d.sqlite", clock=SimulatedClock(), worker_pool=pool)
    try:
        spread = engine.client.start_new("spread", "s", json.dumps(8))
        refused = engine.client.start_new("refused", "r", None)
        await engine.run_until_idle()
        done, failed = engine.store.get(spread), engine.store.get(refused)
        assert done is not None and failed is not None
        assert done.status == "Completed" and len(json.loads(done.output or "[]")) == 2
        assert failed.status == "Failed"
        assert "Activity function 'boom' failed: ValueError: refused y" in (failed.output or "")
    finally:
        await engine.stop(grace_seconds=1)


@pytest.mark.parametrize(
    ("host_json", "expected"),
    [
        (None, 20),  # no host.json: the extension's default, 10 per core (2 cores here)
        ({"extensions": {"durableTask": {"hubName": "h"}}}, 20),
        ({"extensions": {"durableTask": {"maxConcurrentActivityFunctions": 3}}}, 3),
    ],
)
def test_max_concurrent_activities_from_host_json(tmp_path: Path, host_json: dict | None, expected: int) -> None:
    path = tmp_path / "host.json"
    if host_json is not None:
        path.write_text(json.dumps(host_json))
    assert read_max_concurrent_activities(path, cpu_count=2) == expected


async def test_the_workers_live_as_long_as_the_pool_as_the_hosts_do(make_pool: Pools) -> None:
    pool = make_pool(processes=1)
    await pool.start()
    first = await call(pool, "nap", 0)
    await asyncio.sleep(0.5)
    assert await call(pool, "nap", 0) == first and pool.started == 1
    assert isinstance(first, int) and os.getpriority(os.PRIO_PROCESS, first) == os.getpriority(os.PRIO_PROCESS, 0)

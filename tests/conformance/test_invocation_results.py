"""A function with no return binding that returns a value: the worker fails the invocation, devhost too."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost.functions import FunctionIndex
from devhost.invoke import invoke, timer_request
from tests.conformance.grpc_host import WorkerHost
from tests.fixtures.devhost_apps import timer_results

TIMER_INFO = json.dumps({"Schedule": {"AdjustForDST": True}, "ScheduleStatus": None, "IsPastDue": False})


@pytest.fixture(scope="module")
def timer_worker(worker_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerHost]:
    # The worker loads function_app.py from its script root (and drops PYTHONPATH): the fixture app's own text.
    app_dir = tmp_path_factory.mktemp("timer-app")
    (app_dir / "function_app.py").write_text(Path(timer_results.__file__).read_text())
    env = dict(os.environ)
    worker = WorkerHost(worker_dir, app_dir, env, app_dir / "worker.log")
    try:
        worker.start().index_and_load()
    except BaseException:
        worker.stop()
        raise
    yield worker
    worker.stop()


def _devhost_outcome(name: str) -> str:
    info = next(f for f in FunctionIndex(timer_results.app).functions if f.name == name)
    try:
        asyncio.run(invoke(info, {info.trigger_name: timer_request()}))
    except Exception as exc:  # the worker reports "<type>: <message>"
        return f"{type(exc).__name__}: {exc}"
    return "success"


@pytest.mark.parametrize(
    ("name", "fails"), [("returns_value", True), ("returns_value_async", True), ("returns_none", False)]
)
def test_a_timer_result_fails_the_same_way_through_the_worker_and_devhost(
    timer_worker: WorkerHost, name: str, fails: bool
) -> None:
    protos = timer_worker.protos
    response = timer_worker.invoke(name, {"timer": protos.TypedData(json=TIMER_INFO)})
    failed = response.result.status == protos.StatusResult.Failure
    worker = response.result.exception.message if failed else "success"
    assert failed is fails, worker
    assert _devhost_outcome(name) == worker

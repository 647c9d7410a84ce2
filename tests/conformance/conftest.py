"""The real Azure Functions Python worker, built once per session (source + stubs, see devhost.real_worker)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost.functions import FunctionIndex, read_route_prefix
from devhost.real_worker import BUILD_DIR, HOW_TO_RUN, WORKER_SOURCE, build_worker, built_worker
from devhost.testing import DevhostProcess, devhost_env, free_port
from tests.conformance.grpc_host import WorkerHost
from tests.support.conformance import Pair
from tests.support.e2e_api import MATERIALIZED_TIMEOUT, REPO
from tests.support.xdist_once import file_lock

# Without the worker's source the whole suite is left out, said once in the summary.
WORKER_AVAILABLE = built_worker() is not None or (WORKER_SOURCE / "worker.py").is_file()
collect_ignore_glob = [] if WORKER_AVAILABLE else ["test_*.py"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not WORKER_AVAILABLE:
        terminalreporter.write_line(f"tests/conformance skipped: {HOW_TO_RUN}")


@pytest.fixture(scope="session")
def worker_dir() -> Path:
    with file_lock(BUILD_DIR.parent / "worker-build.lock"):  # each xdist worker asks; the first one builds
        built = build_worker()
    if built is None:
        pytest.skip(HOW_TO_RUN)
    return built


@pytest.fixture(scope="session")
def pair(worker_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    data_dir = tmp_path_factory.mktemp("conformance")
    keys = {role: secrets.token_urlsafe(24) for role in ("reader", "operator")}
    api_keys = ",".join(f"{role}:{hashlib.sha256(key.encode()).hexdigest()}" for role, key in keys.items())
    system_key = secrets.token_urlsafe(24)
    port = free_port()
    env = devhost_env(
        data_dir,
        API_KEYS=api_keys,
        DEVHOST_SYSTEM_KEY=system_key,
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        RATE_LIMIT_REQUESTS="100000",  # one bucket per process: the table must not meet the limit on one side
    )
    devhost = DevhostProcess(data_dir, port, [], env)
    worker = WorkerHost(worker_dir, REPO, env, data_dir / "worker.log")
    try:
        devhost.start()
        worker.start().index_and_load()
        result = devhost.wait_for("materialize-incremental", MATERIALIZED_TIMEOUT)
        assert result["runtimeStatus"] == "Completed", result
        import function_app

        yield Pair(
            devhost, worker, FunctionIndex(function_app.app, read_route_prefix(REPO / "host.json")), keys, system_key
        )
    finally:
        worker.stop()
        if devhost.process is not None:
            devhost.stop()

"""devhost as a real subprocess (`python -m devhost serve`) on a free port with a temporary DATA_DIR."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devhost.testing import DevhostProcess, devhost_env, free_port, new_api_keys
from tests.support.e2e_api import MATERIALIZED_TIMEOUT, SAMPLE_STALE_AFTER_SECONDS, Api, DevhostServer


@pytest.fixture
def launch_devhost(tmp_path: Path) -> Iterator[Callable[..., DevhostProcess]]:
    """Factory: launch_devhost(data_dir=, app=, env=, port=, serve_args=) -> a started DevhostProcess."""
    started: list[DevhostProcess] = []

    def launch(
        data_dir: Path | None = None,
        app: str | None = None,
        env: dict[str, str] | None = None,
        port: int | None = None,
        serve_args: list[str] | None = None,
    ) -> DevhostProcess:
        directory = data_dir or tmp_path / f"data-{len(started)}"
        directory.mkdir(parents=True, exist_ok=True)
        cli_args = ["--app", app] if app else []
        environment = env or devhost_env(directory)
        process = DevhostProcess(directory, port or free_port(), cli_args, environment, serve_args or [])
        started.append(process)
        return process.start()

    yield launch
    for process in started:
        process.kill()


@pytest.fixture(scope="session")
def devhost_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevhostServer]:
    """The REAL function_app.py on devhost with the embedded stores and the sample Gold DB, materialized.

    One per pytest process: under `-n 2` each xdist worker has its own (its files read it, none writes to it)."""
    data_dir = tmp_path_factory.mktemp("devhost-e2e")
    keys = new_api_keys()
    # The sample data ends on 2024-12-31: with the default HEALTH_STALE_AFTER_SECONDS (2 h) health would say
    # degraded for staleness (tests/e2e/test_explorer_browser.py asserts that on its own devhost); here it is years.
    env = devhost_env(data_dir, API_KEYS=keys.env_value, HEALTH_STALE_AFTER_SECONDS=SAMPLE_STALE_AFTER_SECONDS)
    process = DevhostProcess(data_dir, free_port(), [], env)
    try:
        process.start()
        result = process.wait_for("materialize-incremental", MATERIALIZED_TIMEOUT)
        assert result["runtimeStatus"] == "Completed", result
        yield DevhostServer(process.base_url, keys.reader, keys.operator, data_dir)
    finally:
        if process.process is not None:
            process.stop()


@pytest.fixture(scope="module")
def api(devhost_server: DevhostServer) -> Iterator[Api]:
    """requests on the session's devhost, one session per test file; every response kept (Api.seen)."""
    client = Api(devhost_server)
    yield client
    client.session.close()

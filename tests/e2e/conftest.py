"""devhost as a real subprocess (`python -m devhost serve`) on a free port with a temporary DATA_DIR."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest
import requests

from bench.devhost_process import free_port, new_api_keys
from devhost.webhook_guard import KEY_FILE, KEY_SETTING

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 300.0  # the sample Gold DB is built before devhost listens
MATERIALIZED_TIMEOUT = 180.0
# Settings that would switch the app away from the embedded stores, or leak the caller's keys.
_SCRUBBED = ("API_KEYS", "COSMOS_ENDPOINT", "COSMOS_KEY", "BLOB_CONNECTION_STRING", "BLOB_ACCOUNT_URL",
             "GOLD_ODBC_CONNECTION_STRING", "GOLD_SQL_SERVER", "GOLD_SQLITE_PATH", "DEVHOST_APP",
             "APPLICATIONINSIGHTS_CONNECTION_STRING", "PUBLIC_BASE_URL")  # fmt: skip


@dataclass
class DevhostProcess:
    """One `python -m devhost serve` subprocess; its output goes to a log file under DATA_DIR."""

    data_dir: Path
    port: int
    args: list[str]  # before the command: --app
    env: dict[str, str]
    serve_args: list[str] = field(default_factory=list)  # after `serve`: --no-run-timers-at-start ...
    process: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)
    _log: IO[bytes] | None = None

    def __post_init__(self) -> None:
        self.log_path = self.data_dir / f"devhost-{self.port}.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DevhostProcess:
        self._log = self.log_path.open("ab")
        command = [
            sys.executable,
            "-m",
            "devhost",
            *self.args,
            "serve",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            *self.serve_args,
        ]
        self.process = subprocess.Popen(command, cwd=REPO, env=self.env, stdout=self._log, stderr=subprocess.STDOUT)
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"devhost exited with {self.process.returncode}:\n{self.output()[-3000:]}")
            try:
                url = f"{self.base_url}/runtime/webhooks/durabletask/instances"
                if requests.get(url, headers=self.webhook_headers(), timeout=2).status_code == 200:
                    return
            except (requests.ConnectionError, FileNotFoundError):  # the key file is written just before listening
                pass
            time.sleep(0.1)
        raise AssertionError(f"devhost not ready after {timeout} s:\n{self.output()[-3000:]}")

    def webhook_headers(self) -> dict[str, str]:
        """The Durable webhooks' system key: the one set in the env, else the one devhost keeps in its data dir."""
        key = self.env.get(KEY_SETTING) or (self.data_dir / KEY_FILE).read_text().strip()
        return {"x-functions-key": key}

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def status(self, instance_id: str) -> tuple[int, dict[str, Any] | None]:
        response = requests.get(
            f"{self.base_url}/runtime/webhooks/durabletask/instances/{instance_id}",
            headers=self.webhook_headers(),
            timeout=10,
        )
        return response.status_code, (response.json() if response.content else None)

    def wait_for(
        self, instance_id: str, timeout: float, statuses: tuple[str, ...] = ("Completed", "Failed", "Terminated")
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"devhost exited with {self.process.returncode}:\n{self.output()[-3000:]}")
            try:
                _, body = self.status(instance_id)
            except requests.ConnectionError:
                body = None
            if body and body["runtimeStatus"] in statuses:
                return body
            time.sleep(0.2)
        raise AssertionError(f"{instance_id} not finished after {timeout} s:\n{self.output()[-3000:]}")

    def kill(self) -> None:
        """kill -9: no shutdown code runs."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._close_log()

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM and wait: the clean shutdown path."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._close_log()
        return self.process.returncode

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


def devhost_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    env.update({"DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1", **extra})
    return env


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


@dataclass
class DevhostServer:
    base_url: str
    reader_key: str
    operator_key: str
    data_dir: Path


@pytest.fixture(scope="session")
def devhost_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevhostServer]:
    """The REAL function_app.py on devhost with the embedded stores and the sample Gold DB, materialized."""
    data_dir = tmp_path_factory.mktemp("devhost-e2e")
    keys = new_api_keys()
    process = DevhostProcess(data_dir, free_port(), [], devhost_env(data_dir, API_KEYS=keys.env_value))
    try:
        process.start()
        result = process.wait_for("materialize-incremental", MATERIALIZED_TIMEOUT)
        assert result["runtimeStatus"] == "Completed", result
        yield DevhostServer(process.base_url, keys.reader, keys.operator, data_dir)
    finally:
        if process.process is not None:
            process.stop()

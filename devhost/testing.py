"""Start, watch and stop a devhost subprocess: the one helper of the tests (DevhostProcess) and the benchmark
(DevHost: sampled peak RSS, guaranteed cleanup); also the free_port and API keys both use.

Not used by the app: it lives in devhost/ so that bench/ and tests/ share it without importing each other."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import psutil
import requests

from devhost.host import free_port  # the one free_port of the repo (tests import it from here too)
from devhost.webhook_guard import KEY_FILE, KEY_SETTING

REPO_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
READY_TIMEOUT = 300.0  # the sample Gold DB is built before devhost listens
# Settings that would switch the app away from the embedded stores, or leak the caller's keys.
_SCRUBBED = ("API_KEYS", "COSMOS_ENDPOINT", "COSMOS_KEY", "BLOB_CONNECTION_STRING", "BLOB_ACCOUNT_URL",
             "GOLD_ODBC_CONNECTION_STRING", "GOLD_SQL_SERVER", "GOLD_SQLITE_PATH", "DEVHOST_APP",
             "APPLICATIONINSIGHTS_CONNECTION_STRING", "PUBLIC_BASE_URL")  # fmt: skip


@dataclass(frozen=True)
class ApiKeys:
    reader: str
    operator: str

    @property
    def env_value(self) -> str:
        """The API_KEYS setting: `role:sha256hex` pairs, so devhost never sees the keys themselves."""
        return ",".join(
            f"{role}:{hashlib.sha256(key.encode()).hexdigest()}"
            for role, key in (("reader", self.reader), ("operator", self.operator))
        )


# The timer's schedule in a benchmark's devhost: it still runs once at start (the first materialization), then
# only on 1 January. A benchmark starts its other runs itself; the default 15-minute run landed in whichever cell
# was running at :00, :15, :30 or :45 (its workers' CPU in the latencies, their memory in the RSS after reads).
QUIET_SCHEDULE = "0 0 0 1 1 *"


def new_api_keys() -> ApiKeys:
    """A fresh reader and operator key: the one API-keys helper of the benchmark and the tests."""
    return ApiKeys(reader=secrets.token_urlsafe(24), operator=secrets.token_urlsafe(24))


def tree_rss(proc: psutil.Process) -> int:
    """RSS in bytes of a process and all its descendants (devhost may run workers as children)."""
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


class RssSampler:
    """Samples the tree RSS of a process every `interval` seconds in a daemon thread; keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self._proc = psutil.Process(pid)
        self._interval = interval
        self._stop = threading.Event()
        self.peak_bytes = 0
        self.samples = 0
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak_bytes = max(self.peak_bytes, tree_rss(self._proc))
                self.samples += 1
            except psutil.Error:
                return
            self._stop.wait(self._interval)

    def reset(self) -> None:
        self.peak_bytes = 0

    def start(self) -> RssSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    @property
    def peak_mib(self) -> float:
        return round(self.peak_bytes / 2**20, 1)


def devhost_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """This environment without the settings that would leave the embedded stores or leak keys, plus DATA_DIR."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    env.update({"DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1", **extra})
    return env


@dataclass
class DevhostProcess:
    """One `python -m devhost serve` subprocess (the one process helper of the tests and the benchmark).

    Its output goes to a log file under DATA_DIR; its own session, so its worker children stop with it.
    """

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
        return f"http://{HOST}:{self.port}"

    def launch(self) -> DevhostProcess:
        """Start the process without waiting for it."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
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
        self.process = subprocess.Popen(  # noqa: S603 - this interpreter running devhost, arguments ours
            command, cwd=REPO_ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        return self

    def start(self) -> DevhostProcess:
        """Start and wait until the Durable HTTP API answers."""
        self.launch()
        self.wait_ready()
        return self

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"devhost exited with {self.process.returncode}:\n{self.output()[-3000:]}")

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                url = f"{self.base_url}/runtime/webhooks/durabletask/instances"
                if requests.get(url, headers=self.webhook_headers(), timeout=2).status_code == 200:
                    return
            except (requests.ConnectionError, FileNotFoundError):  # the key file is written just before listening
                pass
            time.sleep(0.1)
        raise AssertionError(f"devhost not ready after {timeout} s:\n{self.output()[-3000:]}")

    def wait_healthy(self, timeout: float = READY_TIMEOUT) -> None:
        """Until GET /v1/health answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.base_url}/v1/health", timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"devhost not healthy after {timeout:.0f} s; see {self.log_path}")

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
            self.check_alive()
            try:
                _, body = self.status(instance_id)
            except requests.ConnectionError:
                body = None
            if body and body["runtimeStatus"] in statuses:
                return body
            time.sleep(0.2)
        raise AssertionError(f"{instance_id} not finished after {timeout} s:\n{self.output()[-3000:]}")

    def kill(self) -> None:
        """kill -9 of devhost and its children: no shutdown code runs."""
        if self.process is not None and self.process.poll() is None:
            children = _children(self.process.pid)
            self.process.kill()
            self.process.wait(10)
            _kill_all(children)
        self._close_log()

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM and wait: the clean shutdown path (then kill -9 of what is left)."""
        assert self.process is not None
        if self.process.poll() is None:
            children = _children(self.process.pid)
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
            _kill_all(children)
        self._close_log()
        return self.process.returncode

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


def _children(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _kill_all(processes: list[psutil.Process]) -> None:
    for proc in processes:
        with contextlib.suppress(psutil.Error):
            proc.kill()


class DevHost:
    """A DevhostProcess for the benchmark: its own DATA_DIR and keys, no rate limit, sampled peak RSS, and a
    context manager that always stops it."""

    def __init__(self, data_dir: Path, keys: ApiKeys, *, extra_env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.keys = keys
        port = free_port()
        env = {
            **os.environ,
            "DATA_DIR": str(data_dir),
            "HOST": HOST,
            "API_KEYS": keys.env_value,
            "RATE_LIMIT_REQUESTS": "0",  # the load generator is one credential: measure the app, not the limit
            "PUBLIC_BASE_URL": f"http://{HOST}:{port}",
            "PYTHONDONTWRITEBYTECODE": "1",
            "MATERIALIZE_SCHEDULE": QUIET_SCHEDULE,
            **(extra_env or {}),
        }
        self.process = DevhostProcess(data_dir, port, [], env)
        self.port = port
        self.base_url = self.process.base_url
        self.log_path = self.process.log_path
        self.rss: RssSampler | None = None
        self.started_at = 0.0

    def start(self) -> DevHost:
        self.started_at = time.perf_counter()
        popen = self.process.launch().process
        assert popen is not None
        self.rss = RssSampler(popen.pid).start()
        return self

    def wait_ready(self, timeout: float = 120.0) -> float:
        """Seconds from start until /v1/health answers 200."""
        try:
            self.process.wait_healthy(timeout)
        except AssertionError as exc:  # exited
            raise RuntimeError(f"{exc}; see {self.log_path}") from exc
        return time.perf_counter() - self.started_at

    def check_alive(self) -> None:
        try:
            self.process.check_alive()
        except AssertionError as exc:
            raise RuntimeError(f"{exc}; see {self.log_path}") from exc

    def rss_now_mib(self, *, tree: bool = True) -> float | None:
        """RSS now, in MiB: of devhost and its children (activity worker processes), or of devhost alone."""
        popen = self.process.process
        if popen is None:
            return None
        try:
            proc = psutil.Process(popen.pid)
            return round((tree_rss(proc) if tree else proc.memory_info().rss) / 2**20, 1)
        except psutil.Error:
            return None

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.process.output().splitlines()[-lines:])

    def stop(self) -> None:
        if self.rss is not None:
            self.rss.stop()
        if self.process.process is not None:
            self.process.stop(timeout=10)

    def __enter__(self) -> DevHost:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

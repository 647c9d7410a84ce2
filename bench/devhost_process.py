"""Start, watch and stop a devhost subprocess: readiness, sampled peak RSS, guaranteed cleanup."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import psutil
import requests

from devhost.host import free_port  # the one free_port of the repo (tests import it from here too)

REPO_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


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


class DevHost:
    """`python -m devhost serve` on 127.0.0.1 with its own DATA_DIR and keys; a context manager that always kills it."""

    def __init__(self, data_dir: Path, keys: ApiKeys, *, extra_env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.keys = keys
        self.port = free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        self.log_path = data_dir / "devhost.log"
        self._extra_env = extra_env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.rss: RssSampler | None = None
        self.started_at = 0.0

    def start(self) -> DevHost:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "DATA_DIR": str(self.data_dir),
            "PORT": str(self.port),
            "HOST": HOST,
            "API_KEYS": self.keys.env_value,
            "RATE_LIMIT_REQUESTS": "0",  # the load generator is one credential: measure the app, not the limit
            "PUBLIC_BASE_URL": self.base_url,
            "PYTHONDONTWRITEBYTECODE": "1",
            **self._extra_env,
        }
        log = self.log_path.open("ab")
        self.started_at = time.perf_counter()
        # A session of its own, so the whole process group can be killed at the end.
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "devhost", "serve"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.rss = RssSampler(self.proc.pid).start()
        return self

    def wait_ready(self, timeout: float = 120.0) -> float:
        """Seconds from start until /v1/health answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.base_url}/v1/health", timeout=2).status_code == 200:
                    return time.perf_counter() - self.started_at
            time.sleep(0.1)
        raise TimeoutError(f"devhost not ready after {timeout:.0f} s; see {self.log_path}")

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"devhost exited with {self.proc.returncode}; see {self.log_path}:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.rss is not None:
            self.rss.stop()
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        try:
            children = psutil.Process(proc.pid).children(recursive=True)
        except psutil.Error:
            children = []
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        for child in children:
            with contextlib.suppress(psutil.Error):
                child.kill()

    def __enter__(self) -> DevHost:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

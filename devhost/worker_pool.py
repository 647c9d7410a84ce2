"""The host's side of its language worker processes: start them, hand each activity to the least busy one.

As the Functions host with FUNCTIONS_WORKER_PROCESS_COUNT > 1: every process imports the app itself, so a
fan-out of CPU-bound activities uses every core instead of sharing one GIL. A worker that dies fails the
invocations it was running (the orchestration's retry policy decides); a new one starts when activities need it.
At shutdown, invocations still running when the grace ends are cancelled, not failed: their work rows stay
and run again at the next start (at-least-once, as in Azure). As the host, the pool keeps its workers for its
whole life, at the host's CPU priority.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import struct
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from devhost.functions import app_setting
from devhost.worker import encode_frame

log = logging.getLogger("devhost.workers")
_HEADER = struct.Struct(">I")
PROCESS_COUNT_SETTING = "FUNCTIONS_WORKER_PROCESS_COUNT"
THREAD_COUNT_SETTING = "PYTHON_THREADPOOL_THREAD_COUNT"
AZURE_DEFAULT_PROCESS_COUNT = 1  # the Functions host's default: one language worker process
MAX_PROCESS_COUNT = 10  # the host's ceiling for the setting


class ActivityError(Exception):
    """An activity raised in its worker process: its exception's type name, message and traceback text."""

    def __init__(self, type_name: str, message: str, details: str) -> None:
        super().__init__(message)
        self.type_name, self.message, self.details = type_name, message, details


class WorkerExited(Exception):
    """The worker process running the invocation ended (crash, kill, failed import of the app)."""


def worker_process_count(env: Mapping[str, str] | None = None, default: Any = None) -> int:
    """FUNCTIONS_WORKER_PROCESS_COUNT (environment, then the app's hook default), 1..10; else Azure's 1."""
    value = app_setting(PROCESS_COUNT_SETTING, env, default)
    try:
        count = int(value) if value not in (None, "") else AZURE_DEFAULT_PROCESS_COUNT
    except ValueError:
        log.warning("%s=%r is not an integer: %s worker process", PROCESS_COUNT_SETTING, value, 1)
        count = AZURE_DEFAULT_PROCESS_COUNT
    return max(1, min(MAX_PROCESS_COUNT, count))


def worker_thread_count(env: Mapping[str, str] | None = None, default: Any = None) -> int | None:
    """PYTHON_THREADPOOL_THREAD_COUNT; None (Python's default pool size, as the worker on 3.9+) when unset."""
    value = app_setting(THREAD_COUNT_SETTING, env, default)
    if value in (None, ""):
        return None
    try:
        return max(1, int(value))
    except ValueError:
        log.warning("%s=%r is not an integer: Python's default pool size", THREAD_COUNT_SETTING, value)
        return None


@dataclass(eq=False)
class _Worker:
    process: asyncio.subprocess.Process
    pending: dict[int, asyncio.Future[str | None]] = field(default_factory=dict)
    reader: asyncio.Task[None] | None = None
    init_error: str | None = None

    @property
    def alive(self) -> bool:
        return self.process.returncode is None and self.init_error is None


class WorkerPool:
    """`processes` worker processes of `app_spec` with `threads` invocation threads each (None: Python's
    default pool size, as the worker's PYTHON_THREADPOOL_THREAD_COUNT); at most `max_in_flight` invocations
    at a time over all of them (the Durable extension's maxConcurrentActivityFunctions)."""

    def __init__(
        self,
        app_spec: str,
        processes: int,
        threads: int | None,
        *,
        max_in_flight: int,
    ) -> None:
        self.app_spec = app_spec
        self.processes = processes
        self.threads = threads
        self._workers: list[_Worker] = []
        self._spawning = asyncio.Lock()  # a burst of calls starts at most the missing processes, not one each
        self._slots = asyncio.Semaphore(max_in_flight)
        self._ids = itertools.count(1)
        self._closing = False
        self.started = 0  # processes started over the pool's life (replacements included)

    async def start(self) -> None:
        """Start every worker process now, as the host does at start (the app's import is not on a call's path)."""
        await self._fill()

    async def _fill(self) -> None:
        async with self._spawning:
            self._workers = [w for w in self._workers if w.alive]
            while len(self._workers) < self.processes:
                self._workers.append(await self._spawn())

    async def _spawn(self) -> _Worker:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "devhost.worker",
            "--app",
            self.app_spec,
            *(["--threads", str(self.threads)] if self.threads else []),
            "--parent-pid",
            str(os.getpid()),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=dict(os.environ),  # the settings the app's hooks put there before the app was imported
        )
        self.started += 1
        worker = _Worker(process)
        worker.reader = asyncio.create_task(self._read(worker))
        log.info("worker process %s started (%s threads)", process.pid, self.threads)
        return worker

    async def _read(self, worker: _Worker) -> None:
        stream = worker.process.stdout
        assert stream is not None
        try:
            while True:
                header = await stream.readexactly(_HEADER.size)
                message = _decode(await stream.readexactly(_HEADER.unpack(header)[0]))
                if "init_error" in message:
                    worker.init_error = str(message["init_error"])
                    log.error("worker process %s could not load the app:\n%s", worker.process.pid, worker.init_error)
                    break
                future = worker.pending.pop(int(message.get("id", 0)), None)
                if future is None or future.done():
                    continue
                if "error" in message:
                    err = message["error"]
                    future.set_exception(ActivityError(err["type"], err["message"], err["details"]))
                else:
                    future.set_result(message.get("output"))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            await self._ended(worker)

    async def _ended(self, worker: _Worker) -> None:
        with contextlib.suppress(ProcessLookupError):
            if worker.process.returncode is None and worker.init_error is not None:
                worker.process.kill()
        code = await worker.process.wait()
        reason = worker.init_error or f"the worker process {worker.process.pid} exited with code {code}"
        for future in worker.pending.values():
            if future.done():
                continue
            if self._closing:
                future.cancel()  # shutdown: the work row stays and runs at the next start
            else:
                future.set_exception(WorkerExited(reason))
        worker.pending.clear()
        if worker in self._workers:
            self._workers.remove(worker)
            if not self._closing:
                log.warning("%s; a new worker process takes its place", reason)

    async def run(self, name: str, input_json: str | None, client_binding: str | None = None) -> str | None:
        """Run the activity `name` in a worker process; its JSON output text. Raises ActivityError."""
        async with self._slots:
            if self._closing:
                raise asyncio.CancelledError()
            worker = await self._least_busy()
            call_id = next(self._ids)
            future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
            worker.pending[call_id] = future
            stdin = worker.process.stdin
            assert stdin is not None
            try:
                frame = {"id": call_id, "name": name, "input": input_json, "client": client_binding}
                stdin.write(encode_frame(frame))
                await stdin.drain()
            except (ConnectionError, RuntimeError) as exc:
                worker.pending.pop(call_id, None)
                raise WorkerExited(f"the worker process {worker.process.pid} is gone: {exc}") from exc
            return await future

    async def _least_busy(self) -> _Worker:
        """The alive worker with the fewest invocations; a new one when every worker is busy and there are
        fewer than `processes` (in place of one that died)."""
        worker = self._pick()
        if worker is None or (worker.pending and self._alive() < self.processes):
            async with self._spawning:  # the callers that waited here see the worker it started busy
                worker = self._pick()
                if worker is None or (worker.pending and self._alive() < self.processes):
                    self._workers = [w for w in self._workers if w.alive]
                    worker = await self._spawn()
                    self._workers.append(worker)
        return worker

    def _pick(self) -> _Worker | None:
        return min((w for w in self._workers if w.alive), key=lambda w: len(w.pending), default=None)

    def _alive(self) -> int:
        return sum(1 for w in self._workers if w.alive)

    async def stop(self, grace_seconds: float) -> None:
        """No new invocations; running ones get `grace_seconds`, then their processes are killed."""
        self._closing = True
        workers = list(self._workers)
        for worker in workers:  # end of input: the worker finishes what it runs, then exits
            if worker.process.stdin is not None and not worker.process.stdin.is_closing():
                worker.process.stdin.close()
        readers = [w.reader for w in workers if w.reader is not None]
        if readers:
            _, late = await asyncio.wait(readers, timeout=grace_seconds)
            for worker in workers:
                if worker.reader in late:
                    with contextlib.suppress(ProcessLookupError):
                        worker.process.kill()
            if late:
                await asyncio.wait(late, timeout=5)


def _decode(body: bytes) -> dict[str, Any]:
    import json

    message: dict[str, Any] = json.loads(body)
    return message

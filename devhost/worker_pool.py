"""The host's side of its language worker processes: start them, hand each activity to the least busy one.

As the Functions host with FUNCTIONS_WORKER_PROCESS_COUNT > 1: every process imports the app itself, so a
fan-out of CPU-bound activities uses every core instead of sharing one GIL. A worker that dies fails the
invocations it was running (the orchestration's retry policy decides); a new one starts when activities need it.
At shutdown, invocations still running when the grace ends are cancelled, not failed: their work rows stay
and run again at the next start (at-least-once, as in Azure).
After DEVHOST_WORKER_IDLE_SECONDS without any invocation the workers are sent end of input (they exit as at
shutdown, having nothing to finish) and new ones start as activities need them: a worker that has run the
materialization holds its data libraries and their arenas (~150-250 MiB) for nothing between runs.
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
# devhost's own choice, not an Azure setting: the activity workers run at a lower CPU priority than the HTTP
# process, so on a few cores a backfill's materialization yields to interactive reads (Azure keeps them apart
# by scaling out instead). 0 runs them at the host's priority.
NICE_SETTING = "DEVHOST_WORKER_NICE"
DEFAULT_NICE = 10
# devhost's own choice too: the Functions host keeps its language workers as long as the instance lives, but on
# one machine the memory of idle workers is the user's. Restarting costs ~1-2 s of one core (the app's import,
# then the data libraries at the first activity) once per burst of activities, far less than a fan-out's work;
# a retry delay (5 s) or a gap between waves is well under the default. 0 keeps them for the pool's life.
IDLE_SETTING = "DEVHOST_WORKER_IDLE_SECONDS"
DEFAULT_IDLE_SECONDS = 60.0


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


def worker_nice(env: Mapping[str, str] | None = None) -> int:
    """DEVHOST_WORKER_NICE: how much lower the worker processes' CPU priority is (0..19; unset: 10)."""
    value = (os.environ if env is None else env).get(NICE_SETTING)
    if value in (None, ""):
        return DEFAULT_NICE
    try:
        return max(0, min(19, int(value)))
    except ValueError:
        log.warning("%s=%r is not an integer: nice %s", NICE_SETTING, value, DEFAULT_NICE)
        return DEFAULT_NICE


def worker_idle_seconds(env: Mapping[str, str] | None = None) -> float:
    """DEVHOST_WORKER_IDLE_SECONDS: how long the worker processes may stay without an invocation before they
    are stopped (unset: 60; 0 or less: never)."""
    value = (os.environ if env is None else env).get(IDLE_SETTING)
    if value in (None, ""):
        return DEFAULT_IDLE_SECONDS
    try:
        return max(0.0, float(value))
    except ValueError:
        log.warning("%s=%r is not a number: %s s", IDLE_SETTING, value, DEFAULT_IDLE_SECONDS)
        return DEFAULT_IDLE_SECONDS


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
    at a time over all of them (the Durable extension's maxConcurrentActivityFunctions), each process `nice`
    steps below the host's CPU priority (None: DEVHOST_WORKER_NICE), all of them stopped after `idle_seconds`
    without an invocation (None: DEVHOST_WORKER_IDLE_SECONDS; 0: never)."""

    def __init__(
        self,
        app_spec: str,
        processes: int,
        threads: int | None,
        *,
        max_in_flight: int,
        nice: int | None = None,
        idle_seconds: float | None = None,
    ) -> None:
        self.app_spec = app_spec
        self.processes = processes
        self.threads = threads
        self.nice = worker_nice() if nice is None else nice
        self.idle_seconds = worker_idle_seconds() if idle_seconds is None else idle_seconds
        self._workers: list[_Worker] = []
        self._retiring: set[_Worker] = set()  # sent end of input while idle, not yet exited
        self._spawning = asyncio.Lock()  # a burst of calls after idle starts at most `processes`, not one each
        self._slots = asyncio.Semaphore(max_in_flight)
        self._ids = itertools.count(1)
        self._closing = False
        self._calls = 0  # run() calls in progress, queued for a slot included: the pool is idle at 0 only
        self._idle_timer: asyncio.TimerHandle | None = None
        self.started = 0  # processes started over the pool's life (replacements included)
        self.retired = 0  # processes stopped for being idle

    async def start(self) -> None:
        """Start every worker process now, as the host does at start (the app's import is not on a call's path)."""
        await self._fill()
        if self._calls == 0:
            self._arm_idle_timer()

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
            *(["--nice", str(self.nice)] if self.nice else []),
            "--parent-pid",
            str(os.getpid()),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=dict(os.environ),  # the settings the app's hooks put there before the app was imported
        )
        self.started += 1
        worker = _Worker(process)
        worker.reader = asyncio.create_task(self._read(worker))
        log.info("worker process %s started (%s threads, nice +%s)", process.pid, self.threads, self.nice)
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
        self._retiring.discard(worker)
        if worker in self._workers:
            self._workers.remove(worker)
            if not self._closing:
                log.warning("%s; a new worker process takes its place", reason)

    async def run(self, name: str, input_json: str | None, client_binding: str | None = None) -> str | None:
        """Run the activity `name` in a worker process; its JSON output text. Raises ActivityError."""
        self._calls += 1  # before any await: from here the idle timer cannot stop a worker this call may get
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        try:
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
        finally:
            self._calls -= 1
            if self._calls == 0:
                self._arm_idle_timer()

    async def _least_busy(self) -> _Worker:
        """The alive worker with the fewest invocations; a new one when every worker is busy and there are
        fewer than `processes` (after idle, or in place of one that died): a lone activity after idle, as the
        timer's incremental run, starts one process, a fan-out starts them all."""
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

    def _arm_idle_timer(self) -> None:
        if self.idle_seconds > 0 and not self._closing and self._idle_timer is None:
            self._idle_timer = asyncio.get_running_loop().call_later(self.idle_seconds, self._retire_idle)

    def _retire_idle(self) -> None:
        """The idle timer: no call in progress since it was armed (a call cancels it), so no worker has an
        invocation of ours to run; end of input makes each exit as at shutdown. The next call starts new ones."""
        self._idle_timer = None
        if self._calls or self._closing or not self._workers:
            return
        workers, self._workers = self._workers, []
        for worker in workers:
            self._retiring.add(worker)
            if worker.process.stdin is not None and not worker.process.stdin.is_closing():
                worker.process.stdin.close()
        self.retired += len(workers)
        log.info("%s worker process(es) stopped after %s s without an activity", len(workers), self.idle_seconds)

    async def stop(self, grace_seconds: float) -> None:
        """No new invocations; running ones get `grace_seconds`, then their processes are killed."""
        self._closing = True
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        workers = [*self._workers, *self._retiring]
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

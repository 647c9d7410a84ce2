"""The scheduler loop: episodes through the replay decider, activities on threads or in worker processes,
due timers fired.

Every decision is committed (history + pending work rows, one transaction) before anything is
dispatched, so a killed host resumes from the database; activities may then run twice (at-least-once).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import sqlite3
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from devhost import history as h
from devhost import transitions
from devhost.clock import Clock
from devhost.functions import FunctionIndex
from devhost.instance import TERMINAL, Instance, WorkRow
from devhost.invoke import run_activity
from devhost.replay_decider import decide
from devhost.store import Store
from devhost.worker_pool import ActivityError, WorkerPool

log = logging.getLogger("devhost.engine")

# The history store failing (locked past its busy timeout, disk full or failing): the scheduler backs off and
# retries rather than failing the orchestration it was working on.
STORE_FAULTS: tuple[type[Exception], ...] = (sqlite3.OperationalError, OSError)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class SchedulerStatus:
    """What the scheduler loop is doing, for /_devhost/scheduler: a loop that fails must not look healthy."""

    state: str = "idle"  # idle (not started) | running | backing-off | stopped | crashed
    consecutive_failures: int = 0
    last_error: str | None = None
    last_error_at: str | None = None
    next_attempt_at: str | None = None
    last_ok_at: str | None = None

    @property
    def healthy(self) -> bool:
        return self.state in ("idle", "running")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"healthy": self.healthy}


class Scheduler:
    def __init__(
        self,
        index: FunctionIndex,
        store: Store,
        clock: Clock,
        *,
        activity_workers: int = 4,
        on_progress: Callable[[Instance], None] | None = None,
        worker_pool: WorkerPool | None = None,
        backoff_initial_seconds: float = 1.0,
        backoff_max_seconds: float = 60.0,
    ) -> None:
        self.index = index
        self.store = store
        self.clock = clock
        self.on_progress = on_progress
        # Activities run in the worker processes when there are some (the app imported by its spec), else
        # on threads of this process (an app object handed over in-process, as the unit tests do).
        self._pool = worker_pool
        self._activities = ThreadPoolExecutor(activity_workers, thread_name_prefix="devhost-activity")
        self._orchestrators = ThreadPoolExecutor(1, thread_name_prefix="devhost-orchestrator")
        self._running: dict[int, asyncio.Future[Any]] = {}
        self._wake = asyncio.Event()
        self._stopping = False
        self._loop_task: asyncio.Task[None] | None = None
        self.skip_needless_replays = True
        self.stats = {"episodes": 0, "replays_skipped": 0, "replay_seconds": 0.0, "activities": 0}
        self.status = SchedulerStatus()
        self.backoff_initial_seconds = backoff_initial_seconds
        self.backoff_max_seconds = backoff_max_seconds
        # The durableClient binding JSON handed to activities with a client input (set by the host once it
        # knows its URL and system key).
        self.client_binding: str | None = None

    def wake(self) -> None:
        """New work was written to the store: look at it now."""
        self._wake.set()

    # ---- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Run in the background (server mode); persisted work resumes here."""
        self.status.state = "running"
        self._loop_task = asyncio.create_task(self._run(stop_when_idle=False))
        self._loop_task.add_done_callback(self._loop_ended)

    def _loop_ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            self.status.state = "stopped"
            return
        exc = task.exception()
        self.status.state = "crashed"
        self.status.last_error, self.status.last_error_at = f"{type(exc).__name__}: {exc}", _now_iso()
        log.error("the durable scheduler stopped", exc_info=exc)

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Stop scheduling; give in-flight activities a moment, abandon the rest (they resume next start)."""
        self._stopping = True
        self._wake.set()
        if self._loop_task is not None:
            await self._loop_task
        # Queued activities are dropped (their rows stay and run at the next start); started ones get a grace.
        self._activities.shutdown(wait=False, cancel_futures=True)
        if self._pool is not None:
            await self._pool.stop(grace_seconds)
        await asyncio.sleep(0)  # let the cancellations reach the asyncio futures
        in_flight = [f for f in self._running.values() if not f.done()]
        if in_flight:
            await asyncio.wait(in_flight, timeout=grace_seconds)
        self._orchestrators.shutdown(wait=False, cancel_futures=True)

    async def run_until_idle(self) -> None:
        """Drive everything (jumping a simulated clock over timers) until no work is left."""
        await self._run(stop_when_idle=True)

    async def _run(self, *, stop_when_idle: bool) -> None:
        if self._pool is not None:
            await self._pool.start()
        while not self._stopping:
            self._wake.clear()
            try:
                if await self.step():
                    self._step_ok()
                    continue
                next_due = self.store.next_timer_due()
            except Exception as exc:
                if stop_when_idle:  # a caller driving the run to its end gets the error
                    raise
                # Server mode: the host keeps serving, so the loop must not die with it unseen; back off, retry.
                await self._back_off(exc)
                continue
            self._step_ok()
            if not self._running and next_due is not None and self.clock.simulated:
                self.clock.advance_to(datetime.fromtimestamp(next_due, UTC))
                continue
            if stop_when_idle and not self._running and next_due is None:
                return
            timeout = None if next_due is None else max(0.0, next_due - self.clock.now().timestamp())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=timeout if not self.clock.simulated else None)

    def _step_ok(self) -> None:
        if self.status.consecutive_failures:
            log.warning("the durable scheduler recovered after %d failed attempts", self.status.consecutive_failures)
        self.status.state = "running"
        self.status.consecutive_failures = 0
        self.status.next_attempt_at = None
        self.status.last_ok_at = _now_iso()

    async def _back_off(self, exc: Exception) -> None:
        """Wait 1, 2, 4... s (capped) before the next pass, whatever wakes arrive meanwhile; a stop ends it."""
        status = self.status
        status.consecutive_failures += 1
        delay = min(self.backoff_max_seconds, self.backoff_initial_seconds * 2 ** (status.consecutive_failures - 1))
        status.state = "backing-off"
        status.last_error, status.last_error_at = f"{type(exc).__name__}: {exc}", _now_iso()
        status.next_attempt_at = datetime.fromtimestamp(time.time() + delay, UTC).isoformat(timespec="seconds")
        log.error(
            "the durable scheduler failed (%d in a row); next attempt in %.1f s",
            status.consecutive_failures,
            delay,
            exc_info=exc,
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + delay
        while not self._stopping and (left := deadline - loop.time()) > 0:
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=left)

    async def step(self) -> bool:
        """One pass: every inbox becomes an episode, new activity rows run, due timers fire. True if any."""
        progressed = False
        for instance_id in self.store.instances_with_inbox():
            try:
                await self._episode(instance_id)
            except STORE_FAULTS:  # the store, not the orchestration, failed: retried after a back-off
                raise
            except Exception:  # a devhost bug must not stop every other orchestration
                log.exception("episode of %s failed; the instance is marked Failed", instance_id)
                self._fail_instance(instance_id, "devhost internal error while running an episode; see its log")
            progressed = True
        for row in self.store.work("activity"):
            if row.id not in self._running:
                self._dispatch_activity(row)
        now = self.clock.now()
        for row in self.store.due_timers(now.timestamp()):
            with self.store.transaction() as conn:
                if self.store.delete_work(conn, [row.id]):
                    ev = h.timer_fired(now, row.payload["timer_id"], row.payload["fire_at"])
                    self.store.add_work(conn, row.instance_id, row.execution_id, "inbox", ev)
            progressed = True
        return progressed

    # ---- activities --------------------------------------------------------------------------
    def _dispatch_activity(self, row: WorkRow) -> None:
        info = self.index.activity(row.payload["name"])
        loop = asyncio.get_running_loop()
        if info is None:  # checked at scheduling time; kept for rows persisted by another app version
            future: asyncio.Future[Any] = loop.create_future()
            future.set_exception(LookupError(f"The function '{row.payload['name']}' doesn't exist"))
        elif self._pool is not None:
            call = self._pool.run(row.payload["name"], row.payload["input"], self.client_binding)
            future = asyncio.ensure_future(call)
        else:
            run = functools.partial(run_activity, info, row.payload["input"], self.client_binding, loop)
            future = loop.run_in_executor(self._activities, run)
        self._running[row.id] = future
        future.add_done_callback(lambda f: self._activity_done(row, f))

    def _activity_done(self, row: WorkRow, future: asyncio.Future[Any]) -> None:
        self._running.pop(row.id, None)
        self.stats["activities"] += 1
        if self._stopping and future.cancelled():
            return
        now, task_id, name = self.clock.now(), row.payload["task_id"], row.payload["name"]
        exc = future.exception() if not future.cancelled() else asyncio.CancelledError()
        if exc is None:
            ev = h.task_completed(now, task_id, future.result())
        elif isinstance(exc, ActivityError):  # raised in a worker process: its own type name and traceback
            reason = f"Activity function '{name}' failed: {exc.type_name}: {exc.message}"
            ev = h.task_failed(now, task_id, reason, exc.details)
        else:
            details = "".join(traceback.format_exception(exc)).strip()
            ev = h.task_failed(now, task_id, f"Activity function '{name}' failed: {type(exc).__name__}: {exc}", details)
        try:
            with self.store.transaction() as conn:
                # Deleted rows belong to a terminated or restarted execution: drop their result.
                if self.store.delete_work(conn, [row.id]):
                    self.store.add_work(conn, row.instance_id, row.execution_id, "inbox", ev)
        except Exception:  # the store is closed or failing: the row stays and the activity runs again
            log.log(logging.DEBUG if self._stopping else logging.WARNING, "activity result not stored", exc_info=True)
        self._wake.set()

    # ---- episodes ----------------------------------------------------------------------------
    async def _episode(self, instance_id: str) -> None:
        inst = self.store.get(instance_id)
        rows = self.store.work("inbox", instance_id)
        events = [r.payload for r in rows if inst is not None and r.execution_id == inst.execution_id]
        if inst is None or inst.status in TERMINAL or not events:
            with self.store.transaction() as conn:
                self.store.delete_work(conn, [r.id for r in rows])
            return
        version, now = inst.version, self.clock.now()
        past = [h.played(e) for e in inst.history]
        full = [*past, h.event(h.ORCHESTRATOR_STARTED, now), *events]
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        replay = functools.partial(decide, inst, full, self.index, skip_needless_replays=self.skip_needless_replays)
        outcome = await loop.run_in_executor(self._orchestrators, replay)
        self.stats["episodes"] += 1
        self.stats["replays_skipped"] += 0 if outcome.replayed else 1
        self.stats["replay_seconds"] += time.perf_counter() - started
        if self.store.version(instance_id) != version:
            return  # terminated or restarted meanwhile: the inbox rows are handled on the next step
        previous_status = inst.custom_status
        with self.store.transaction() as conn:
            self.store.delete_work(conn, [r.id for r in rows])
            transitions.apply_outcome(self.store, conn, self.index, self.clock, inst, full, outcome, now)
        if self.on_progress and inst.custom_status is not None and inst.custom_status != previous_status:
            self.on_progress(inst)

    def _fail_instance(self, instance_id: str, message: str) -> None:
        inst, now = self.store.get(instance_id), self.clock.now()
        with self.store.transaction() as conn:
            self.store.delete_instance_work(conn, instance_id, ("inbox",))
            if inst is not None and inst.status not in TERMINAL:
                transitions.finish(self.store, conn, inst, "Failed", json.dumps(message), now)
                self.store.put(conn, inst)
